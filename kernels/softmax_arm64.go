//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The generated NEON softmax kernels (internal/gen/rowmathneon).
func init() {
	softmaxOp.set(NEON, softmaxNEON)
	softmaxBackwardOp.set(NEON, asm.SoftmaxRowsBackwardNEON)
}

// softmaxNEON is SoftmaxRows for NEON (the caller has checked the lengths).
func softmaxNEON(y, x []float32, rows, cols int, scale float32, mask []float32) {
	if mask == nil {
		asm.SoftmaxRowsNEON(y, x, rows, cols, scale)
	} else {
		asm.SoftmaxRowsMaskNEON(y, x, mask, rows, cols, scale)
	}
}
