module gossipglomers/examples/broadcast

go 1.21
