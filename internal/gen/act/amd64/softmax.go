package main

import (
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

// softmaxRows is the frame shared by the softmax kernels: a loop over rows
// of cols floats, with scale broadcast, whose labels start with pre.
type softmaxRows struct {
	s          *isa
	pre        string
	rows, cols reg.GPVirtual
	scale      reg.VecVirtual
}

// loadSoftmaxRows loads rows, cols and scale (broadcast); the row pointers
// come first.
func loadSoftmaxRows(s *isa, pre string) softmaxRows {
	f := softmaxRows{s: s, pre: pre, rows: gp(ctx.Param("rows")), cols: gp(ctx.Param("cols"))}
	sx := ctx.XMM()
	ctx.Load(ctx.Param("scale"), sx)
	f.scale = s.vec()
	ctx.VBROADCASTSS(sx, f.scale)
	return f
}

// rowHead starts the loop over rows, leaving for pre_done after the last.
func (f softmaxRows) rowHead() {
	ctx.Label(f.pre + "_row")
	ctx.Comment("for each row")
	ctx.TESTQ(f.rows, f.rows)
	ctx.JZ(operand.LabelRef(f.pre + "_done"))
}

// nextRow moves ptrs on by one row, counts the row down and jumps back to
// the loop over rows.
func (f softmaxRows) nextRow(ptrs ...reg.GPVirtual) {
	ctx.Comment("next row")
	rowBytes := ctx.GP64()
	ctx.MOVQ(f.cols, rowBytes)
	ctx.SHLQ(operand.U8(2), rowBytes)
	for _, p := range ptrs {
		ctx.ADDQ(rowBytes, p)
	}
	ctx.DECQ(f.rows)
	ctx.JMP(operand.LabelRef(f.pre + "_row"))
}

// end ends the kernel at the label the loop over rows leaves for.
func (f softmaxRows) end() {
	ctx.Label(f.pre + "_done")
	f.s.ret()
}

// softmax holds the registers of SoftmaxRows{Mask}<ISA>.
type softmax struct {
	softmaxRows
	masked     bool
	y, x, mask reg.GPVirtual // mask: masked only
}

// genSoftmax emits SoftmaxRows{Mask}<ISA>: for each row, a max pass over
// z = scale·x (+ mask), an exp pass writing e = exp(z - max) to y and
// summing it, and a pass scaling y by 1/sum.
func genSoftmax(s *isa, masked bool) {
	op := contract.SoftmaxRows(s.contract, masked)
	function(s, op)
	sm := softmax{masked: masked, y: gp(ctx.Param("y").Base()), x: gp(ctx.Param("x").Base())}
	if masked {
		sm.mask = gp(ctx.Param("mask").Base())
	}
	sm.softmaxRows = loadSoftmaxRows(s, op.Name)
	sm.rowHead()
	m := sm.maxPass()
	tot := sm.expPass(m)
	sm.scalePass(tot)
	ctx.Label(sm.pre + "_next")
	sm.nextRow(sm.y, sm.x)
	sm.end()
}

// z returns the block of z = scale·x (+ mask) that load reads.
func (sm softmax) z(e *E, load func(p reg.GPVirtual, j int) reg.VecVirtual) V {
	xv := e.newV()
	for j := range xv {
		xv[j] = load(sm.x, j)
	}
	if !sm.masked {
		return e.mul(xv, splat(sm.scale, e.n))
	}
	mv := e.newV()
	for j := range mv {
		mv[j] = load(sm.mask, j)
	}
	return e.fma(xv, splat(sm.scale, e.n), mv)
}

// walk is the row pointers z is read through.
func (sm softmax) walk() []reg.GPVirtual {
	if sm.masked {
		return []reg.GPVirtual{sm.x, sm.mask}
	}
	return []reg.GPVirtual{sm.x}
}

// maxPass emits pass 1 and returns m = max over the row of z (at least
// -MaxFloat32) in every lane.
func (sm softmax) maxPass() reg.VecVirtual {
	s := sm.s
	ctx.Comment("pass 1: m = max over the row of z")
	const u1 = 4
	acc := (&E{s: s, n: u1}).ld(kNegInf)
	rowLoop{s: s, prefix: sm.pre + "_max", ptrs: sm.walk(), cols: sm.cols, u: u1}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, _ func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			zv := sm.z(e, load)
			if tail != nil {
				zv = e.blend([]cond{tail}, e.ld(kNegInf), zv)
			}
			accumulate(vmaxps, acc[:e.n], zv)
		})
	m := s.reduce(vmaxps, combine(vmaxps, acc))
	ctx.Comment("a fully masked row has m = -Inf: use -MaxFloat32 so that every e is 0, not NaN")
	ctx.VMAXPS(kNegMax, m, m)
	return m
}

