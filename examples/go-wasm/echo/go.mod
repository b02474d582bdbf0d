module gossipglomers/examples/echo

go 1.21
