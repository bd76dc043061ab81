//go:build !purego

package kernels

import (
	"github.com/petl-go/petl/kernels/internal/asm"
)

// The generated amd64 transcendental kernels (internal/gen/act/amd64). AVX-512
// variants are registered unconditionally; dispatch only selects them on a
// CPU that has AVX-512 (see cpuHas).
func init() {
	expOp.set(AVX2, asm.ExpAVX2)
	expOp.set(AVX512, asm.ExpAVX512)
	tanhOp.set(AVX2, asm.TanhAVX2)
	tanhOp.set(AVX512, asm.TanhAVX512)
}
