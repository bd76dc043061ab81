package main

import (
	"fmt"
	"math"

	"github.com/petl-go/petl/internal/gen/neon"
)

// rowPass emits a loop over one row of cols (in R7) elements in three
// stages: u vectors at a time, one vector, then one element at a time
// (replicated over a vector by VLD1R). step gets the block width and
// whether it is the scalar stage. ptrs are advanced by the loads and stores
// the step emits.
func rowPass(f *fn, label string, u int, step func(u int, scalar bool)) {
	f.Op("MOVD", "R4", "R7")
	f.Loop("R7", []neon.Stage{
		{Label: f.Ref(label + "_loop"), Step: 4 * u, Body: func() { step(u, false) }},
		{Label: f.Ref(label + "_single"), Step: 4, Body: func() { step(1, false) }},
		{Label: f.Ref(label + "_tail"), Step: 1, Body: func() { step(1, true) }},
	}, f.Ref(label+"_end"))
}

// rowHead starts the loop over rows (R3 counts them down), leaving for
// label done after the last.
func (f *fn) rowHead() {
	f.Place("row")
	f.Op("CBZ", "R3", f.Ref("done"))
}

// nextRow places label next, moves the row pointers ptrs on by one row of
// cols (R4) floats, counts the row and jumps back to the loop over rows,
// whose exit (label done) follows.
func (f *fn) nextRow(ptrs ...string) {
	f.Place("next")
	for _, p := range ptrs {
		f.Op("ADD", "R4<<2", p)
	}
	f.Op("SUB", "$1", "R3")
	f.Op("B", f.Ref("row"))
	f.Place("done")
}

// walk points the column pointers at the start of the row: dst from src
// for each pair.
func (f *fn) walk(pairs ...[2]string) {
	for _, p := range pairs {
		f.Op("MOVD", p[1], p[0])
	}
}

// zeros returns a value of the current width set to zero.
func (f *fn) zeros() V {
	v := f.newV()
	f.Zero(v.Width(), v)
	return v
}

// zero returns one register set to zero.
func (f *fn) zero() neon.V {
	r := f.alloc()
	f.Zero(neon.Vectors(1), neon.Vals{r})
	return r
}

// splat returns a value of u copies of the register r.
func splat(r neon.V, u int) V {
	v := make(V, u)
	for i := range v {
		v[i] = r
	}
	return v
}

// softmax is SoftmaxRows(Mask)NEON being emitted. Registers: R0 y, R1 x,
// R2 mask, R3 rows, R4 cols; R5, R6, R10 walk x, mask, y; R7 counts
// columns. scale, m, inv and tailSum are kept for the whole function.
type softmax struct {
	*fn
	masked                 bool
	scale, m, inv, tailSum neon.V
}

// genSoftmax emits SoftmaxRows(Mask)NEON: for each row, a max pass over
// z = scale·x (+ mask), an exp pass writing e = exp(z - max) to y and
// summing it, and a pass scaling y by 1/sum.
func genSoftmax(b *neon.Builder, name, sig string, masked bool) {
	sm := loadSoftmaxArgs(newFn(name, sig), masked)
	sm.rowHead()
	sm.maxPass()
	sum := sm.expPass()
	sm.scalePass(sum)
	sm.nextRow("R0", "R1")
	sm.WriteTo(b)
}

// loadSoftmaxArgs loads the arguments and allocates the registers kept for
// the whole function.
func loadSoftmaxArgs(f *fn, masked bool) *softmax {
	f.LoadArg("y", "R0")
	f.LoadArg("x", "R1")
	f.LoadArg("rows", "R3")
	f.LoadArg("cols", "R4")
	if masked {
		f.LoadArg("mask", "R2")
	}
	sm := &softmax{fn: f, masked: masked}
	sm.scale = f.alloc()
	sm.m = f.alloc()
	sm.inv = f.alloc()
	sm.tailSum = f.alloc()
	f.LoadArg("scale", sm.scale.F())
	return sm
}

// z returns the block of z = scale·x (+ mask) read through R5 (and R6).
func (sm *softmax) z(u int, scalar bool) V {
	x := load(sm.fn, "R5", u, scalar)
	var zv V
	if sm.masked {
		zv = load(sm.fn, "R6", u, scalar)
	} else {
		zv = sm.zeros()
	}
	for i := range zv {
		sm.FMLAElem(zv[i], x[i], sm.scale, 0)
	}
	sm.free(x)
	return zv
}

// maxPass emits pass 1: m = max over the row of z, at least -MaxFloat32,
// in every lane of sm.m.
func (sm *softmax) maxPass() {
	sm.Comment("pass 1: m = max over the row of z (FMAX propagates NaN)")
	const u1 = 4
	sm.n = u1
	acc := sm.constant(float32(math.Inf(-1)))
	sm.walk([2]string{"R5", "R1"}, [2]string{"R6", "R2"})
	rowPass(sm.fn, "max", u1, func(u int, scalar bool) {
		zv := sm.z(u, scalar)
		for i := range zv {
			sm.FMAX(acc[i], acc[i], zv[i])
		}
		sm.free(zv)
	})
	for i := 1; i < len(acc); i++ {
		sm.FMAX(acc[0], acc[0], acc[i])
	}
	sm.FMAXV(sm.m, acc[0])
	sm.free(acc)
	sm.Comment("a fully masked row has m = -Inf: use -MaxFloat32 so that every e is 0, not NaN")
	sm.n = 1
	lo := sm.constant(-math.MaxFloat32)
	sm.Dup(sm.m, sm.m, 0)
	sm.FMAX(sm.m, sm.m, lo[0])
	sm.free(lo)
}

