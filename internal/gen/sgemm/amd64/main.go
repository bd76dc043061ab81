// Command amd64 (internal/gen/sgemm/amd64) generates the amd64 SGEMM micro-kernels in asm/ with avo:
// one generator, parameterised by vector width and tile shape, emits both the
// AVX2+FMA kernel (6x16, ymm) and the AVX-512 kernel (12x32, zmm), so the
// logic of the AVX-512 kernel is the logic that the AVX2 tests exercise.
// It also emits the AVX2 routines that pack a transposed operand for them
// (8 and 6 rows at a time, pack.go).
//
// Usage (see the go:generate line below; `make generate` runs it):
//
//	go run . -out ../../../../kernels/internal/asm/sgemm_amd64.s -stubs ../../../../kernels/internal/asm/sgemm_amd64.go
package main

//go:generate go run . -out ../../../../kernels/internal/asm/sgemm_amd64.s -stubs ../../../../kernels/internal/asm/sgemm_amd64.go

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/command"
	"github.com/petl-go/petl/internal/gen/contract"
)

// generator is how generated files name their source.
const generator = "internal/gen/sgemm/amd64"

// kernel describes one micro-kernel: C tile of mr rows by nv vectors of
// width floats, k loop unrolled unroll times.
type kernel struct {
	name   string // Go name of the function in package asm
	isa    string // for comments
	mr     int    // rows of the C tile
	nv     int    // vectors per row of the C tile
	width  int    // float32 lanes per vector
	unroll int    // k iterations per trip of the main loop
	vec    func(*build.Context) reg.VecVirtual
}

func (k kernel) nr() int { return k.nv * k.width }

var kernels = []kernel{
	{name: "SgemmKernelAVX2", isa: "AVX2 and FMA", mr: 6, nv: 2, width: 8, unroll: 8,
		vec: func(c *build.Context) reg.VecVirtual { return c.YMM() }},
	{name: "SgemmKernelAVX512", isa: "AVX-512F and AVX-512DQ", mr: 12, nv: 2, width: 16, unroll: 4,
		vec: func(c *build.Context) reg.VecVirtual { return c.ZMM() }},
}

func main() {
	avx.CommandStubs(generator, "!purego", emit, stubFile)
}

// emit emits every kernel, then the packing and edge routines.
func emit(ctx *build.Context) {
	for _, k := range kernels {
		k.generate(ctx, false)
		k.generate(ctx, true)
	}
	for _, p := range packs {
		p.generate(ctx)
	}
	for _, e := range edges {
		e.generate(ctx)
	}
}

// signature is every kernel's Go signature; directSignature that of the
// kernels that read A in place, rows lda apart.
const (
	signature       = "func(k int, a, b, c *float32, ldc int, alpha, beta float32, pf *float32)"
	directSignature = "func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, pf *float32)"
)

// directName is the Go name of the kernel that reads A in place.
func (k kernel) directName() string { return k.name + "Direct" }

// doc is the kernel's definition, as a Go loop, for the stub's doc comment.
func (k kernel) doc() []string { return contract.Kernel(k.name, k.isa, k.mr, k.nr()) }

// directDoc is the same for the kernel that reads A in place.
func (k kernel) directDoc() []string {
	return contract.KernelDirect(k.directName(), k.name, k.isa, k.mr, k.nr())
}

// stubFile returns the Go declarations of the kernels with their tiles, for
// package pkg.
func stubFile(generator, pkg string) ([]byte, error) {
	s := command.NewStubs(generator, "!purego", pkg)
	for _, k := range kernels {
		fmt.Fprintf(s, "\n// Tile of %s: rows (mr) and columns (nr) of C, and k steps per\n// trip of its loop (a cache line of pf prefetched per trip).\nconst (\n", k.name)
		fmt.Fprintf(s, "\t%sMR = %d\n\t%sNR = %d\n\t%sUnroll = %d\n)\n", k.name, k.mr, k.name, k.nr(), k.name, k.unroll)
		decl(s, k.doc(), k.name, signature)
		decl(s, k.directDoc(), k.directName(), directSignature)
	}
	for _, p := range packs {
		p.stub(s)
	}
	for _, e := range edges {
		e.stub(s)
	}
	return s.Source()
}

// decl declares the assembly function name with signature sig
// ("func(...)") and doc comment doc, noescape.
func decl(s *command.Stubs, doc []string, name, sig string) {
	s.Func(name, sig[len("func"):], doc)
}

