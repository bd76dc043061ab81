//go:build !purego

package kernels

import "github.com/petl-go/petl/kernels/internal/asm"

// Cache blocks for Zen 4 (32 KiB L1d, 1 MiB L2 per core, shared L3), found
// by measurement (see benchmarks/README.md):
//   - kc*nr floats of packed B (one sliver) stay in L1 while mr-row slivers
//     of A stream past them;
//   - mc*kc floats of packed A (one block) stay in L2;
//   - kc*nc floats of packed B (one block) stay in L3, shared by the threads.
var (
	sgemmBlockingAVX2 = sgemmBlocking{
		kernel: asm.SgemmKernelAVX2, direct: asm.SgemmKernelAVX2Direct, directMaxN: 512, unroll: asm.SgemmKernelAVX2Unroll,
		mr: asm.SgemmKernelAVX2MR, nr: asm.SgemmKernelAVX2NR,
		mc: 144, kc: 256, nc: 4096,
		parallelWork: 1 << 18, smallWork: 256,
		edge: []sgemmEdge{
			1: {asm.SgemmKernelAVX2Edge1, 4}, 2: {asm.SgemmKernelAVX2Edge2, 3}, 3: {asm.SgemmKernelAVX2Edge3, 2},
			4: {asm.SgemmKernelAVX2Edge4, 1}, 5: {asm.SgemmKernelAVX2Edge5, 1},
		},
	}
	// The AVX-512 tile is twice as wide: kc is smaller to keep a sliver of
	// B (kc*32 floats) in L1.
	sgemmBlockingAVX512 = sgemmBlocking{
		kernel: asm.SgemmKernelAVX512, direct: asm.SgemmKernelAVX512Direct, directMaxN: 512, unroll: asm.SgemmKernelAVX512Unroll,
		mr: asm.SgemmKernelAVX512MR, nr: asm.SgemmKernelAVX512NR,
		mc: 144, kc: 160, nc: 4096,
		parallelWork: 1 << 18, smallWork: 256,
	}
)

func init() {
	sgemmBlockingAVX2.register(AVX2)
	sgemmBlockingAVX512.register(AVX512)
}
