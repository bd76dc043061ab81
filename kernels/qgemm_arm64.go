//go:build !purego

package kernels

import (
	"github.com/petl-go/petl/kernels/internal/asm"
	"golang.org/x/sys/cpu"
)

// The integer tiles of Qgemm on arm64 (internal/gen/qgemm/arm64), both on
// activations stored signed (q-64): SDOT by element where the CPU has the
// dot-product extension (4 rows), SMULL and SADALP on any NEON (2 rows).
var (
	qgemmNEONDot = qVariant{tile: asm.QgemmTileNEONDot, mr: asm.QgemmTileNEONDotMR, signed: true}
	qgemmNEON    = qVariant{tile: asm.QgemmTileNEON, mr: asm.QgemmTileNEONMR, signed: true}
)

func init() {
	// HasASIMDDP is the dot-product extension (HWCAP_ASIMDDP), whatever
	// its comment in x/sys/cpu says.
	if cpu.ARM64.HasASIMDDP {
		qgemmOp.set(NEON, qgemmNEONDot)
	} else {
		qgemmOp.set(NEON, qgemmNEON)
	}
}
