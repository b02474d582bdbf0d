module gossipglomers/tests/broadcastonce

go 1.21
