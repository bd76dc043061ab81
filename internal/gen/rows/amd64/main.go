// Command amd64 (internal/gen/rows/amd64) generates asm/rows_amd64.s and its Go stubs: the AVX2+FMA and
// AVX-512 row kernels (layer norm forward and backward, bias add and bias
// gradient, add, axpy, scale, dot, sum, max and the AdamW update).
//
// Every kernel is written once, as a Go function of an isa (vector width and
// register constructor), and emitted twice: with 8-lane YMM registers for AVX2
// and 16-lane ZMM registers for AVX-512. The two differ only in the width of
// the vector stage and in the first step of a horizontal reduction, so the
// AVX2 tests exercise the logic of both.
//
// Every loop over a row has the same three stages, which is what makes the
// kernels correct for any length: blocks of unroll vectors, then single
// vectors, then single floats (VEX scalar instructions). Pointers stay fixed
// within a row; a byte offset i walks through it.
package main

//go:generate go run . -out ../../../../kernels/internal/asm/rows_amd64.s -stubs ../../../../kernels/internal/asm/rows_amd64.go

import (
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/contract"
)

// c is the build context every kernel is emitted into (avx.Command's).
var c *build.Context

// isa is one instruction set: its name (the suffix of every kernel), the
// number of float32 lanes in a vector and the constructor of a vector
// register.
type isa struct {
	name     string
	lanes    int
	vec      func() reg.VecVirtual
	contract contract.ISA // how the kernels' contracts describe it
}

var (
	avx2   = isa{name: "AVX2", lanes: 8, vec: func() reg.VecVirtual { return c.YMM() }, contract: contract.AVX2}
	avx512 = isa{name: "AVX512", lanes: 16, vec: func() reg.VecVirtual { return c.ZMM() }, contract: contract.AVX512}
)

// kind is the width one block of code works at: a whole vector of the isa, or
// one float32 in the low lane of an XMM register (the tail of a row).
type kind struct {
	isa
	scalar bool
}

// n is the number of floats one block handles.
func (k kind) n() int {
	if k.scalar {
		return 1
	}
	return k.lanes
}

// bytes is the size in bytes of one block.
func (k kind) bytes() int { return 4 * k.n() }

// reg returns a new register of the kind's width.
func (k kind) reg() reg.VecVirtual {
	if k.scalar {
		return c.XMM()
	}
	return k.vec()
}

// of views a broadcast vector register at the kind's width: the register
// itself, or its low XMM part for scalar blocks.
func (k kind) of(r reg.VecVirtual) reg.Register {
	if k.scalar {
		return r.AsX()
	}
	return r
}

// ps picks the packed or the scalar form of an instruction.
func (k kind) ps(packed, scalar func(...operand.Op)) func(...operand.Op) {
	if k.scalar {
		return scalar
	}
	return packed
}

// The arithmetic below uses the Go assembler's operand order: the
// destination last, so sub(b, a, d) is d = a - b.
func (k kind) mov(src, dst operand.Op) { k.ps(c.VMOVUPS, c.VMOVSS)(src, dst) }
func (k kind) add(b, a, d operand.Op)  { k.ps(c.VADDPS, c.VADDSS)(b, a, d) }
func (k kind) sub(b, a, d operand.Op)  { k.ps(c.VSUBPS, c.VSUBSS)(b, a, d) }
func (k kind) mul(b, a, d operand.Op)  { k.ps(c.VMULPS, c.VMULSS)(b, a, d) }
func (k kind) div(b, a, d operand.Op)  { k.ps(c.VDIVPS, c.VDIVSS)(b, a, d) }
func (k kind) max(b, a, d operand.Op)  { k.ps(c.VMAXPS, c.VMAXSS)(b, a, d) }
func (k kind) sqrt(a, d operand.Op) {
	k.ps(c.VSQRTPS, func(o ...operand.Op) { c.VSQRTSS(o[0], o[1], o[1]) })(a, d)
}
func (k kind) fma231(b, a, d operand.Op) { k.ps(c.VFMADD231PS, c.VFMADD231SS)(b, a, d) } // d += a*b
func (k kind) fma213(b, a, d operand.Op) { k.ps(c.VFMADD213PS, c.VFMADD213SS)(b, a, d) } // d = a*d + b

// load returns a new register holding the block at m.
func (k kind) load(m operand.Mem) reg.VecVirtual {
	r := k.reg()
	k.mov(m, r)
	return r
}

// normalised returns a new register holding the block at m as
// xh = (x - μ)*ρ, with μ and ρ broadcast in muv and rhov.
func (k kind) normalised(m operand.Mem, muv, rhov reg.VecVirtual) reg.VecVirtual {
	xh := k.load(m)
	k.sub(k.of(muv), xh, xh)
	k.mul(k.of(rhov), xh, xh)
	return xh
}

// loop is one pass over a row of count floats: n counts the floats left and
// i is the byte offset reached, shared by every pointer the body uses.
type loop struct {
	name   string // label prefix, unique within the function
	unroll int    // vectors per block of the first stage (1: no such stage)
	n, i   reg.GPVirtual
}

// newLoop allocates the counter and offset registers of a loop.
func newLoop(name string, unroll int) loop {
	return loop{name: name, unroll: unroll, n: c.GP64(), i: c.GP64()}
}

// at is the memory operand of block j of kind k at the loop's offset from base.
func (l loop) at(base reg.Register, k kind, j int) operand.Mem {
	return operand.Mem{Base: base, Index: l.i, Scale: 1, Disp: j * k.bytes()}
}

// addBlock emits block j of kind k of dst[c] = a[c] + b[c].
func (l loop) addBlock(k kind, j int, dst, a, b reg.Register) {
	t := k.load(l.at(a, k, j))
	k.add(l.at(b, k, j), t, t)
	k.mov(t, l.at(dst, k, j))
}