// expPass emits pass 2, y = e^(z - m), and returns their sum (in lane 0 of
// its first register); a row whose sum is 0 (fully masked) goes on to label
// next.
func (sm *softmax) expPass() V {
	sm.Comment("pass 2: y = e^(z - m), sum += y")
	const u2 = 2
	sm.n = u2
	sum := sm.zeros()
	sm.Zero(neon.Vectors(1), neon.Vals{sm.tailSum})
	sm.walk([2]string{"R5", "R1"}, [2]string{"R6", "R2"}, [2]string{"R10", "R0"})
	rowPass(sm.fn, "exp", u2, func(u int, scalar bool) {
		zv := sm.z(u, scalar)
		d := sm.fsub(zv, splat(sm.m, u))
		sm.free(zv)
		e := sm.expFlush(d)
		sm.free(d)
		store(sm.fn, e, "R10", scalar)
		for i := range e {
			if scalar {
				sm.AddTo(sm.tailSum, e[i])
			} else {
				sm.FADD(sum[i], sum[i], e[i])
			}
		}
		sm.free(e)
	})
	sm.FADD(sum[0], sum[0], sum[1])
	sm.FADDP(sum[0], sum[0], sum[0])
	sm.FADDPScalar(sum[0], sum[0])
	sm.AddTo(sum[0], sm.tailSum)
	sm.Comment("a sum of 0 means every e was 0 (fully masked row): y is already all zeros")
	sm.CmpZero(sum[0])
	sm.Op("BEQ", sm.Ref("next"))
	return sum
}

// scalePass emits pass 3: y *= 1/sum, and frees sum.
func (sm *softmax) scalePass(sum V) {
	sm.Comment("pass 3: y *= 1/sum")
	sm.n = 1
	one := sm.constant(1)
	sm.Div(neon.Scalar, neon.Vals{sm.inv}, one, sum)
	sm.free(one, sum)
	sm.Op("MOVD", "R0", "R10")
	rowPass(sm.fn, "scale", 4, func(u int, scalar bool) {
		if scalar {
			sm.n = 1
			t := sm.newV()
			sm.LoadAt(neon.Scalar, "R10", t)
			sm.MulBy(t[0], sm.inv)
			sm.StoreFirst(t.Width(), t, "R10")
			sm.free(t)
			return
		}
		sm.n = u
		y := sm.newV()
		for _, d := range y {
			sm.LoadAt(neon.Vectors(1), "R10", neon.Vals{d})
			sm.FMULElem(d, d, sm.inv, 0)
			sm.Store(neon.Vectors(1), neon.Vals{d}, "R10")
		}
		sm.free(y)
	})
}

// genSoftmaxBackward emits SoftmaxRowsBackwardNEON. Registers: R0 dx, R1 y,
// R2 dy, R3 rows, R4 cols; R5, R6, R10 walk y, dy, dx; R7 counts columns.
func genSoftmaxBackward(b *neon.Builder, name, sig string) {
	f := newFn(name, sig)
	// registers kept for the whole function
	scale := f.alloc()
	d := f.alloc()
	for i, arg := range []string{"dx", "y", "dy", "rows", "cols"} {
		f.LoadArg(arg, fmt.Sprintf("R%d", i))
	}
	f.LoadArg("scale", scale.F())
	f.rowHead()
	f.Comment("pass 1: d = Σ dy·y")
	const u = 4
	f.n = u
	acc := f.zeros()
	tail := f.zero()
	f.walk([2]string{"R5", "R1"}, [2]string{"R6", "R2"})
	rowPass(f, "dot", u, func(n int, scalar bool) {
		yv := load(f, "R5", n, scalar)
		dv := load(f, "R6", n, scalar)
		if scalar {
			f.MulBy(dv[0], yv[0])
			f.AddTo(tail, dv[0])
		} else {
			f.fmaTo(acc[:n], yv, dv)
		}
		f.free(yv, dv)
	})
	for i := 1; i < u; i++ {
		f.FADD(acc[0], acc[0], acc[i])
	}
	f.FADDP(acc[0], acc[0], acc[0])
	f.FADDPScalar(d, acc[0])
	f.AddTo(d, tail)
	f.Dup(d, d, 0)
	f.free(acc)
	f.free(V{tail})

	f.Comment("pass 2: dx = scale·y·(dy - d)")
	f.walk([2]string{"R5", "R1"}, [2]string{"R6", "R2"}, [2]string{"R10", "R0"})
	rowPass(f, "grad", u, func(n int, scalar bool) {
		yv := load(f, "R5", n, scalar)
		dv := load(f, "R6", n, scalar)
		t := f.fsub(dv, splat(d, n))
		f.free(dv)
		t2 := f.fmul(t, yv)
		f.free(t, yv)
		for _, r := range t2 {
			f.FMULElem(r, r, scale, 0)
		}
		store(f, t2, "R10", scalar)
		f.free(t2)
	})
	f.nextRow("R0", "R1", "R2")
	f.WriteTo(b)
}
