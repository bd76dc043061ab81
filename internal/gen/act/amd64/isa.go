package main

import (
	"fmt"
	"math"

	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/contract"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa describes one amd64 vector instruction set. Every kernel body is
// written once against this type; only the handful of operations whose
// encoding differs between AVX2 (VEX, vector masks) and AVX-512 (EVEX, opmask
// registers) switch on zmm.
type isa struct {
	name  string // suffix of the generated function names
	lanes int    // float32 lanes per vector
	zmm   bool   // AVX-512: 512-bit registers and opmask conditions
	// contract is how the kernels' contracts describe the instruction set.
	contract contract.ISA
}

var (
	avx2   = &isa{name: "AVX2", lanes: 8, contract: contract.AVX2}
	avx512 = &isa{name: "AVX512", lanes: 16, zmm: true, contract: contract.AVX512}
)

// bytes is the size of one vector.
func (s *isa) bytes() int { return 4 * s.lanes }

// vec allocates a vector register.
func (s *isa) vec() reg.VecVirtual {
	if s.zmm {
		return ctx.ZMM()
	}
	return ctx.YMM()
}

// ctx is the build context every kernel is emitted into (avx.Command's).
var ctx *build.Context

// function starts the kernel of contract op for s, with op's signature and
// doc comment.
func function(s *isa, op contract.Op) { avx.Function(ctx, op, s.contract) }

// cond is the result of a lane-wise comparison: a vector of all-ones/zero
// lanes for AVX2, an opmask register for AVX-512.
type cond = operand.Op

// ---- constants ---------------------------------------------------------

// constPool lays out the read-only constants of the generated file: each one
// replicated over 64 bytes, so that AVX2 and AVX-512 code can both use it as
// a full-width memory operand.
type constPool struct {
	names []string
	bits  []uint32
	index map[string]int
}

var pool = &constPool{index: map[string]int{}}

const poolName = "rowmathconst"

func (p *constPool) add(name string, bits uint32) operand.Mem {
	i, ok := p.index[name]
	if !ok {
		i = len(p.names)
		p.index[name] = i
		p.names = append(p.names, name)
		p.bits = append(p.bits, bits)
	} else if p.bits[i] != bits {
		panic(fmt.Sprintf("constant %s redefined", name))
	}
	return operand.Mem{Symbol: operand.NewStaticSymbol(poolName), Base: reg.StaticBase, Disp: 64 * i}
}

// f32 returns the constant v as a memory operand of full vector width.
func f32(name string, v float32) operand.Mem { return pool.add(name, math.Float32bits(v)) }

// u32 returns the integer constant v as a memory operand of full vector width.
func u32(name string, v uint32) operand.Mem { return pool.add(name, v) }

// iota32 returns the lane indices 0, 1, ..., 15 (for tail masks).
func iota32() operand.Mem {
	m := pool.add("iota", 0)
	return m
}

// emit writes the pool. The iota constant is special: lane i holds i.
func (p *constPool) emit() {
	if len(p.names) == 0 {
		return
	}
	ctx.StaticGlobal(poolName)
	ctx.DataAttributes(attr.RODATA | attr.NOPTR)
	for i, name := range p.names {
		for l := 0; l < 16; l++ {
			b := p.bits[i]
			if name == "iota" {
				b = uint32(l)
			}
			ctx.AddDatum(64*i+4*l, operand.U32(b))
		}
	}
}

// ---- unrolled vector values ----------------------------------------------

// V is one value computed for each of the unrolled copies of a loop body:
// V[i] is the register holding copy i. Emitting each operation for all copies
// before the next interleaves the copies' dependency chains.
type V []reg.VecVirtual

// src is an operand usable as the second source of an instruction: a V or a
// constant in memory.
type src interface{ op(i int) operand.Op }

func (v V) op(i int) operand.Op { return v[i] }

type mem struct{ m operand.Mem }

func (c mem) op(int) operand.Op { return c.m }

// C wraps a constant for use as a src.
func C(m operand.Mem) src { return mem{m} }

// E emits operations on n unrolled copies for one instruction set.
type E struct {
	s *isa
	n int
}

func (e *E) newV() V {
	v := make(V, e.n)
	for i := range v {
		v[i] = e.s.vec()
	}
	return v
}

// ld loads a constant into registers.
func (e *E) ld(m operand.Mem) V {
	r := e.newV()
	for i := range r {
		ctx.VMOVUPS(m, r[i])
	}
	return r
}

// zero returns a value set to zero.
func (e *E) zero() V {
	r := e.newV()
	for i := range r {
		ctx.VXORPS(r[i], r[i], r[i])
	}
	return r
}

// cp copies a value into fresh registers.
func (e *E) cp(a V) V {
	r := e.newV()
	for i := range r {
		ctx.VMOVAPS(a[i], r[i])
	}
	return r
}

// op3 emits r = a OP b for the VEX/EVEX three-operand form "OP b, a, r".
func (e *E) op3(f func(b, a, r operand.Op), a V, b src) V {
	r := e.newV()
	for i := range r {
		f(b.op(i), a[i], r[i])
	}
	return r
}

func (e *E) add(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VADDPS(x, y, z) }, a, b) }
func (e *E) sub(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VSUBPS(x, y, z) }, a, b) }
func (e *E) mul(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VMULPS(x, y, z) }, a, b) }
func (e *E) div(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VDIVPS(x, y, z) }, a, b) }
func (e *E) and(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VANDPS(x, y, z) }, a, b) }
func (e *E) or(a V, b src) V  { return e.op3(func(x, y, z operand.Op) { ctx.VORPS(x, y, z) }, a, b) }

