package kernels

import "fmt"

// need panics unless x has at least n elements; op and name say where.
func need(op, name string, x []float32, n int) {
	if len(x) < n {
		panic(fmt.Sprintf("kernels.%s: len(%s)=%d, want at least %d", op, name, len(x), n))
	}
}

// needOptional is need for an optional slice: x may be nil instead.
func needOptional(op, name string, x []float32, n int) {
	if x != nil {
		need(op, name, x, n)
	}
}

// needShape panics if rows or cols is negative.
func needShape(op string, rows, cols int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernels.%s: negative shape rows=%d cols=%d", op, rows, cols))
	}
}

// rowGrain is the number of rows of width cols worth handing to one goroutine:
// enough work (about 32K elements) to pay for the hand-off.
func rowGrain(cols int) int {
	return max(1, (1<<15)/max(1, cols))
}

// elemGrain is the number of elements worth handing to one goroutine in an
// element-wise kernel.
const elemGrain = 1 << 15
