//go:build !purego

package kernels

import (
	"github.com/petl-go/petl/kernels/internal/asm"
)

// The generated amd64 transcendental kernels (internal/gen/rowmath). AVX-512
// variants are registered unconditionally; dispatch only selects them on a
// CPU that has AVX-512 (see cpuHas).
func init() {
	expOp.set(AVX2, asm.ExpAVX2)
	expOp.set(AVX512, asm.ExpAVX512)
	tanhOp.set(AVX2, asm.TanhAVX2)
	tanhOp.set(AVX512, asm.TanhAVX512)
	erfOp.set(AVX2, asm.ErfAVX2)
	erfOp.set(AVX512, asm.ErfAVX512)
}
