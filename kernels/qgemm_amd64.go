//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// The integer tiles of Qgemm on amd64 (internal/gen/qgemm/amd64): AVX2
// (VPMADDUBSW, VPMADDWD, VPADDD on ymm, 4 rows).
var qgemmAVX2 = qVariant{tile: asm.QgemmTileAVX2, mr: asm.QgemmTileAVX2MR}

func init() {
	qgemmOp.set(AVX2, qgemmAVX2)
}