// max returns max(a, b); when either is NaN the result is b (the x86 rule),
// so max(constant, x) propagates a NaN x.
func (e *E) max(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VMAXPS(x, y, z) }, a, b) }

// min returns min(a, b), b when either is NaN.
func (e *E) min(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VMINPS(x, y, z) }, a, b) }

func (e *E) paddd(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VPADDD(x, y, z) }, a, b) }
func (e *E) psubd(a V, b src) V { return e.op3(func(x, y, z operand.Op) { ctx.VPSUBD(x, y, z) }, a, b) }

func (e *E) psrad(a V, n int) V {
	r := e.newV()
	for i := range r {
		ctx.VPSRAD(operand.U8(n), a[i], r[i])
	}
	return r
}

func (e *E) pslld(a V, n int) V {
	r := e.newV()
	for i := range r {
		ctx.VPSLLD(operand.U8(n), a[i], r[i])
	}
	return r
}

// fma returns a*b + c.
func (e *E) fma(a V, b src, c V) V {
	r := e.cp(c)
	for i := range r {
		ctx.VFMADD231PS(b.op(i), a[i], r[i])
	}
	return r
}

// fmaTo computes p = p*a + c in place.
func (e *E) fmaTo(p V, a V, c src) {
	for i := range p {
		ctx.VFMADD213PS(c.op(i), a[i], p[i])
	}
}

// fmsub returns a*b - c.
func (e *E) fmsub(a V, b V, c src) V {
	r := e.cp(a)
	for i := range r {
		ctx.VFMSUB213PS(c.op(i), b[i], r[i])
	}
	return r
}

// horner evaluates Σ coef[k] x^(len-1-k) (highest degree first).
func (e *E) horner(x V, coef []operand.Mem) V {
	p := e.ld(coef[0])
	for _, c := range coef[1:] {
		e.fmaTo(p, x, C(c))
	}
	return p
}

// Comparison predicates for VCMPPS.
const (
	cmpLT    uint8 = 0x11 // less than, ordered, quiet
	cmpLE    uint8 = 0x12 // less or equal, ordered, quiet
	cmpNLTUQ uint8 = 0x15 // not less than, unordered (true for NaN), quiet
)

// cmp returns the lane mask a PRED b.
func (e *E) cmp(pred uint8, a V, b src) []cond {
	r := make([]cond, e.n)
	for i := range r {
		if e.s.zmm {
			k := ctx.K()
			ctx.VCMPPS(operand.U8(pred), b.op(i), a[i], k)
			r[i] = k
		} else {
			m := ctx.YMM()
			ctx.VCMPPS(operand.U8(pred), b.op(i), a[i], m)
			r[i] = m
		}
	}
	return r
}

