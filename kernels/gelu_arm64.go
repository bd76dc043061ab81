//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The generated NEON GELU kernels (internal/gen/rowmathneon).
func init() {
	geluOp.set(NEON, asm.GELUNEON)
	geluBackwardOp.set(NEON, asm.GELUBackwardNEON)
	addBiasGELUOp.set(NEON, addBiasGELUNEON)
}

// addBiasGELUNEON runs the one-row NEON kernel over every row.
func addBiasGELUNEON(y, pre, bias []float32, rows, cols int) {
	bias = bias[:cols]
	for r := 0; r < rows; r++ {
		asm.BiasGELUNEON(y[r*cols:(r+1)*cols], pre[r*cols:(r+1)*cols], bias)
	}
}
