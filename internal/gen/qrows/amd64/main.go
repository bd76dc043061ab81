// Command amd64 (internal/gen/qrows/amd64) generates asm/qrows_amd64.s and its Go stubs
// with avo: the two passes over a row of Qgemm's activation quantization
// (package kernels, qrows.go), AVX2 and AVX-512.
//
//   - QRowRange: lo = min(0, min x), hi = max(0, max x) in four vector
//     accumulators each (VMINPS, VMAXPS), and a third set that sums x*0
//     (VFMADD231PS), which stays 0 unless some x is NaN or ±Inf and is
//     added to lo at the end: such a row then has a NaN lo.
//   - QRowBytes: roundEven(x*inv) + z (VMULPS, VCVTPS2DQ, VPADDD), to bytes
//     with saturation (VPACKSSDW to int16, VPACKUSWB to 0..255, VPERMD to
//     put the dwords of the four vectors back in order), then min 127
//     (VPMINUB) and - shift (VPSUBB).
//
// Both kernels are written once, for a vector width: blocks of 4 vectors
// of the width (YMM for AVX2, ZMM for AVX-512), then single YMM vectors,
// then the last 1..7 floats through a masked load (VMASKMOVPS, which reads
// nothing outside the mask) into one YMM, whose 1..7 bytes are stored one
// at a time. The YMM stages are the same code in both kernels, so the
// AVX-512 kernel differs from the AVX2 one (which the tests exercise on
// any AVX2 machine) only in the width of its block loop and in the step
// that folds its ZMM accumulators onto YMM.
package main

//go:generate go run . -out ../../../../kernels/internal/asm/qrows_amd64.s -stubs ../../../../kernels/internal/asm/qrows_amd64.go

import (
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/contract"
)

// c is the build context every kernel is emitted into (avx.Command's).
var c *build.Context

// isa is one instruction set: the float32 lanes of a vector of the block
// loop, the constructor of such a register, and how the contracts name it.
type isa struct {
	lanes    int
	vec      func() reg.VecVirtual
	contract contract.ISA
}

var (
	avx2   = isa{lanes: 8, vec: func() reg.VecVirtual { return c.YMM() }, contract: contract.AVX2}
	avx512 = isa{lanes: 16, vec: func() reg.VecVirtual { return c.ZMM() }, contract: contract.AVX512}
)

// unroll is the number of vectors of a block.
const unroll = 4

// half is the float32 lanes of the single-vector stages (YMM).
const half = 8

func main() {
	avx.Command("internal/gen/qrows/amd64", "!purego", func(ctx *build.Context) {
		c = ctx
		for _, s := range []isa{avx2, avx512} {
			emitRange(s)
			emitBytes(s)
		}
	})
}

// function starts the kernel of contract op for s.
func function(s isa, op contract.Op) { avx.Function(c, op, s.contract, "noescape") }

// wide reports whether s is AVX-512.
func (s isa) wide() bool { return s.lanes == 16 }

// ret is the address of result i.
func ret(i int) operand.Mem { return avx.Addr(c.ReturnIndex(i)) }

// stages emits the loop over n floats: blocks of unroll vectors of s
// (block(j) emits vector j of a block at element offset e), then prepare,
// then single YMM vectors (one(), at e), then, when 1..7 floats are left,
// tail(mask) with mask the YMM lanes l < n; n ends at 0. e counts the
// elements done.
func stages(s isa, name string, n, e reg.GPVirtual, block func(j int), prepare, one func(), tail func(mask reg.VecVirtual)) {
	blk := unroll * s.lanes
	c.XORQ(e, e)
	c.Label(name + "_blocks")
	c.Commentf("for ; n >= %d; n -= %d: %d vectors of %d floats at a time", blk, blk, unroll, s.lanes)
	c.CMPQ(n, operand.U32(blk))
	c.JL(operand.LabelRef(name + "_single"))
	for j := range unroll {
		block(j)
	}
	c.ADDQ(operand.U32(blk), e)
	c.SUBQ(operand.U32(blk), n)
	c.JMP(operand.LabelRef(name + "_blocks"))

	c.Label(name + "_single")
	prepare()
	c.Label(name + "_vectors")
	c.Commentf("for ; n >= %d; n -= %d: one vector of %d floats (YMM) at a time", half, half, half)
	c.CMPQ(n, operand.U32(half))
	c.JL(operand.LabelRef(name + "_tail"))
	one()
	c.ADDQ(operand.U32(half), e)
	c.SUBQ(operand.U32(half), n)
	c.JMP(operand.LabelRef(name + "_vectors"))

	c.Label(name + "_tail")
	c.Comment("if n > 0: the last n < 8 floats, mask = lane l < n in every lane of a YMM")
	c.TESTQ(n, n)
	c.JZ(operand.LabelRef(name + "_done"))
	idx := c.YMM()
	lanes := c.GP64()
	c.MOVQ(operand.U64(0x0706050403020100), lanes)
	c.VMOVQ(lanes, idx.AsX())
	c.VPMOVZXBD(idx.AsX(), idx)
	nv := c.YMM()
	avx.BroadcastD(c, n.As32(), nv)
	mask := c.YMM()
	c.VPCMPGTD(idx, nv, mask)
	tail(mask)
	c.Label(name + "_done")
}