// generate emits the kernel's TEXT block: with direct, the variant that
// reads row i of A in place at a + i*lda (lda a parameter) instead of from a
// packed panel. Both sum the same products in the same order, so they give
// bitwise the same tile.
func (k kernel) generate(c *build.Context, direct bool) {
	name, sig := k.name, signature
	if direct {
		name, sig = k.directName(), directSignature
	}
	textBlock(c, name, sig)
	nr := k.nr()

	c.Comment("Arguments; ldc in bytes.")
	kk, pa, pb, pc, ldc := arg(c, "k"), arg(c, "a"), arg(c, "b"), arg(c, "c"), arg(c, "ldc")
	c.SHLQ(operand.Imm(2), ldc)
	pf := arg(c, "pf")
	aAt, aStep := k.packedA(c, pa)
	if direct {
		aAt, aStep = k.directA(c, pa)
	}
	k.prefetchC(c, pc, ldc)

	c.Commentf("acc[i][v] holds s for row i, columns v*%d..v*%d+%d: all zero.", k.width, k.width, k.width-1)
	acc := make([][]reg.VecVirtual, k.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, k.nv)
		for v := range acc[i] {
			acc[i][v] = k.zeroVec(c)
		}
	}
	bv, av := k.vecs(c, k.nv), k.vec(c)

	// step emits one iteration of p at offset u iterations from pa, pb.
	step := func(u int) {
		if direct {
			c.Commentf("p+%d: b[v] = b[(p+%d)*nr + v*%d:][:%d]; for i: acc[i][v] += a[i*lda+p+%d] * b[v]", u, u, k.width, k.width, u)
		} else {
			c.Commentf("p+%d: b[v] = b[(p+%d)*nr + v*%d:][:%d]; for i: acc[i][v] += a[(p+%d)*mr+i] * b[v]", u, u, k.width, k.width, u)
		}
		for v := range bv {
			c.VMOVUPS(operand.Mem{Base: pb, Disp: (u*nr + v*k.width) * f32}, bv[v])
		}
		for i := 0; i < k.mr; i++ {
			c.VBROADCASTSS(aAt(u, i), av)
			for v := range bv {
				c.VFMADD231PS(bv[v], av, acc[i][v])
			}
		}
	}
	kLoop{
		c: c, name: name, k: kk, unroll: k.unroll,
		loopNote: fmt.Sprintf("for ; k >= %d; k -= %d: %d steps of p, then a and b on by %d steps", k.unroll, k.unroll, k.unroll, k.unroll),
		tailNote: "for ; k > 0; k--: one step of p, then a and b on by one step",
		trip: func(u int) {
			step(u)
			if u == 0 {
				c.Comment("prefetch the line at pf (the next panel of B); pf += 64")
				c.PREFETCHT0(operand.Mem{Base: pf})
				c.ADDQ(operand.Imm(64), pf)
			}
		},
		last: func() { step(0) },
		advance: func(n int) {
			aStep(n)
			c.ADDQ(operand.U32(n*nr*f32), pb)
		},
	}.emit()

	rows := make([][]accCol, k.mr)
	for i := range acc {
		for v := range acc[i] {
			rows[i] = append(rows[i], accCol{acc[i][v], v * k.width * f32})
		}
	}
	// The B registers are free now: reuse them for alpha and beta.
	epilogue(c, name, rows, pc, ldc, bv[0], bv[1%k.nv])
}

// f32 is the size in bytes of a float32.
const f32 = 4

// textBlock starts the function name with Go signature sig, NOSPLIT.
func textBlock(c *build.Context, name, sig string) {
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr(sig)
}

// arg loads the argument name into a new general-purpose register.
func arg(c *build.Context, name string) reg.GPVirtual {
	r := c.GP64()
	c.Load(c.Param(name), r)
	return r
}

// zeroVec returns a new vector register set to zero.
func (k kernel) zeroVec(c *build.Context) reg.VecVirtual {
	r := k.vec(c)
	c.VXORPS(r, r, r)
	return r
}

// vecs returns n new vector registers.
func (k kernel) vecs(c *build.Context, n int) []reg.VecVirtual {
	rs := make([]reg.VecVirtual, n)
	for v := range rs {
		rs[v] = k.vec(c)
	}
	return rs
}

// packedA returns the address of A's element for row i, step p+u of a
// packed panel at pa (at), and the emitter of the move of pa on by n steps
// of p (step).
func (k kernel) packedA(c *build.Context, pa reg.Register) (at func(u, i int) operand.Mem, step func(n int)) {
	at = func(u, i int) operand.Mem { return operand.Mem{Base: pa, Disp: (u*k.mr + i) * f32} }
	step = func(n int) { c.ADDQ(operand.U32(n*k.mr*f32), pa) }
	return at, step
}

