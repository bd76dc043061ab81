//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

func init() {
	packRowsOp.set(AVX2, packRowsAVX2)
	// The AVX-512 blocked SGEMM packs with the AVX2 routines (a table
	// entry left empty would mean the Go loops, not the AVX2 code).
	packRowsOp.set(AVX512, packRowsAVX2)
}

// packRowsAVX2 is packRowsGeneric with the 8- and 6-row blocks transposed
// by asm.PackRows8AVX2 and asm.PackRows6AVX2, eight columns at a time.
func packRowsAVX2(d []float32, stride int, a []float32, off, ld, rows, kc int) {
	if kc <= 0 || ld < 0 || stride < rows {
		packRowsGeneric(d, stride, a, off, ld, rows, kc)
		return
	}
	packRowsBy(packRows8AVX2, packRows6AVX2, d, stride, a, off, ld, rows, kc)
}

// packRows8AVX2 is packRows8 by asm.PackRows8AVX2, bounds checked first.
func packRows8AVX2(d []float32, stride int, a []float32, off, ld, kc int) {
	packRowsCheck(d, stride, a, off, ld, 8, kc)
	asm.PackRows8AVX2(&d[0], stride, &a[off], ld, kc)
}

// packRows6AVX2 is packRows6 by asm.PackRows6AVX2, bounds checked first.
func packRows6AVX2(d []float32, stride int, a []float32, off, ld, kc int) {
	packRowsCheck(d, stride, a, off, ld, 6, kc)
	asm.PackRows6AVX2(&d[0], stride, &a[off], ld, kc)
}

// packRowsCheck panics, as the Go loops would, unless a holds rows rows of
// kc floats ld apart from a[off] and d holds kc columns of rows floats
// stride apart (kc > 0, ld >= 0, stride >= rows > 0): the assembly reads and
// writes between those bounds only.
func packRowsCheck(d []float32, stride int, a []float32, off, ld, rows, kc int) {
	_ = a[off]
	_ = a[off+(rows-1)*ld+kc-1]
	_ = d[(kc-1)*stride+rows-1]
}
