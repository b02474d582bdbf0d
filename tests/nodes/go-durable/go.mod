module gossipglomers/tests/durable

go 1.21
