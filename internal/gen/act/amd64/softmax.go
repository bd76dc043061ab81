package main

import (
	"fmt"
	"github.com/petl-go/petl/internal/gen/contract"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// rowLoop emits a loop over the columns of one row in three stages (u
// vectors at a time, one vector, masked tail). step is called with the
// number of vectors, a loader for column vector j of a row pointer and
// the tail mask (nil except in the tail); it must not modify the pointers.
type rowLoop struct {
	s      *isa
	prefix string
	ptrs   []reg.GPVirtual // pointers walked along the row
	cols   reg.GPVirtual
	u      int
}

func (r rowLoop) run(step func(e *E, load func(p reg.GPVirtual, j int) reg.VecVirtual, store func(v reg.VecVirtual, p reg.GPVirtual, j int), tail cond)) {
	s := r.s
	n := ctx.GP64()
	ctx.MOVQ(r.cols, n)
	// Work on copies of the pointers so the caller's stay at the row start.
	cur := make([]reg.GPVirtual, len(r.ptrs))
	for i, p := range r.ptrs {
		cur[i] = ctx.GP64()
		ctx.MOVQ(p, cur[i])
	}
	idx := func(p reg.GPVirtual) reg.GPVirtual {
		for i, q := range r.ptrs {
			if q == p {
				return cur[i]
			}
		}
		panic("pointer not walked by this loop")
	}
	advance := func(k int) {
		for _, p := range cur {
			ctx.ADDQ(operand.U32(k*s.bytes()), p)
		}
		ctx.SUBQ(operand.U32(k*s.lanes), n)
	}
	full := func(p reg.GPVirtual, j int) reg.VecVirtual {
		v := s.vec()
		ctx.VMOVUPS(operand.Mem{Base: idx(p), Disp: j * s.bytes()}, v)
		return v
	}
	fullStore := func(v reg.VecVirtual, p reg.GPVirtual, j int) {
		ctx.VMOVUPS(v, operand.Mem{Base: idx(p), Disp: j * s.bytes()})
	}
	l := func(x string) string { return r.prefix + "_" + x }
	ctx.Label(l("loop"))
	ctx.CMPQ(n, operand.U32(r.u*s.lanes))
	ctx.JB(operand.LabelRef(l("single")))
	step(&E{s: s, n: r.u}, full, fullStore, nil)
	advance(r.u)
	ctx.JMP(operand.LabelRef(l("loop")))
	ctx.Label(l("single"))
	ctx.CMPQ(n, operand.U32(s.lanes))
	ctx.JB(operand.LabelRef(l("tail")))
	step(&E{s: s, n: 1}, full, fullStore, nil)
	advance(1)
	ctx.JMP(operand.LabelRef(l("single")))
	ctx.Label(l("tail"))
	ctx.TESTQ(n, n)
	ctx.JZ(operand.LabelRef(l("end")))
	tm := s.tailMask(n)
	step(&E{s: s, n: 1},
		func(p reg.GPVirtual, j int) reg.VecVirtual { return s.loadTail(operand.Mem{Base: idx(p)}, tm) },
		func(v reg.VecVirtual, p reg.GPVirtual, j int) { s.storeTail(v, operand.Mem{Base: idx(p)}, tm) },
		tm)
	ctx.Label(l("end"))
}

// accumulate folds x into acc[0..] with op, lane-wise.
func accumulate(op func(a, b, c operand.Op), acc V, x V) {
	for i := range x {
		op(x[i], acc[i], acc[i])
	}
}

// combine folds u accumulators into acc[0].
func combine(op func(a, b, c operand.Op), acc V) reg.VecVirtual {
	for i := 1; i < len(acc); i++ {
		op(acc[i], acc[0], acc[0])
	}
	return acc[0]
}

func vmaxps(a, b, c operand.Op) { ctx.VMAXPS(a, b, c) }
func vaddps(a, b, c operand.Op) { ctx.VADDPS(a, b, c) }

// splat wraps one register as a V of n copies (all the same register).
func splat(v reg.VecVirtual, n int) V {
	r := make(V, n)
	for i := range r {
		r[i] = v
	}
	return r
}

// genSoftmax emits SoftmaxRows{Mask}<ISA>: for each row, a max pass over
// z = scale·x (+ mask), an exp pass writing e = exp(z - max) to y and
// summing it, and a pass scaling y by 1/sum.
func genSoftmax(s *isa, masked bool) {
	op := contract.SoftmaxRows(s.contract, masked)
	function(s, op)
	y := gp(ctx.Param("y").Base())
	x := gp(ctx.Param("x").Base())
	var mask reg.GPVirtual
	if masked {
		mask = gp(ctx.Param("mask").Base())
	}
	rows := gp(ctx.Param("rows"))
	cols := gp(ctx.Param("cols"))
	sx := ctx.XMM()
	ctx.Load(ctx.Param("scale"), sx)
	scale := s.vec()
	ctx.VBROADCASTSS(sx, scale)
	pre := op.Name

	z := func(e *E, load func(p reg.GPVirtual, j int) reg.VecVirtual) V {
		xv := e.newV()
		for j := range xv {
			xv[j] = load(x, j)
		}
		if !masked {
			return e.mul(xv, splat(scale, e.n))
		}
		mv := e.newV()
		for j := range mv {
			mv[j] = load(mask, j)
		}
		return e.fma(xv, splat(scale, e.n), mv)
	}

	ctx.Label(pre + "_row")
	ctx.Comment("for each row")
	ctx.TESTQ(rows, rows)
	ctx.JZ(operand.LabelRef(pre + "_done"))
	walk := []reg.GPVirtual{x}
	if masked {
		walk = append(walk, mask)
	}

	ctx.Comment("pass 1: m = max over the row of z")
	const u1 = 4
	acc := make(V, u1)
	for i := range acc {
		acc[i] = s.vec()
		ctx.VMOVUPS(kNegInf, acc[i])
	}
	rowLoop{s: s, prefix: pre + "_max", ptrs: walk, cols: cols, u: u1}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, _ func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			zv := z(e, load)
			if tail != nil {
				zv = e.blend([]cond{tail}, e.ld(kNegInf), zv)
			}
			accumulate(vmaxps, acc[:e.n], zv)
		})
	m := s.reduce(vmaxps, combine(vmaxps, acc))
	ctx.Comment("a fully masked row has m = -Inf: use -MaxFloat32 so that every e is 0, not NaN")
	ctx.VMAXPS(kNegMax, m, m)

	ctx.Comment("pass 2: y = e^(z - m), sum += y")
	const u2 = 2
	sum := make(V, u2)
	for i := range sum {
		sum[i] = s.vec()
		ctx.VXORPS(sum[i], sum[i], sum[i])
	}
	rowLoop{s: s, prefix: pre + "_exp", ptrs: append([]reg.GPVirtual{y}, walk...), cols: cols, u: u2}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			ev := e.expFlush(e.sub(z(e, load), splat(m, e.n)))
			if tail != nil {
				ev = e.keep([]cond{tail}, ev)
			}
			for j := range ev {
				store(ev[j], y, j)
			}
			accumulate(vaddps, sum[:e.n], ev)
		})
	tot := s.reduce(vaddps, combine(vaddps, sum))
	ctx.Comment("a sum of 0 means every e was 0 (fully masked row): y is already all zeros")
	zero := ctx.XMM()
	ctx.VXORPS(zero, zero, zero)
	ctx.VUCOMISS(zero, tot.AsX())
	ctx.JNE(operand.LabelRef(pre + "_norm"))
	ctx.JP(operand.LabelRef(pre + "_norm"))
	ctx.JMP(operand.LabelRef(pre + "_next"))

	ctx.Label(pre + "_norm")
	ctx.Comment("pass 3: y *= 1/sum")
	inv := s.vec()
	one := s.vec()
	ctx.VMOVUPS(kOne, one)
	ctx.VDIVPS(tot, one, inv)
	rowLoop{s: s, prefix: pre + "_scale", ptrs: []reg.GPVirtual{y}, cols: cols, u: 4}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			yv := e.newV()
			for j := range yv {
				yv[j] = load(y, j)
			}
			r := e.mul(yv, splat(inv, e.n))
			for j := range r {
				store(r[j], y, j)
			}
		})

	ctx.Label(pre + "_next")
	ctx.Comment("next row")
	rowBytes := ctx.GP64()
	ctx.MOVQ(cols, rowBytes)
	ctx.SHLQ(operand.U8(2), rowBytes)
	ctx.ADDQ(rowBytes, y)
	ctx.ADDQ(rowBytes, x)
	ctx.DECQ(rows)
	ctx.JMP(operand.LabelRef(pre + "_row"))

	ctx.Label(pre + "_done")
	s.ret()
}

