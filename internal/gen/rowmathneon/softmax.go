package main

import (
	"fmt"
	"math"
)

// Encodings for the reductions and element forms used only here.
const (
	encFADDPs = 0x7E30D800 // FADDP Sd, Vn.2S
)

// rowPass emits a loop over one row of cols (in R7) elements in three
// stages: u vectors at a time, one vector, then one element at a time
// (replicated over a vector by VLD1R). step gets the block width and
// whether it is the scalar stage. ptrs are advanced by the loads and stores
// the step emits.
func rowPass(f *fn, label string, u int, step func(u int, scalar bool)) {
	f.ins("MOVD R4, R7")
	f.label(label + "_loop")
	f.ins("CMP $%d, R7", 4*u)
	f.ins("BLT %s", f.ref(label+"_single"))
	step(u, false)
	f.ins("SUB $%d, R7", 4*u)
	f.ins("B %s", f.ref(label+"_loop"))
	f.label(label + "_single")
	f.ins("CMP $4, R7")
	f.ins("BLT %s", f.ref(label+"_tail"))
	step(1, false)
	f.ins("SUB $4, R7")
	f.ins("B %s", f.ref(label+"_single"))
	f.label(label + "_tail")
	f.ins("CBZ R7, %s", f.ref(label+"_end"))
	step(1, true)
	f.ins("SUB $1, R7")
	f.ins("B %s", f.ref(label+"_tail"))
	f.label(label + "_end")
}

// load emits the loads of u vectors (or one replicated element) from the
// pointer register p into new registers.
func load(f *fn, p int, u int, scalar bool) V {
	f.n = u
	v := f.newV()
	for _, d := range v {
		if scalar {
			f.ins("VLD1R.P 4(R%d), [V%d.S4]", p, d)
		} else {
			f.ins("VLD1.P 16(R%d), [V%d.S4]", p, d)
		}
	}
	return v
}

// store emits the stores of v (or lane 0 of v[0]) through p.
func store(f *fn, v V, p int, scalar bool) {
	for _, d := range v {
		if scalar {
			f.ins("FMOVS F%d, (R%d)", d, p)
			f.ins("ADD $4, R%d", p)
		} else {
			f.ins("VST1.P [V%d.S4], 16(R%d)", d, p)
		}
	}
}

// keep allocates a register for the whole function.
func keep(f *fn) int { return f.alloc() }

