module github.com/petl-go/petl

go 1.26.0

require (
	github.com/mmcloughlin/avo v0.6.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)
