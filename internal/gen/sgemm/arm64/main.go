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
	const f32 = 4
	args := neon.ParseFrame(signature)
	b.Text(name, 0, args.Size)
	b.Comment("Arguments; ldc in bytes.")
	for i, arg := range []string{"k", "a", "b", "c", "ldc"} {
		args.Load(b, arg, fmt.Sprintf("R%d", i))
	}
	b.Inst("LSL $2, R4, R4")
	args.Load(b, "pf", "R6")

	b.Comment("acc[i][v] holds s for row i, columns 4v..4v+3: all zero.")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			r := acc(i, v)
			b.Inst("VEOR %s, %s, %s", r.B16(), r.B16(), r.B16())
		}
	}

	step := func() {
		b.Inst("VLD1.P %d(R1), %s", mr*f32, neon.List(va0, 2))
		b.Inst("VLD1.P %d(R2), %s", nr*f32, neon.List(vb, nv))
		for i := 0; i < mr; i++ {
			for v := 0; v < nv; v++ {
				b.FMLAElem(acc(i, v), vb+neon.V(v), va0+neon.V(i/4), i%4)
			}
		}
	}

	b.Comment("for ; k >= %d; k -= %d: %d steps of p: load a[p*mr:][:8] and b[p*nr:][:12], a += mr, b += nr, acc[i][v] += b[v] * a[i]", unroll, unroll, unroll)
	b.Label("loop")
	b.Inst("CMP $%d, R0", unroll)
	b.Inst("BLT tail")
	for u := 0; u < unroll; u++ {
		step()
	}
	b.Comment("prefetch the line at pf (the next panel of B); pf += 64")
	b.Inst("PRFM (R6), PLDL1KEEP")
	b.Inst("ADD $64, R6, R6")
	b.Inst("SUB $%d, R0, R0", unroll)
	b.Inst("B loop")

	b.Comment("for ; k > 0; k--: one step of p")
	b.Label("tail")
	b.Inst("CBZ R0, scale")
	step()
	b.Inst("SUB $1, R0, R0")
	b.Inst("B tail")

	b.Comment("acc *= alpha")
	b.Label("scale")
	args.Load(b, "alpha", valpha.F())
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			b.FMULElem(acc(i, v), acc(i, v), valpha, 0)
		}
	}

	b.Comment("if beta == 0 (either sign), store without reading C")
	b.Inst("MOVWU %s, R5", args.Arg("beta"))
	b.Inst("LSLW $1, R5, R5") // drop the sign bit
	b.Inst("CBZW R5, store")

	b.Comment("for i := range mr { c[i*ldc:][:nr] = acc[i] + beta*c[i*ldc:][:nr] }")
	args.Load(b, "beta", vbet.F())
	for i := 0; i < mr; i++ {
		b.Inst("VLD1 (R3), %s", neon.List(vb, nv))
		for v := 0; v < nv; v++ {
			b.FMLAElem(acc(i, v), vb+neon.V(v), vbet, 0)
		}
		b.Inst("VST1 %s, (R3)", neon.List(acc(i, 0), nv))
		if i < mr-1 {
			b.Inst("ADD R4, R3, R3")
		}
	}
	b.Inst("RET")

	b.Comment("for i := range mr { c[i*ldc:][:nr] = acc[i] }")
	b.Label("store")
	for i := 0; i < mr; i++ {
		b.Inst("VST1 %s, (R3)", neon.List(acc(i, 0), nv))
		if i < mr-1 {
			b.Inst("ADD R4, R3, R3")
		}
	}
	b.Inst("RET")
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
