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
	f.Inst("MOVD R4, R7")
	f.Loop("R7", []neon.Stage{
		{Label: f.Ref(label + "_loop"), Step: 4 * u, Body: func() { step(u, false) }},
		{Label: f.Ref(label + "_single"), Step: 4, Body: func() { step(1, false) }},
		{Label: f.Ref(label + "_tail"), Step: 1, Body: func() { step(1, true) }},
	}, f.Ref(label+"_end"))
}

// genSoftmax emits SoftmaxRows(Mask)NEON. Registers: R0 y, R1 x, R2 mask,
// R3 rows, R4 cols; R5, R6, R10 walk x, mask, y; R7 counts columns.
func genSoftmax(b *neon.Builder, name, sig string, masked bool) {
	f := newFn(name, sig)
	f.LoadArg("y", "R0")
	f.LoadArg("x", "R1")
	f.LoadArg("rows", "R3")
	f.LoadArg("cols", "R4")
	if masked {
		f.LoadArg("mask", "R2")
	}
	// registers kept for the whole function
	scale := f.alloc()
	m := f.alloc()
	inv := f.alloc()
	tailSum := f.alloc()
	f.LoadArg("scale", scale.F())

	z := func(u int, scalar bool) V {
		x := load(f, "R5", u, scalar)
		var zv V
		if masked {
			zv = load(f, "R6", u, scalar)
		} else {
			zv = f.newV()
			for _, d := range zv {
				f.Inst("VEOR V%d.B16, V%d.B16, V%d.B16", d, d, d)
			}
		}
		for i := range zv {
			f.FMLAElem(zv[i], x[i], scale, 0)
		}
		f.free(x)
		return zv
	}

	f.Place("row")
	f.Inst("CBZ R3, %s", f.Ref("done"))
	f.Comment("pass 1: m = max over the row of z (FMAX propagates NaN)")
	const u1 = 4
	f.n = u1
	acc := f.constant(float32(math.Inf(-1)))
	f.Inst("MOVD R1, R5")
	f.Inst("MOVD R2, R6")
	rowPass(f, "max", u1, func(u int, scalar bool) {
		zv := z(u, scalar)
		for i := range zv {
			f.FMAX(acc[i], acc[i], zv[i])
		}
		f.free(zv)
	})
	for i := 1; i < len(acc); i++ {
		f.FMAX(acc[0], acc[0], acc[i])
	}
	f.FMAXV(m, acc[0])
	f.free(acc)
	f.Comment("a fully masked row has m = -Inf: use -MaxFloat32 so that every e is 0, not NaN")
	f.n = 1
	lo := f.constant(-math.MaxFloat32)
	f.Inst("VDUP V%d.S[0], V%d.S4", m, m)
	f.FMAX(m, m, lo[0])
	f.free(lo)

	f.Comment("pass 2: y = e^(z - m), sum += y")
	const u2 = 2
	f.n = u2
	sum := f.newV()
	for _, d := range sum {
		f.Inst("VEOR V%d.B16, V%d.B16, V%d.B16", d, d, d)
	}
	f.Inst("VEOR V%d.B16, V%d.B16, V%d.B16", tailSum, tailSum, tailSum)
	f.Inst("MOVD R1, R5")
	f.Inst("MOVD R2, R6")
	f.Inst("MOVD R0, R10")
	rowPass(f, "exp", u2, func(u int, scalar bool) {
		zv := z(u, scalar)
		mv := make(V, u)
		for i := range mv {
			mv[i] = m
		}
		d := f.fsub(zv, mv)
		f.free(zv)
		e := f.expFlush(d)
		f.free(d)
		store(f, e, "R10", scalar)
		for i := range e {
			if scalar {
				f.Inst("FADDS F%d, F%d", e[i], tailSum)
			} else {
				f.FADD(sum[i], sum[i], e[i])
			}
		}
		f.free(e)
	})
	f.FADD(sum[0], sum[0], sum[1])
	f.FADDP(sum[0], sum[0], sum[0])
	f.FADDPScalar(sum[0], sum[0])
	f.Inst("FADDS F%d, F%d", tailSum, sum[0])
	f.Comment("a sum of 0 means every e was 0 (fully masked row): y is already all zeros")
	f.Inst("FCMPS $(0.0), F%d", sum[0])
	f.Inst("BEQ %s", f.Ref("next"))
	f.Comment("pass 3: y *= 1/sum")
	f.n = 1
	one := f.constant(1)
	f.Inst("FDIVS F%d, F%d, F%d", sum[0], one[0], inv)
	f.free(one, sum)
	f.Inst("MOVD R0, R10")
	rowPass(f, "scale", 4, func(u int, scalar bool) {
		if scalar {
			f.n = 1
			t := f.newV()
			f.Inst("FMOVS (R10), F%d", t[0])
			f.Inst("FMULS F%d, F%d", inv, t[0])
			f.Inst("FMOVS F%d, (R10)", t[0])
			f.Inst("ADD $4, R10")
			f.free(t)
			return
		}
		f.n = u
		y := f.newV()
		for _, d := range y {
			f.Inst("VLD1 (R10), [V%d.S4]", d)
			f.FMULElem(d, d, inv, 0)
			f.Inst("VST1.P [V%d.S4], 16(R10)", d)
		}
		f.free(y)
	})

	f.Place("next")
	f.Inst("ADD R4<<2, R0")
	f.Inst("ADD R4<<2, R1")
	f.Inst("SUB $1, R3")
	f.Inst("B %s", f.Ref("row"))
	f.Place("done")
	f.WriteTo(b)
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
	f.Place("row")
	f.Inst("CBZ R3, %s", f.Ref("done"))
	f.Comment("pass 1: d = Σ dy·y")
	const u = 4
	f.n = u
	acc := f.newV()
	for _, r := range acc {
		f.Inst("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
	}
	tail := f.alloc()
	f.Inst("VEOR V%d.B16, V%d.B16, V%d.B16", tail, tail, tail)
	f.Inst("MOVD R1, R5")
	f.Inst("MOVD R2, R6")
	rowPass(f, "dot", u, func(n int, scalar bool) {
		yv := load(f, "R5", n, scalar)
		dv := load(f, "R6", n, scalar)
		if scalar {
			f.Inst("FMULS F%d, F%d", yv[0], dv[0])
			f.Inst("FADDS F%d, F%d", dv[0], tail)
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
	f.Inst("FADDS F%d, F%d", tail, d)
	f.Inst("VDUP V%d.S[0], V%d.S4", d, d)
	f.free(acc)
	f.free(V{tail})

	f.Comment("pass 2: dx = scale·y·(dy - d)")
	f.Inst("MOVD R1, R5")
	f.Inst("MOVD R2, R6")
	f.Inst("MOVD R0, R10")
	rowPass(f, "grad", u, func(n int, scalar bool) {
		yv := load(f, "R5", n, scalar)
		dv := load(f, "R6", n, scalar)
		dd := make(V, n)
		for i := range dd {
			dd[i] = d
		}
		t := f.fsub(dv, dd)
		f.free(dv)
		t2 := f.fmul(t, yv)
		f.free(t, yv)
		for _, r := range t2 {
			f.FMULElem(r, r, scale, 0)
		}
		store(f, t2, "R10", scalar)
		f.free(t2)
	})
	f.Place("next")
	f.Inst("ADD R4<<2, R0")
	f.Inst("ADD R4<<2, R1")
	f.Inst("ADD R4<<2, R2")
	f.Inst("SUB $1, R3")
	f.Inst("B %s", f.Ref("row"))
	f.Place("done")
	f.WriteTo(b)
}
