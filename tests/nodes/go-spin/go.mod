module gossipglomers/tests/spin

go 1.21
