//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The generated amd64 softmax kernels (internal/gen/rowmath).
func init() {
	softmaxOp.set(AVX2, softmaxAVX2)
	softmaxOp.set(AVX512, softmaxAVX512)
	softmaxBackwardOp.set(AVX2, softmaxBackwardAVX2)
	softmaxBackwardOp.set(AVX512, softmaxBackwardAVX512)
}

// softmaxAVX2 is SoftmaxRows for AVX2 (the caller has checked the lengths).
func softmaxAVX2(y, x []float32, rows, cols int, scale float32, mask []float32) {
	if mask == nil {
		asm.SoftmaxRowsAVX2(y, x, rows, cols, scale)
	} else {
		asm.SoftmaxRowsMaskAVX2(y, x, mask, rows, cols, scale)
	}
}

// softmaxAVX512 is SoftmaxRows for AVX-512 (the caller has checked the lengths).
func softmaxAVX512(y, x []float32, rows, cols int, scale float32, mask []float32) {
	if mask == nil {
		asm.SoftmaxRowsAVX512(y, x, rows, cols, scale)
	} else {
		asm.SoftmaxRowsMaskAVX512(y, x, mask, rows, cols, scale)
	}
}

// softmaxBackwardAVX2 is SoftmaxRowsBackward for AVX2.
func softmaxBackwardAVX2(dx, y, dy []float32, rows, cols int, scale float32) {
	asm.SoftmaxRowsBackwardAVX2(dx, y, dy, rows, cols, scale)
}

// softmaxBackwardAVX512 is SoftmaxRowsBackward for AVX-512.
func softmaxBackwardAVX512(dx, y, dy []float32, rows, cols int, scale float32) {
	asm.SoftmaxRowsBackwardAVX512(dx, y, dy, rows, cols, scale)
}