// genSoftmaxBackward emits SoftmaxRowsBackward<ISA>.
func genSoftmaxBackward(s *isa) {
	op := contract.SoftmaxRowsBackward
	function(s, op)
	dx := gp(ctx.Param("dx").Base())
	y := gp(ctx.Param("y").Base())
	dy := gp(ctx.Param("dy").Base())
	rows := gp(ctx.Param("rows"))
	cols := gp(ctx.Param("cols"))
	sx := ctx.XMM()
	ctx.Load(ctx.Param("scale"), sx)
	scale := s.vec()
	ctx.VBROADCASTSS(sx, scale)
	pre := "SoftmaxBackward"

	ctx.Label(pre + "_row")
	ctx.Comment("for each row")
	ctx.TESTQ(rows, rows)
	ctx.JZ(operand.LabelRef(pre + "_done"))

	ctx.Comment("pass 1: d = Σ dy·y")
	const u = 4
	acc := make(V, u)
	for i := range acc {
		acc[i] = s.vec()
		ctx.VXORPS(acc[i], acc[i], acc[i])
	}
	rowLoop{s: s, prefix: pre + "_dot", ptrs: []reg.GPVirtual{y, dy}, cols: cols, u: u}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, _ func(reg.VecVirtual, reg.GPVirtual, int), _ cond) {
			for j := 0; j < e.n; j++ {
				ctx.VFMADD231PS(load(dy, j), load(y, j), acc[j])
			}
		})
	d := s.reduce(vaddps, combine(vaddps, acc))

	ctx.Comment("pass 2: dx = scale·y·(dy - d)")
	rowLoop{s: s, prefix: pre + "_grad", ptrs: []reg.GPVirtual{dx, y, dy}, cols: cols, u: u}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), _ cond) {
			dyv, yv := e.newV(), e.newV()
			for j := range dyv {
				dyv[j] = load(dy, j)
				yv[j] = load(y, j)
			}
			t := e.mul(e.mul(e.sub(dyv, splat(d, e.n)), yv), splat(scale, e.n))
			for j := range t {
				store(t[j], dx, j)
			}
		})

	ctx.Comment("next row")
	rowBytes := ctx.GP64()
	ctx.MOVQ(cols, rowBytes)
	ctx.SHLQ(operand.U8(2), rowBytes)
	ctx.ADDQ(rowBytes, dx)
	ctx.ADDQ(rowBytes, y)
	ctx.ADDQ(rowBytes, dy)
	ctx.DECQ(rows)
	ctx.JMP(operand.LabelRef(pre + "_row"))

	ctx.Label(pre + "_done")
	s.ret()
	_ = fmt.Sprint
}
