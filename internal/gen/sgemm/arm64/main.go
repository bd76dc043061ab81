// Command arm64 (internal/gen/sgemm/arm64) generates the arm64 NEON SGEMM micro-kernel in asm/ with
// the emitter of internal/gen/neon: an 8x12 tile of C in 24 q registers,
// updated with FMLA by element.
//
// Usage (see the go:generate line below; `make generate` runs it):
//
//	go run . -out ../../../../kernels/internal/asm/sgemm_arm64.s -stubs ../../../../kernels/internal/asm/sgemm_arm64.go
package main

//go:generate go run . -out ../../../../kernels/internal/asm/sgemm_arm64.s -stubs ../../../../kernels/internal/asm/sgemm_arm64.go

import (
	"fmt"

	"github.com/petl-go/petl/internal/gen/contract"
	"github.com/petl-go/petl/internal/gen/neon"
)

const generator = "internal/gen/sgemm/arm64"

// signature is the kernel's Go signature, from which its argument frame is
// laid out.
const signature = "(k int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)"

const (
	name   = "SgemmKernelNEON"
	mr     = 8      // rows of the C tile: two q registers of A per p
	nv     = 3      // q registers per row of the C tile
	nr     = 4 * nv // columns of the C tile
	unroll = 2      // k iterations per trip of the main loop
)

// Registers. acc(i, v) holds columns 4v..4v+3 of row i: V8..V31.
const (
	va0, va1     neon.V = 0, 1 // a[p*mr : p*mr+8]
	vb           neon.V = 2    // V2, V3, V4: b[p*nr : p*nr+12]
	valpha, vbet neon.V = 5, 6 // alpha and beta in lane 0
	accBase      neon.V = 8
)

func acc(i, v int) neon.V { return accBase + neon.V(i*nv+v) }

func main() {
	neon.Command(generator, "!purego", func(b *neon.Builder, s *neon.Stubs) {
		kernel(b)
		stubs(s)
	})
}

// kernel emits the micro-kernel; its definition is in stubFile.
func kernel(b *neon.Builder) {
	args := neon.ParseFrame(signature)
	b.Text(name, 0, args.Size)
	b.Comment("Arguments; ldc in bytes.")
	for i, arg := range []string{"k", "a", "b", "c", "ldc"} {
		args.Load(b, arg, fmt.Sprintf("R%d", i))
	}
	b.Op("LSL", "$2", "R4", "R4")
	args.Load(b, "pf", "R6")

	b.Comment("acc[i][v] holds s for row i, columns 4v..4v+3: all zero.")
	for i := 0; i < mr; i++ {
		b.Zero(neon.Vectors(nv), neon.Group(acc(i, 0)))
	}
	kLoop(b)
	scaleByAlpha(b, args)
	storeTile(b, args)
}

// f32 is the size in bytes of a float32.
const f32 = 4

// step emits one step of p: a[p*mr:][:mr] and b[p*nr:][:nr] loaded (a and
// b moved on), acc[i][v] += b[v] * a[i].
func step(b *neon.Builder) {
	b.Op("VLD1.P", fmt.Sprintf("%d(R1)", mr*f32), neon.List(va0, 2))
	b.Op("VLD1.P", fmt.Sprintf("%d(R2)", nr*f32), neon.List(vb, nv))
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			b.FMLAElem(acc(i, v), vb+neon.V(v), va0+neon.V(i/4), i%4)
		}
	}
}

// kLoop emits the loop over k (R0): trips of unroll steps of p with a
// prefetch of the next panel of B, then single steps, leaving for label
// scale.
func kLoop(b *neon.Builder) {
	b.Comment("for ; k >= %d; k -= %d: %d steps of p: load a[p*mr:][:8] and b[p*nr:][:12], a += mr, b += nr, acc[i][v] += b[v] * a[i]", unroll, unroll, unroll)
	b.Label("loop")
	b.Op("CMP", fmt.Sprintf("$%d", unroll), "R0")
	b.Op("BLT", "tail")
	for u := 0; u < unroll; u++ {
		step(b)
	}
	b.Comment("prefetch the line at pf (the next panel of B); pf += 64")
	b.Op("PRFM", "(R6)", "PLDL1KEEP")
	b.Op("ADD", "$64", "R6", "R6")
	b.Op("SUB", fmt.Sprintf("$%d", unroll), "R0", "R0")
	b.Op("B", "loop")

	b.Comment("for ; k > 0; k--: one step of p")
	b.Label("tail")
	b.Op("CBZ", "R0", "scale")
	step(b)
	b.Op("SUB", "$1", "R0", "R0")
	b.Op("B", "tail")
}

// scaleByAlpha emits, from label scale, acc *= alpha.
func scaleByAlpha(b *neon.Builder, args neon.Frame) {
	b.Comment("acc *= alpha")
	b.Label("scale")
	args.Load(b, "alpha", valpha.F())
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			b.FMULElem(acc(i, v), acc(i, v), valpha, 0)
		}
	}
}

// storeTile emits the stores of the tile to C at R3, rows ldc (R4) bytes
// apart: acc + beta*C, or acc alone from label store when beta is 0 (either
// sign), without reading C.
func storeTile(b *neon.Builder, args neon.Frame) {
	b.Comment("if beta == 0 (either sign), store without reading C")
	b.Op("MOVWU", args.Arg("beta"), "R5")
	b.Op("LSLW", "$1", "R5", "R5") // drop the sign bit
	b.Op("CBZW", "R5", "store")

	b.Comment("for i := range mr { c[i*ldc:][:nr] = acc[i] + beta*c[i*ldc:][:nr] }")
	args.Load(b, "beta", vbet.F())
	storeRows(b, true)

	b.Comment("for i := range mr { c[i*ldc:][:nr] = acc[i] }")
	b.Label("store")
	storeRows(b, false)
}

// storeRows emits the store of each row i of the tile, acc[i] (+ beta*C
// with beta, in V(vbet)), at R3, moving R3 on by ldc (R4) between rows;
// then RET.
func storeRows(b *neon.Builder, beta bool) {
	for i := 0; i < mr; i++ {
		if beta {
			b.Op("VLD1", "(R3)", neon.List(vb, nv))
			for v := 0; v < nv; v++ {
				b.FMLAElem(acc(i, v), vb+neon.V(v), vbet, 0)
			}
		}
		b.Op("VST1", neon.List(acc(i, 0), nv), "(R3)")
		if i < mr-1 {
			b.Op("ADD", "R4", "R3", "R3")
		}
	}
	b.Inst("RET") // Op would leave a space after a bare mnemonic
}

// stubs declares the kernel with its tile.
func stubs(s *neon.Stubs) {
	fmt.Fprintf(s, `
// Tile of %[1]s: rows (mr) and columns (nr) of C, and k steps per
// trip of its loop (a cache line of pf prefetched per trip).
const (
	%[1]sMR = %[2]d
	%[1]sNR = %[3]d
	%[1]sUnroll = %[4]d
)
`, name, mr, nr, unroll)
	s.Func(name, signature, contract.Kernel(name, "NEON", mr, nr))
}
