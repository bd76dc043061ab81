//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// Cache blocks for the NEON micro-kernel (8x12): kc*12 floats of packed B
// stay in a 32-64 KiB L1, mc*kc floats of packed A in L2. Not tuned on
// hardware (none was available); the sizes follow the AVX2 ones.
var sgemmBlockingNEON = sgemmBlocking{
	kernel: asm.SgemmKernelNEON, unroll: asm.SgemmKernelNEONUnroll,
	mr: asm.SgemmKernelNEONMR, nr: asm.SgemmKernelNEONNR,
	mc: 128, kc: 256, nc: 4092,
	parallelWork: 1 << 18, smallWork: 256,
}

func init() { sgemmBlockingNEON.register(NEON) }