// directA is packedA for A read in place, rows lda (a parameter) apart.
// Rows come in groups of three from a base pointer each: base, base + lda,
// base + 2*lda (lda in bytes as the index register, scale 1 or 2), so any
// mr needs mr/3 bases and one index.
func (k kernel) directA(c *build.Context, pa reg.Register) (at func(u, i int) operand.Mem, step func(n int)) {
	c.Commentf("Row i of A at base[i/3] + (i%%3)*lda; lda in bytes, base[g] = a + 3*g*lda.")
	lda := arg(c, "lda")
	c.SHLQ(operand.Imm(2), lda)
	rows := avx.NewRows(c, pa, lda, k.mr)
	at = func(u, i int) operand.Mem { return rows.At(i, u*f32) }
	step = func(n int) { rows.Advance(c, n*f32) }
	return at, step
}

// prefetchC prefetches the kernel's tile of C, rows ldc bytes apart from pc.
func (k kernel) prefetchC(c *build.Context, pc, ldc reg.Register) {
	nr := k.nr()
	c.Commentf("Prefetch the %dx%d tile of C: for i := range mr { prefetch(c[i*ldc : i*ldc+nr]) }", k.mr, nr)
	row := c.GP64()
	c.MOVQ(pc, row)
	for i := 0; i < k.mr; i++ {
		c.PREFETCHT0(operand.Mem{Base: row})
		c.PREFETCHT0(operand.Mem{Base: row, Disp: nr*f32 - 1})
		if i < k.mr-1 {
			c.ADDQ(ldc, row)
		}
	}
}

// kLoop is the loop over k of a kernel: trips of unroll steps of p from
// label name_loop while k >= unroll, then single steps from name_tail,
// leaving for name_scale when k is 0.
type kLoop struct {
	c                  *build.Context
	name               string
	k                  reg.Register // the steps left
	unroll             int
	loopNote, tailNote string      // comments before the two loops, if any
	trip               func(u int) // step u of a trip
	last               func()      // a single step
	advance            func(n int) // moves the pointers on by n steps
}

func (l kLoop) emit() {
	c := l.c
	if l.loopNote != "" {
		c.Comment(l.loopNote)
	}
	c.Label(l.name + "_loop")
	c.CMPQ(l.k, operand.Imm(uint64(l.unroll)))
	c.JL(operand.LabelRef(l.name + "_tail"))
	for u := 0; u < l.unroll; u++ {
		l.trip(u)
	}
	l.advance(l.unroll)
	c.SUBQ(operand.Imm(uint64(l.unroll)), l.k)
	c.JMP(operand.LabelRef(l.name + "_loop"))

	if l.tailNote != "" {
		c.Comment(l.tailNote)
	}
	c.Label(l.name + "_tail")
	c.TESTQ(l.k, l.k)
	c.JZ(operand.LabelRef(l.name + "_scale"))
	l.last()
	l.advance(1)
	c.DECQ(l.k)
	c.JMP(operand.LabelRef(l.name + "_tail"))
}

// accCol is an accumulator of a tile and the byte offset of its columns in
// its row of C.
type accCol struct {
	r    reg.VecVirtual
	disp int
}

// epilogue emits the end of a kernel from label name_scale on: every
// accumulator times alpha, then row i of rows stored at pc + i*ldc as
// acc + beta*C, or as acc without reading C when beta is 0 (either sign).
// va and vb are free vector registers.
func epilogue(c *build.Context, name string, rows [][]accCol, pc, ldc reg.Register, va, vb reg.VecVirtual) {
	c.Comment("acc *= alpha")
	c.Label(name + "_scale")
	alpha, beta := avx.Addr(c.Param("alpha")), avx.Addr(c.Param("beta"))
	c.VBROADCASTSS(alpha, va)
	for _, row := range rows {
		for _, a := range row {
			c.VMULPS(va, a.r, a.r)
		}
	}

	c.Comment("if beta == 0 (either sign), store without reading C")
	bits := c.GP32()
	c.MOVL(beta, bits)
	c.SHLL(operand.Imm(1), bits) // drop the sign bit
	c.JZ(operand.LabelRef(name + "_store"))

	c.Comment("for i := range rows { c[i*ldc:] = acc[i] + beta*c[i*ldc:] }")
	c.VBROADCASTSS(beta, vb)
	for i, row := range rows {
		for _, a := range row {
			m := operand.Mem{Base: pc, Disp: a.disp}
			c.VFMADD231PS(m, vb, a.r)
			c.VMOVUPS(a.r, m)
		}
		if i < len(rows)-1 {
			c.ADDQ(ldc, pc)
		}
	}
	c.VZEROUPPER()
	c.RET()

	c.Comment("for i := range rows { c[i*ldc:] = acc[i] }")
	c.Label(name + "_store")
	for i, row := range rows {
		for _, a := range row {
			c.VMOVUPS(a.r, operand.Mem{Base: pc, Disp: a.disp})
		}
		if i < len(rows)-1 {
			c.ADDQ(ldc, pc)
		}
	}
	c.VZEROUPPER()
	c.RET()
}