// expPass emits pass 2, y = e^(z - m), and returns their sum in every lane;
// a row whose sum is 0 (fully masked) goes on to pre_next, the others to
// pre_norm.
func (sm softmax) expPass(m reg.VecVirtual) reg.VecVirtual {
	s := sm.s
	ctx.Comment("pass 2: y = e^(z - m), sum += y")
	const u2 = 2
	sum := (&E{s: s, n: u2}).zero()
	rowLoop{s: s, prefix: sm.pre + "_exp", ptrs: append([]reg.GPVirtual{sm.y}, sm.walk()...), cols: sm.cols, u: u2}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			ev := e.expFlush(e.sub(sm.z(e, load), splat(m, e.n)))
			if tail != nil {
				ev = e.keep([]cond{tail}, ev)
			}
			for j := range ev {
				store(ev[j], sm.y, j)
			}
			accumulate(vaddps, sum[:e.n], ev)
		})
	tot := s.reduce(vaddps, combine(vaddps, sum))
	ctx.Comment("a sum of 0 means every e was 0 (fully masked row): y is already all zeros")
	zero := ctx.XMM()
	ctx.VXORPS(zero, zero, zero)
	ctx.VUCOMISS(zero, tot.AsX())
	ctx.JNE(operand.LabelRef(sm.pre + "_norm"))
	ctx.JP(operand.LabelRef(sm.pre + "_norm"))
	ctx.JMP(operand.LabelRef(sm.pre + "_next"))
	return tot
}

// scalePass emits pass 3 from label pre_norm: y *= 1/tot.
func (sm softmax) scalePass(tot reg.VecVirtual) {
	s := sm.s
	ctx.Label(sm.pre + "_norm")
	ctx.Comment("pass 3: y *= 1/sum")
	inv := s.vec()
	one := s.vec()
	ctx.VMOVUPS(kOne, one)
	ctx.VDIVPS(tot, one, inv)
	rowLoop{s: s, prefix: sm.pre + "_scale", ptrs: []reg.GPVirtual{sm.y}, cols: sm.cols, u: 4}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), tail cond) {
			yv := e.newV()
			for j := range yv {
				yv[j] = load(sm.y, j)
			}
			r := e.mul(yv, splat(inv, e.n))
			for j := range r {
				store(r[j], sm.y, j)
			}
		})
}

// genSoftmaxBackward emits SoftmaxRowsBackward<ISA>.
func genSoftmaxBackward(s *isa) {
	op := contract.SoftmaxRowsBackward
	function(s, op)
	dx := gp(ctx.Param("dx").Base())
	y := gp(ctx.Param("y").Base())
	dy := gp(ctx.Param("dy").Base())
	f := loadSoftmaxRows(s, "SoftmaxBackward")
	f.rowHead()

	ctx.Comment("pass 1: d = Σ dy·y")
	const u = 4
	acc := (&E{s: s, n: u}).zero()
	rowLoop{s: s, prefix: f.pre + "_dot", ptrs: []reg.GPVirtual{y, dy}, cols: f.cols, u: u}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, _ func(reg.VecVirtual, reg.GPVirtual, int), _ cond) {
			for j := 0; j < e.n; j++ {
				ctx.VFMADD231PS(load(dy, j), load(y, j), acc[j])
			}
		})
	d := s.reduce(vaddps, combine(vaddps, acc))

	ctx.Comment("pass 2: dx = scale·y·(dy - d)")
	rowLoop{s: s, prefix: f.pre + "_grad", ptrs: []reg.GPVirtual{dx, y, dy}, cols: f.cols, u: u}.run(
		func(e *E, load func(reg.GPVirtual, int) reg.VecVirtual, store func(reg.VecVirtual, reg.GPVirtual, int), _ cond) {
			dyv, yv := e.newV(), e.newV()
			for j := range dyv {
				dyv[j] = load(dy, j)
				yv[j] = load(y, j)
			}
			t := e.mul(e.mul(e.sub(dyv, splat(d, e.n)), yv), splat(f.scale, e.n))
			for j := range t {
				store(t[j], dx, j)
			}
		})

	f.nextRow(dx, y, dy)
	f.end()
}
