//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The generated NEON transcendental kernels (internal/gen/act/arm64).
func init() {
	expOp.set(NEON, asm.ExpNEON)
	tanhOp.set(NEON, asm.TanhNEON)
}