// genSoftmax emits SoftmaxRows(Mask)NEON. Registers: R0 y, R1 x, R2 mask,
// R3 rows, R4 cols; R5, R6, R10 walk x, mask, y; R7 counts columns.
func genSoftmax(fl *file, name string, masked bool) {
	f := newFn(name)
	slices := []string{"y", "x"}
	if masked {
		slices = append(slices, "mask")
	}
	args, size := frame(slices, "rows", "cols", "scale")
	loads := []string{
		fmt.Sprintf("MOVD y_base+%d(FP), R0", args["y"].off),
		fmt.Sprintf("MOVD x_base+%d(FP), R1", args["x"].off),
		fmt.Sprintf("MOVD rows+%d(FP), R3", args["rows"].off),
		fmt.Sprintf("MOVD cols+%d(FP), R4", args["cols"].off),
	}
	if masked {
		loads = append(loads, fmt.Sprintf("MOVD mask_base+%d(FP), R2", args["mask"].off))
	}
	scale := keep(f)
	m := keep(f)
	inv := keep(f)
	tailSum := keep(f)
	loads = append(loads, fmt.Sprintf("FMOVS scale+%d(FP), F%d", args["scale"].off, scale))

	z := func(u int, scalar bool) V {
		x := load(f, 5, u, scalar)
		var zv V
		if masked {
			zv = load(f, 6, u, scalar)
		} else {
			zv = f.newV()
			for _, d := range zv {
				f.ins("VEOR V%d.B16, V%d.B16, V%d.B16", d, d, d)
			}
		}
		for i := range zv {
			f.word(encElem(encFMLAe, zv[i], x[i], scale, 0), "FMLA V%d.4S, V%d.4S, V%d.S[0]", zv[i], x[i], scale)
		}
		f.free(x)
		return zv
	}

	f.label("row")
	f.ins("CBZ R3, %s", f.ref("done"))
	f.comment("pass 1: m = max over the row of z (FMAX propagates NaN)")
	const u1 = 4
	f.n = u1
	acc := f.kf(float32(math.Inf(-1)))
	f.ins("MOVD R1, R5")
	f.ins("MOVD R2, R6")
	rowPass(f, "max", u1, func(u int, scalar bool) {
		zv := z(u, scalar)
		for i := range zv {
			f.word(enc3(encFMAX, acc[i], acc[i], zv[i]), "FMAX V%d.4S, V%d.4S, V%d.4S", acc[i], acc[i], zv[i])
		}
		f.free(zv)
	})
	for i := 1; i < len(acc); i++ {
		f.word(enc3(encFMAX, acc[0], acc[0], acc[i]), "FMAX V%d.4S, V%d.4S, V%d.4S", acc[0], acc[0], acc[i])
	}
	f.word(encFMAXV|uint32(acc[0])<<5|uint32(m), "FMAXV S%d, V%d.4S", m, acc[0])
	f.free(acc)
	f.comment("a fully masked row has m = -Inf: use -MaxFloat32 so that every e is 0, not NaN")
	f.n = 1
	lo := f.kf(-math.MaxFloat32)
	f.ins("VDUP V%d.S[0], V%d.S4", m, m)
	f.word(enc3(encFMAX, m, m, lo[0]), "FMAX V%d.4S, V%d.4S, V%d.4S", m, m, lo[0])
	f.free(lo)

	f.comment("pass 2: y = e^(z - m), sum += y")
	const u2 = 2
	f.n = u2
	sum := f.newV()
	for _, d := range sum {
		f.ins("VEOR V%d.B16, V%d.B16, V%d.B16", d, d, d)
	}
	f.ins("VEOR V%d.B16, V%d.B16, V%d.B16", tailSum, tailSum, tailSum)
	f.ins("MOVD R1, R5")
	f.ins("MOVD R2, R6")
	f.ins("MOVD R0, R10")
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
		store(f, e, 10, scalar)
		for i := range e {
			if scalar {
				f.ins("FADDS F%d, F%d", e[i], tailSum)
			} else {
				f.word(enc3(encFADD, sum[i], sum[i], e[i]), "FADD V%d.4S, V%d.4S, V%d.4S", sum[i], sum[i], e[i])
			}
		}
		f.free(e)
	})
	f.word(enc3(encFADD, sum[0], sum[0], sum[1]), "FADD V%d.4S, V%d.4S, V%d.4S", sum[0], sum[0], sum[1])
	f.word(enc3(encFADDP, sum[0], sum[0], sum[0]), "FADDP V%d.4S, V%d.4S, V%d.4S", sum[0], sum[0], sum[0])
	f.word(encFADDPs|uint32(sum[0])<<5|uint32(sum[0]), "FADDP S%d, V%d.2S", sum[0], sum[0])
	f.ins("FADDS F%d, F%d", tailSum, sum[0])
	f.comment("a sum of 0 means every e was 0 (fully masked row): y is already all zeros")
	f.ins("FCMPS $(0.0), F%d", sum[0])
	f.ins("BEQ %s", f.ref("next"))
	f.comment("pass 3: y *= 1/sum")
	f.n = 1
	one := f.kf(1)
	f.ins("FDIVS F%d, F%d, F%d", sum[0], one[0], inv)
	f.free(one, sum)
	f.ins("MOVD R0, R10")
	rowPass(f, "scale", 4, func(u int, scalar bool) {
		if scalar {
			f.n = 1
			t := f.newV()
			f.ins("FMOVS (R10), F%d", t[0])
			f.ins("FMULS F%d, F%d", inv, t[0])
			f.ins("FMOVS F%d, (R10)", t[0])
			f.ins("ADD $4, R10")
			f.free(t)
			return
		}
		f.n = u
		y := f.newV()
		for _, d := range y {
			f.ins("VLD1 (R10), [V%d.S4]", d)
			f.word(encElem(encFMULe, d, d, inv, 0), "FMUL V%d.4S, V%d.4S, V%d.S[0]", d, d, inv)
			f.ins("VST1.P [V%d.S4], 16(R10)", d)
		}
		f.free(y)
	})

	f.label("next")
	f.ins("ADD R4<<2, R0")
	f.ins("ADD R4<<2, R1")
	f.ins("SUB $1, R3")
	f.ins("B %s", f.ref("row"))
	f.label("done")
	fl.emit(f, fmt.Sprintf("$0-%d", size), loads)
}