// blend returns c ? t : f lane by lane.
func (e *E) blend(c []cond, f, t V) V {
	r := e.newV()
	for i := range r {
		if e.s.zmm {
			ctx.VBLENDMPS(t[i], f[i], c[i], r[i])
		} else {
			ctx.VBLENDVPS(c[i], t[i], f[i], r[i])
		}
	}
	return r
}

// negative returns the condition "sign bit of x set" (x < 0, -0, -NaN).
func (e *E) negative(x V) []cond {
	r := make([]cond, e.n)
	for i := range r {
		if e.s.zmm {
			k := ctx.K()
			ctx.VPMOVD2M(x[i], k)
			r[i] = k
		} else {
			r[i] = x[i] // VBLENDVPS reads only the sign bit of its mask
		}
	}
	return r
}

// keep returns v where c holds and +0 elsewhere. (c must be a full lane mask,
// not the result of negative.)
func (e *E) keep(c []cond, v V) V {
	r := e.newV()
	for i := range r {
		if e.s.zmm {
			ctx.VMOVAPS_Z(v[i], c[i], r[i])
		} else {
			ctx.VANDPS(c[i], v[i], r[i])
		}
	}
	return r
}

// gp loads a scalar argument into a new general-purpose register.
func gp(c gotypes.Component) reg.GPVirtual {
	r := ctx.GP64()
	ctx.Load(c, r)
	return r
}

// ---- memory and loops -----------------------------------------------------

// tailMask returns the mask of the first n lanes (0 < n < lanes).
func (s *isa) tailMask(n reg.GPVirtual) cond {
	if s.zmm {
		t := ctx.GP32()
		ctx.MOVL(operand.U32(0xffff), t)
		ctx.BZHIL(n.As32(), t, t)
		k := ctx.K()
		ctx.KMOVW(t, k)
		return k
	}
	x := ctx.XMM()
	ctx.VMOVD(n.As32(), x)
	b := ctx.YMM()
	ctx.VPBROADCASTD(x, b)
	m := ctx.YMM()
	ctx.VPCMPGTD(iota32(), b, m) // lane i: n > i
	return m
}

// loadTail loads the first lanes of a vector under mask t, zeros elsewhere.
func (s *isa) loadTail(m operand.Mem, t cond) reg.VecVirtual {
	r := s.vec()
	if s.zmm {
		ctx.VMOVUPS_Z(m, t, r)
	} else {
		ctx.VMASKMOVPS(m, t, r)
	}
	return r
}

// storeTail stores the lanes of v selected by t.
func (s *isa) storeTail(v reg.VecVirtual, m operand.Mem, t cond) {
	if s.zmm {
		ctx.VMOVUPS(v, t, m)
	} else {
		ctx.VMASKMOVPS(v, t, m)
	}
}

// ret ends a function (clearing the upper halves for AVX2 code).
func (s *isa) ret() {
	if !s.zmm {
		ctx.VZEROUPPER()
	}
	ctx.RET()
}

// reduce folds the lanes of v with op (VMAXPS or VADDPS) in a fixed order
// and returns a register with the result in every lane.
func (s *isa) reduce(op func(a, b, c operand.Op), v reg.VecVirtual) reg.VecVirtual {
	var y reg.VecVirtual
	if s.zmm {
		h := ctx.YMM()
		ctx.VEXTRACTF32X8(operand.U8(1), v, h)
		y = ctx.YMM()
		op(h, v.AsY(), y)
	} else {
		y = v
	}
	h := ctx.XMM()
	if s.zmm {
		ctx.VEXTRACTF32X4(operand.U8(1), y, h)
	} else {
		ctx.VEXTRACTF128(operand.U8(1), y, h)
	}
	x := ctx.XMM()
	op(h, y.AsX(), x)
	t := ctx.XMM()
	ctx.VPERMILPS(operand.U8(0x4e), x, t) // swap 64-bit halves
	x2 := ctx.XMM()
	op(t, x, x2)
	t2 := ctx.XMM()
	ctx.VPERMILPS(operand.U8(0xb1), x2, t2) // swap neighbours
	x3 := ctx.XMM()
	op(t2, x2, x3)
	r := s.vec()
	ctx.VBROADCASTSS(x3, r)
	return r
}