// emit emits the three stages over count floats (a register or a memory
// operand): body(k, j) emits block j of kind k. afterVectors, if not nil, runs
// between the vector stages and the scalar tail (where reductions fold their
// vector accumulators into a scalar).
func (l loop) emit(s isa, count operand.Op, body func(k kind, j int), afterVectors func()) {
	vec, one := kind{isa: s}, kind{isa: s, scalar: true}
	c.MOVQ(count, l.n)
	c.XORQ(l.i, l.i)
	if l.unroll > 1 {
		blk := l.unroll * s.lanes
		c.Label(l.name + "_blocks")
		c.Commentf("for ; n >= %d; n -= %d: %d vectors at a time", blk, blk, l.unroll)
		c.CMPQ(l.n, operand.U32(blk))
		c.JL(operand.LabelRef(l.name + "_vectors"))
		for j := 0; j < l.unroll; j++ {
			body(vec, j)
		}
		c.ADDQ(operand.U32(4*blk), l.i)
		c.SUBQ(operand.U32(blk), l.n)
		c.JMP(operand.LabelRef(l.name + "_blocks"))
	}
	c.Label(l.name + "_vectors")
	c.Commentf("for ; n >= %d; n -= %d: one vector at a time", s.lanes, s.lanes)
	c.CMPQ(l.n, operand.U32(s.lanes))
	c.JL(operand.LabelRef(l.name + "_tail"))
	body(vec, 0)
	c.ADDQ(operand.U32(4*s.lanes), l.i)
	c.SUBQ(operand.U32(s.lanes), l.n)
	c.JMP(operand.LabelRef(l.name + "_vectors"))
	c.Label(l.name + "_tail")
	if afterVectors != nil {
		afterVectors()
	}
	c.Label(l.name + "_scalars")
	c.Comment("for ; n > 0; n--: one float at a time")
	c.TESTQ(l.n, l.n)
	c.JZ(operand.LabelRef(l.name + "_done"))
	body(one, 0)
	c.ADDQ(operand.Imm(4), l.i)
	c.DECQ(l.n)
	c.JMP(operand.LabelRef(l.name + "_scalars"))
	c.Label(l.name + "_done")
}

// zeros returns n vector registers set to zero.
func zeros(s isa, n int) []reg.VecVirtual {
	rs := make([]reg.VecVirtual, n)
	for j := range rs {
		rs[j] = s.vec()
		c.VXORPS(rs[j], rs[j], rs[j])
	}
	return rs
}

// fold combines accumulators pairwise, (a0+a1)+(a2+a3), into the first.
func fold(op func(...operand.Op), acc []reg.VecVirtual) reg.VecVirtual {
	for len(acc) > 1 {
		var next []reg.VecVirtual
		for j := 0; j+1 < len(acc); j += 2 {
			op(acc[j+1], acc[j], acc[j])
			next = append(next, acc[j])
		}
		if len(acc)%2 == 1 {
			next = append(next, acc[len(acc)-1])
		}
		acc = next
	}
	return acc[0]
}

// horizontal reduces the lanes of v with op and returns an XMM register
// whose low lane holds the result. For AVX-512 the first step folds the high
// 256 bits onto the low; from there on AVX2 and AVX-512 share the code.
func horizontal(s isa, v reg.VecVirtual, op func(...operand.Op)) reg.VecVirtual {
	y := v.AsY().(reg.VecVirtual)
	if s.lanes == 16 {
		hi := c.YMM()
		c.VEXTRACTF64X4(operand.Imm(1), v, hi)
		op(hi, y, hi)
		y = hi.(reg.VecVirtual)
	}
	return avx.Horizontal(c, y, op)
}

// broadcast returns a vector register with every lane set to the float32 at
// m (or in the low lane of an XMM register).
func broadcast(s isa, src operand.Op) reg.VecVirtual {
	r := s.vec()
	c.VBROADCASTSS(src, r)
	return r
}

// constant returns an XMM register holding the float32 with the given bits.
func constant(bits uint32) reg.VecVirtual {
	g := c.GP32()
	c.MOVL(operand.U32(bits), g)
	x := c.XMM()
	c.VMOVD(g, x)
	return x
}

// addr is the stack address of parameter name (a float32 scalar).
func addr(name string) operand.Mem { return avx.Addr(c.Param(name)) }

// storeRet stores the low float of x as the float32 result, with a VEX
// move (avo's Store would use SSE MOVSS, mixing encodings before VZEROUPPER).
func storeRet(x reg.Register) { c.VMOVSS(x, avx.Addr(c.ReturnIndex(0))) }

// length loads the length of slice parameter name.
func length(name string) reg.GPVirtual {
	r := c.GP64()
	c.Load(c.Param(name).Len(), r)
	return r
}

// ptr loads the data pointer of slice parameter name.
func ptr(name string) reg.GPVirtual {
	r := c.GP64()
	c.Load(c.Param(name).Base(), r)
	return r
}

// param loads integer parameter name.
func param(name string) reg.GPVirtual {
	r := c.GP64()
	c.Load(c.Param(name), r)
	return r
}

// function starts the kernel of contract op for s, with op's signature and
// doc comment.
func function(s isa, op contract.Op) { avx.Function(c, op, s.contract, "noescape") }

// ret ends a kernel.
func ret() {
	c.Label("ret")
	c.VZEROUPPER()
	c.RET()
}

func main() {
	avx.Command("internal/gen/rows/amd64", "!purego", func(ctx *build.Context) {
		c = ctx
		for _, s := range []isa{avx2, avx512} {
			emitAll(s)
		}
	})
}