// xAt is the memory operand of vector j (lanes floats) of x at element e.
func xAt(x, e reg.Register, j, lanes int) operand.Mem {
	return operand.Mem{Base: x, Index: e, Scale: 4, Disp: 4 * j * lanes}
}

// emitRange emits QRowRange<isa>.
func emitRange(s isa) {
	function(s, contract.QRowRange)
	x := c.Load(c.Param("x").Base(), c.GP64())
	n := c.Load(c.Param("x").Len(), c.GP64()).(reg.GPVirtual)
	e := c.GP64()

	c.Comment("lo[j], hi[j], nf[j] = 0 (nf[j] sums x*0: NaN once some x is NaN or ±Inf)")
	var lo, hi, nf [unroll]reg.VecVirtual
	for j := range unroll {
		lo[j], hi[j], nf[j] = s.vec(), s.vec(), s.vec()
		for _, r := range []reg.VecVirtual{lo[j], hi[j], nf[j]} {
			c.VXORPS(r, r, r)
		}
	}
	zero := s.vec()
	c.VXORPS(zero, zero, zero)

	// acc accumulates the vector t into lo[j], hi[j], nf[j] at the width of t.
	acc := func(t reg.Register, j int, y bool) {
		view := func(r reg.VecVirtual) reg.Register {
			if y {
				return r.AsY()
			}
			return r
		}
		c.VMINPS(t, view(lo[j]), view(lo[j]))
		c.VMAXPS(t, view(hi[j]), view(hi[j]))
		c.VFMADD231PS(t, view(zero), view(nf[j]))
	}
	stages(s, "range", n, e,
		func(j int) {
			c.Commentf("vector %d: lo[%d] = min(lo[%d], x); hi[%d] = max(hi[%d], x); nf[%d] += x*0", j, j, j, j, j, j)
			t := s.vec()
			c.VMOVUPS(xAt(x, e, j, s.lanes), t)
			acc(t, j, false)
		},
		func() {
			c.Comment("lo[0] = min(lo[0..3]), hi[0] = max(hi[0..3]), nf[0] = sum(nf[0..3])")
			for _, a := range []struct {
				r  *[unroll]reg.VecVirtual
				op func(...operand.Op)
			}{{&lo, c.VMINPS}, {&hi, c.VMAXPS}, {&nf, c.VADDPS}} {
				a.op(a.r[1], a.r[0], a.r[0])
				a.op(a.r[3], a.r[2], a.r[2])
				a.op(a.r[2], a.r[0], a.r[0])
				if s.wide() {
					h := c.YMM()
					c.VEXTRACTF64X4(operand.Imm(1), a.r[0], h)
					a.op(h, a.r[0].AsY(), a.r[0].AsY())
				}
			}
		},
		func() {
			c.Comment("one vector: lo[0] = min(lo[0], x); hi[0] = max(hi[0], x); nf[0] += x*0")
			t := c.YMM()
			c.VMOVUPS(xAt(x, e, 0, half), t)
			acc(t, 0, true)
		},
		func(mask reg.VecVirtual) {
			c.Comment("the masked lanes read as 0, which changes none of lo, hi, nf")
			t := c.YMM()
			c.VMASKMOVPS(xAt(x, e, 0, half), mask, t)
			acc(t, 0, true)
		})

	c.Comment("lo = min over the lanes of lo[0] + the sum over those of nf[0]; hi = max over those of hi[0]")
	l := avx.Horizontal(c, lo[0], c.VMINPS)
	h := avx.Horizontal(c, hi[0], c.VMAXPS)
	f := avx.Horizontal(c, nf[0], c.VADDPS)
	c.VADDSS(f, l, l)
	c.VMOVSS(l, ret(0))
	c.VMOVSS(h, ret(1))
	c.VZEROUPPER()
	c.RET()
}

