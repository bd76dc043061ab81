//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The generated amd64 GELU kernels (internal/gen/rowmath).
func init() {
	geluOp.set(AVX2, asm.GELUAVX2)
	geluOp.set(AVX512, asm.GELUAVX512)
	geluBackwardOp.set(AVX2, asm.GELUBackwardAVX2)
	geluBackwardOp.set(AVX512, asm.GELUBackwardAVX512)
	addBiasGELUOp.set(AVX2, addBiasGELUAVX2)
	addBiasGELUOp.set(AVX512, addBiasGELUAVX512)
}

// addBiasGELUAVX2 runs the one-row AVX2 kernel over every row.
func addBiasGELUAVX2(y, pre, bias []float32, rows, cols int) {
	bias = bias[:cols]
	for r := 0; r < rows; r++ {
		asm.BiasGELUAVX2(y[r*cols:(r+1)*cols], pre[r*cols:(r+1)*cols], bias)
	}
}

// addBiasGELUAVX512 runs the one-row AVX-512 kernel over every row.
func addBiasGELUAVX512(y, pre, bias []float32, rows, cols int) {
	bias = bias[:cols]
	for r := 0; r < rows; r++ {
		asm.BiasGELUAVX512(y[r*cols:(r+1)*cols], pre[r*cols:(r+1)*cols], bias)
	}
}
