package main

import (
	"fmt"

	"github.com/petl-go/petl/internal/gen/neon"
)

// The row kernels' emitter: a neon.Builder with the block-width helpers
// below. The Go assembler has no vector floating-point arithmetic besides
// VFMLA/VFMLS, so FADD, FSUB, FMUL, FDIV, FMAX, FSQRT and the pairwise and
// across-lanes reductions on .4S are emitted by the neon encoders as WORD
// directives, each with the instruction in a comment.

// lanes is the number of float32 in a NEON vector.
const lanes = 4

// kind is the width one block of a loop works at: vecs vectors (4 or 1),
// or one float32 (scalar).
type kind struct {
	vecs   int
	scalar bool
}

var (
	vec4   = kind{vecs: 4}
	vec1   = kind{vecs: 1}
	scalar = kind{scalar: true}
)

// n is the number of floats one block handles.
func (k kind) n() int {
	if k.scalar {
		return 1
	}
	return k.vecs * lanes
}

// regs is the number of registers of a group at this kind.
func (k kind) regs() int {
	if k.scalar {
		return 1
	}
	return k.vecs
}

// r names a vector register operand: a group starting at V(n) (one register
// per vector of the block), or, with b set, one register broadcast to every
// lane and used by every vector of the block.
type r struct {
	n int
	b bool
}

// at is the register of vector i of the block.
func (x r) at(i int) neon.V {
	if x.b {
		return neon.V(x.n)
	}
	return neon.V(x.n + i)
}

// bc returns the broadcast register operand V(n).
func bc(n int) r { return r{n: n, b: true} }

// g returns the register group operand starting at V(n).
func g(n int) r { return r{n: n} }

// file is the assembly file being emitted: instructions with their operands
// aligned (neon.Builder.Op) and a blank line before every label.
type file struct {
	*neon.Builder
	stubs *neon.Stubs // the Go declarations
}

// vop emits d = n op m for a block: the vector instruction vec per vector,
// or the scalar instruction (Go operand order: m, n, d).
func (f *file) vop(k kind, vec func(b *neon.Builder, d, n, m neon.V), scalarOp string, d, n, m r) {
	if k.scalar {
		f.Op(scalarOp, m.at(0).F(), n.at(0).F(), d.at(0).F())
		return
	}
	for i := 0; i < k.vecs; i++ {
		vec(f.Builder, d.at(i), n.at(i), m.at(i))
	}
}

func (f *file) fadd(k kind, d, n, m r) { f.vop(k, (*neon.Builder).FADD, "FADDS", d, n, m) }
func (f *file) fsub(k kind, d, n, m r) { f.vop(k, (*neon.Builder).FSUB, "FSUBS", d, n, m) }
func (f *file) fmul(k kind, d, n, m r) { f.vop(k, (*neon.Builder).FMUL, "FMULS", d, n, m) }
func (f *file) fdiv(k kind, d, n, m r) { f.vop(k, (*neon.Builder).FDIV, "FDIVS", d, n, m) }
func (f *file) fmax(k kind, d, n, m r) { f.vop(k, (*neon.Builder).FMAX, "FMAXS", d, n, m) }

// fmla emits d += n*m (one rounding).
func (f *file) fmla(k kind, d, n, m r) {
	if k.scalar {
		f.Op("FMADDS", m.at(0).F(), d.at(0).F(), n.at(0).F(), d.at(0).F())
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.Op("VFMLA", m.at(i).S4(), n.at(i).S4(), d.at(i).S4())
	}
}

// fsqrt emits d = √n.
func (f *file) fsqrt(k kind, d, n r) {
	if k.scalar {
		f.Op("FSQRTS", n.at(0).F(), d.at(0).F())
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.FSQRT(d.at(i), n.at(i))
	}
}

// mov emits d = n.
func (f *file) mov(k kind, d, n r) {
	if k.scalar {
		f.Op("FMOVS", n.at(0).F(), d.at(0).F())
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.Op("VMOV", n.at(i).B16(), d.at(i).B16())
	}
}

// load emits a load of the block at p into group d, advancing p.
func (f *file) load(k kind, p string, d neon.V) {
	if k.scalar {
		f.Op("FMOVS.P", "4("+p+")", d.F())
		return
	}
	f.Op("VLD1.P", fmt.Sprintf("%d(%s)", 16*k.vecs, p), neon.List(d, k.vecs))
}

// store emits a store of group s to the block at p, advancing p.
func (f *file) store(k kind, s neon.V, p string) {
	if k.scalar {
		f.Op("FMOVS.P", s.F(), "4("+p+")")
		return
	}
	f.Op("VST1.P", neon.List(s, k.vecs), fmt.Sprintf("%d(%s)", 16*k.vecs, p))
}

// zero emits d = 0 for vector registers d..d+n-1.
func (f *file) zero(d neon.V, n int) {
	for r := d; r < d+neon.V(n); r++ {
		f.Op("VEOR", r.B16(), r.B16(), r.B16())
	}
}

// dup emits V(d) = F(s) in every lane.
func (f *file) dup(d, s neon.V) { f.Op("VDUP", s.S(0), d.S4()) }

// bcast emits V(d) = the float32 at mem in every lane.
func (f *file) bcast(d neon.V, mem string) {
	f.Op("FMOVS", mem, d.F())
	f.dup(d, d)
}

// constant emits V(d) = the float32 with the given bits in every lane,
// using tmp.
func (f *file) constant(d neon.V, bits uint32, tmp string) {
	f.Op("MOVW", fmt.Sprintf("$0x%08x", bits), tmp)
	f.Op("FMOVS", tmp, d.F())
	f.dup(d, d)
}

// foldAdd emits V(a) = (V(a)+V(a+1)) + (V(a+2)+V(a+3)) and then the sum of
// its four lanes into F(a): (l0+l1) + (l2+l3).
func (f *file) foldAdd(a neon.V) {
	f.FADD(a, a, a+1)
	f.FADD(a+2, a+2, a+3)
	f.FADD(a, a, a+2)
	f.FADDP(a, a, a)
	f.FADDPScalar(a, a)
}

// loop is one pass over count floats in three stages (blocks of 4 vectors,
// single vectors, single floats). body emits one block of the given kind;
// afterVectors, if not nil, runs between the vector stages and the scalar
// tail. n is the counter register.
func (f *file) loop(name, n, count string, body func(k kind), afterVectors func()) {
	f.Op("MOVD", count, n)
	f.Loop(n, []neon.Stage{
		{Label: name + "_blocks", Step: vec4.n(), Body: func() { body(vec4) },
			Head: func() { f.Note("for ; n >= 16; n -= 16: 4 vectors at a time") }},
		{Label: name + "_vectors", Step: vec1.n(), Body: func() { body(vec1) },
			Head: func() { f.Note("for ; n >= 4; n -= 4: one vector at a time") }},
		{Label: name + "_tail", Body: afterVectors},
		{Label: name + "_scalars", Step: scalar.n(), Body: func() { body(scalar) },
			Head: func() { f.Note("for ; n > 0; n--: one float at a time") }},
	}, name+"_done")
}
