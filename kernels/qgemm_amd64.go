//go:build !purego

package kernels

import (
	"github.com/petl-go/petl/kernels/internal/asm"
	"golang.org/x/sys/cpu"
)

// The integer tiles of Qgemm on amd64 (internal/gen/qgemm/amd64): AVX2
// (VPMADDUBSW, VPMADDWD, VPADDD on ymm, 4 rows), and for AVX-512 either
// VPDPBUSD where the CPU has AVX512VNNI or the AVX2 sequence on zmm
// (AVX-512BW, which the AVX512 variant requires), 12 rows.
var (
	qgemmAVX2       = qVariant{tile: asm.QgemmTileAVX2, mr: asm.QgemmTileAVX2MR}
	qgemmAVX512BW   = qVariant{tile: asm.QgemmTileAVX512BW, mr: asm.QgemmTileAVX512BWMR}
	qgemmAVX512VNNI = qVariant{tile: asm.QgemmTileAVX512VNNI, mr: asm.QgemmTileAVX512VNNIMR}
)

func init() {
	qgemmOp.set(AVX2, qgemmAVX2)
	if cpu.X86.HasAVX512VNNI {
		qgemmOp.set(AVX512, qgemmAVX512VNNI)
	} else {
		qgemmOp.set(AVX512, qgemmAVX512BW)
	}
}