// genSoftmaxBackward emits SoftmaxRowsBackwardNEON. Registers: R0 dx, R1 y,
// R2 dy, R3 rows, R4 cols; R5, R6, R10 walk y, dy, dx; R7 counts columns.
func genSoftmaxBackward(fl *file) {
	f := newFn("SoftmaxRowsBackwardNEON")
	args, size := frame([]string{"dx", "y", "dy"}, "rows", "cols", "scale")
	scale := keep(f)
	d := keep(f)
	loads := []string{
		fmt.Sprintf("MOVD dx_base+%d(FP), R0", args["dx"].off),
		fmt.Sprintf("MOVD y_base+%d(FP), R1", args["y"].off),
		fmt.Sprintf("MOVD dy_base+%d(FP), R2", args["dy"].off),
		fmt.Sprintf("MOVD rows+%d(FP), R3", args["rows"].off),
		fmt.Sprintf("MOVD cols+%d(FP), R4", args["cols"].off),
		fmt.Sprintf("FMOVS scale+%d(FP), F%d", args["scale"].off, scale),
	}
	f.label("row")
	f.ins("CBZ R3, %s", f.ref("done"))
	f.comment("pass 1: d = Σ dy·y")
	const u = 4
	f.n = u
	acc := f.newV()
	for _, r := range acc {
		f.ins("VEOR V%d.B16, V%d.B16, V%d.B16", r, r, r)
	}
	tail := keep(f)
	f.ins("VEOR V%d.B16, V%d.B16, V%d.B16", tail, tail, tail)
	f.ins("MOVD R1, R5")
	f.ins("MOVD R2, R6")
	rowPass(f, "dot", u, func(n int, scalar bool) {
		yv := load(f, 5, n, scalar)
		dv := load(f, 6, n, scalar)
		if scalar {
			f.ins("FMULS F%d, F%d", yv[0], dv[0])
			f.ins("FADDS F%d, F%d", dv[0], tail)
		} else {
			f.fmaTo(acc[:n], yv, dv)
		}
		f.free(yv, dv)
	})
	for i := 1; i < u; i++ {
		f.word(enc3(encFADD, acc[0], acc[0], acc[i]), "FADD V%d.4S, V%d.4S, V%d.4S", acc[0], acc[0], acc[i])
	}
	f.word(enc3(encFADDP, acc[0], acc[0], acc[0]), "FADDP V%d.4S, V%d.4S, V%d.4S", acc[0], acc[0], acc[0])
	f.word(encFADDPs|uint32(acc[0])<<5|uint32(d), "FADDP S%d, V%d.2S", d, acc[0])
	f.ins("FADDS F%d, F%d", tail, d)
	f.ins("VDUP V%d.S[0], V%d.S4", d, d)
	f.free(acc)
	f.used[tail] = false

	f.comment("pass 2: dx = scale·y·(dy - d)")
	f.ins("MOVD R1, R5")
	f.ins("MOVD R2, R6")
	f.ins("MOVD R0, R10")
	rowPass(f, "grad", u, func(n int, scalar bool) {
		yv := load(f, 5, n, scalar)
		dv := load(f, 6, n, scalar)
		dd := make(V, n)
		for i := range dd {
			dd[i] = d
		}
		t := f.fsub(dv, dd)
		f.free(dv)
		t2 := f.fmul(t, yv)
		f.free(t, yv)
		for _, r := range t2 {
			f.word(encElem(encFMULe, r, r, scale, 0), "FMUL V%d.4S, V%d.4S, V%d.S[0]", r, r, scale)
		}
		store(f, t2, 10, scalar)
		f.free(t2)
	})
	f.label("next")
	f.ins("ADD R4<<2, R0")
	f.ins("ADD R4<<2, R1")
	f.ins("ADD R4<<2, R2")
	f.ins("SUB $1, R3")
	f.ins("B %s", f.ref("row"))
	f.label("done")
	fl.emit(f, fmt.Sprintf("$0-%d", size), loads)
}