// emitBytes emits QRowBytes<isa>.
func emitBytes(s isa) {
	function(s, contract.QRowBytes)
	dst := c.Load(c.Param("dst").Base(), c.GP64())
	x := c.Load(c.Param("x").Base(), c.GP64())
	n := c.Load(c.Param("x").Len(), c.GP64()).(reg.GPVirtual)
	e := c.GP64()

	c.Comment("inv, z (dwords), 127 and shift (bytes) in every lane")
	inv := s.vec()
	c.VBROADCASTSS(avx.Addr(c.Param("inv")), inv)
	z := s.vec()
	zg := c.Load(c.Param("z"), c.GP32())
	avx.BroadcastD(c, zg, z)
	top := s.vec()
	tg := c.GP32()
	c.MOVL(operand.U32(0x7f7f7f7f), tg)
	avx.BroadcastD(c, tg, top)
	shift := s.vec()
	sg := c.Load(c.Param("shift"), c.GP32())
	c.VMOVD(sg, shift.AsX())
	c.VPBROADCASTB(shift.AsX(), shift)

	// After VPACKSSDW of vectors (0, 1) and (2, 3) and VPACKUSWB of the two,
	// 128-bit lane L of the result holds 4 bytes of each vector v, as dword
	// 4L+v; dword v*lanes/4+L must get it.
	lanes128 := s.lanes / 4
	c.Commentf("perm = the dword order that undoes the interleaving of the packs of %d vectors", unroll)
	var idx [16]byte
	for v := range unroll {
		for l := range lanes128 {
			idx[v*lanes128+l] = byte(4*l + v)
		}
	}
	perm := s.vec()
	g := c.GP64()
	c.MOVQ(operand.U64(le64(idx[:8])), g)
	c.VMOVQ(g, perm.AsX())
	if s.wide() {
		c.MOVQ(operand.U64(le64(idx[8:])), g)
		c.VPINSRQ(operand.Imm(1), g, perm.AsX(), perm.AsX())
	}
	c.VPMOVZXBD(perm.AsX(), perm)

	// ints emits t = roundEven(v*inv) + z for the vector v (memory or a
	// register), at t's width.
	ints := func(v operand.Op, t reg.Register, inv, z reg.Register) {
		c.VMULPS(v, inv, t)
		c.VCVTPS2DQ(t, t)
		c.VPADDD(z, t, t)
	}
	// small emits the 8 bytes of the YMM t (dwords) into the low quadword of
	// the XMM w: saturated to int16 and to 0..255, min 127, - shift.
	small := func(t reg.VecVirtual) reg.VecVirtual {
		w := c.XMM()
		c.VEXTRACTI128(operand.Imm(1), t, w)
		c.VPACKSSDW(w, t.AsX(), w)
		c.VPACKUSWB(w, w, w)
		c.VPMINUB(top.AsX(), w, w)
		c.VPSUBB(shift.AsX(), w, w)
		return w
	}
	var t [unroll]reg.VecVirtual
	stages(s, "bytes", n, e,
		func(j int) {
			c.Commentf("vector %d: t[%d] = roundEven(x*inv) + z", j, j)
			t[j] = s.vec()
			ints(xAt(x, e, j, s.lanes), t[j], inv, z)
			if j < unroll-1 {
				return
			}
			c.Commentf("dst[e:e+%d] = byte(min(127, max(0, t)) - shift), t[0..3] in order", unroll*s.lanes)
			c.VPACKSSDW(t[1], t[0], t[0])
			c.VPACKSSDW(t[3], t[2], t[2])
			c.VPACKUSWB(t[2], t[0], t[0])
			c.VPERMD(t[0], perm, t[0])
			c.VPMINUB(top, t[0], t[0])
			c.VPSUBB(shift, t[0], t[0])
			m := operand.Mem{Base: dst, Index: e, Scale: 1}
			if s.wide() {
				c.VMOVDQU8(t[0], m)
			} else {
				c.VMOVDQU(t[0], m)
			}
		},
		func() {},
		func() {
			c.Comment("one vector: dst[e:e+8] = byte(min(127, max(0, roundEven(x*inv) + z)) - shift)")
			y := c.YMM()
			ints(xAt(x, e, 0, half), y, inv.AsY(), z.AsY())
			w := small(y)
			c.VMOVQ(w, operand.Mem{Base: dst, Index: e, Scale: 1})
		},
		func(mask reg.VecVirtual) {
			c.Comment("the same over the masked lanes, then their bytes one at a time")
			y := c.YMM()
			c.VMASKMOVPS(xAt(x, e, 0, half), mask, y)
			ints(y, y, inv.AsY(), z.AsY())
			w := small(y)
			b := c.GP64()
			c.VMOVQ(w, b)
			c.Label("bytes_store")
			c.MOVB(b.As8(), operand.Mem{Base: dst, Index: e, Scale: 1})
			c.SHRQ(operand.Imm(8), b)
			c.INCQ(e)
			c.DECQ(n)
			c.JNZ(operand.LabelRef("bytes_store"))
		})
	c.VZEROUPPER()
	c.RET()
}

// le64 is the little-endian uint64 of 8 bytes.
func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
