package main

import "github.com/petl-go/petl/internal/gen/neon"

// emitAll emits every row kernel.
func emitAll(f *file) {
	emitAdd(f)
	emitAxpy(f)
	emitScale(f)
	emitDot(f)
	emitSum(f)
	emitMax(f)
	emitAddBias(f)
	emitBiasGrad(f)
	emitLayerNorm(f, false)
	emitLayerNorm(f, true)
	emitLayerNormBackward(f, true)
	emitLayerNormBackward(f, false)
	emitLayerNormParamGrad(f, true)
	emitLayerNormParamGrad(f, false)
	emitAdamW(f)
}

// sl, ints and floats return []float32, int and float32 arguments.
func sl(names ...string) []neon.Arg     { return neon.Args(neon.Float32s, names...) }
func ints(names ...string) []neon.Arg   { return neon.Args(neon.Int, names...) }
func floats(names ...string) []neon.Arg { return neon.Args(neon.Float32, names...) }

func emitAdd(f *file) {
	fn(f, "Add", sl("dst", "a", "b"), false, []string{
		"computes, for i < len(a) (dst and b at least as long):",
		"",
		"\tfor i := range a {",
		"\t\tdst[i] = a[i] + b[i]",
		"\t}"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("dst"), "R0")
		f.Op("MOVD", k.Base("a"), "R1")
		f.Op("MOVD", k.Base("b"), "R2")
		f.Comment("dst[i] = a[i] + b[i]")
		f.loop("add", "R3", k.Len("a"), func(kd neon.Width) {
			f.Load(kd, "R1", neon.Group(0))
			f.Load(kd, "R2", neon.Group(4))
			f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
			f.Store(kd, neon.Group(0), "R0")
		}, nil)
	})
}

func emitAxpy(f *file) {
	fn(f, "Axpy", append(floats("alpha"), sl("x", "y")...), false, []string{
		"computes, for i < len(x) (y at least as long), with the",
		"product rounded before the sum (no fused multiply-add):",
		"",
		"\tfor i := range x {",
		"\t\ty[i] += float32(alpha * x[i])",
		"\t}"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Op("MOVD", k.Base("y"), "R1")
		f.Op("MOVD", "R1", "R2")
		f.LoadBcast(31, k.Arg("alpha"))
		f.Comment("y[i] = y[i] + alpha*x[i] (R1 reads y, R2 writes it)")
		f.loop("axpy", "R3", k.Len("x"), func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Load(kd, "R1", neon.Group(4))
			f.Mul(kd, neon.Group(0), neon.Group(0), neon.Bcast(31))
			f.Add(kd, neon.Group(0), neon.Group(4), neon.Group(0))
			f.Store(kd, neon.Group(0), "R2")
		}, nil)
	})
}

func emitScale(f *file) {
	fn(f, "Scale", append(floats("alpha"), sl("x")...), false, []string{
		"computes",
		"",
		"\tfor i := range x {",
		"\t\tx[i] *= alpha",
		"\t}"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Op("MOVD", "R0", "R1")
		f.LoadBcast(31, k.Arg("alpha"))
		f.Comment("x[i] = x[i] * alpha (R0 reads x, R1 writes it)")
		f.loop("scale", "R2", k.Len("x"), func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Mul(kd, neon.Group(0), neon.Group(0), neon.Bcast(31))
			f.Store(kd, neon.Group(0), "R1")
		}, nil)
	})
}

func emitDot(f *file) {
	fn(f, "Dot", sl("x", "y"), true, []string{
		"returns Σ x[i]*y[i] over i < len(x) (y at least as",
		"long), summed in float32 with fused multiply-adds into 4 vector accumulators",
		"(accumulator a takes vector a of each block of 4), then single vectors",
		"into the first, combined pairwise, then the tail in order:",
		"",
		"\tvar s float32",
		"\tfor i := range x {",
		"\t\ts += x[i] * y[i]",
		"\t}",
		"\treturn s"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Op("MOVD", k.Base("y"), "R1")
		f.Zero(neon.Vectors(4), neon.Group(16))
		f.Comment("acc[j] += x[i] * y[i]")
		f.loop("dot", "R2", k.Len("x"), func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Load(kd, "R1", neon.Group(4))
			f.MulAdd(kd, neon.Group(16), neon.Group(0), neon.Group(4))
		}, func() {
			f.Comment("s := (acc0+acc1) + (acc2+acc3), summed across lanes")
			f.FoldAdd(16)
		})
		f.Op("FMOVS", "F16", k.Ret())
	})
}

func emitSum(f *file) {
	fn(f, "Sum", sl("x"), true, []string{
		"returns Σ x[i], summed in float32 into 4 vector",
		"accumulators, combined pairwise, then the tail in order:",
		"",
		"\tvar s float32",
		"\tfor _, v := range x {",
		"\t\ts += v",
		"\t}",
		"\treturn s"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Zero(neon.Vectors(4), neon.Group(16))
		f.Comment("acc[j] += x[i]")
		f.loop("sum", "R1", k.Len("x"), func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Add(kd, neon.Group(16), neon.Group(16), neon.Group(0))
		}, func() {
			f.Comment("s := (acc0+acc1) + (acc2+acc3), summed across lanes")
			f.FoldAdd(16)
		})
		f.Op("FMOVS", "F16", k.Ret())
	})
}

func emitMax(f *file) {
	fn(f, "Max", sl("x"), true, []string{
		"returns the largest x[i]: -Inf when x is empty,",
		"NaN when any x[i] is NaN (FMAX propagates NaN):",
		"",
		"\tm := float32(math.Inf(-1))",
		"\tfor _, v := range x {",
		"\t\tif v != v {",
		"\t\t\treturn v",
		"\t\t}",
		"\t\tm = max(m, v)",
		"\t}",
		"\treturn m"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Comment("acc[j] = -Inf")
		f.Constant(16, 0xff800000, "R2")
		for j := 17; j < 20; j++ {
			f.Move(vec1, neon.Group(j), neon.Group(16))
		}
		f.Comment("acc[j] = max(acc[j], x[i])")
		f.loop("max", "R1", k.Len("x"), func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Max(kd, neon.Group(16), neon.Group(16), neon.Group(0))
		}, func() {
			f.Comment("m := max over the accumulators' lanes")
			f.Max(vec1, neon.Group(16), neon.Group(16), neon.Group(17))
			f.Max(vec1, neon.Group(18), neon.Group(18), neon.Group(19))
			f.Max(vec1, neon.Group(16), neon.Group(16), neon.Group(18))
			f.FMAXV(16, 16)
		})
		f.Op("FMOVS", "F16", k.Ret())
	})
}

func emitAddBias(f *file) {
	fn(f, "AddBias", append(sl("x", "bias"), ints("rows", "cols")...), false, []string{
		"adds bias to each of rows rows of x, in place:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\tx[r*cols+c] += bias[c]",
		"\t\t}",
		"\t}"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Op("MOVD", "R0", "R1")
		f.Op("MOVD", k.Base("bias"), "R2")
		f.Op("MOVD", k.Arg("rows"), "R4")
		f.Op("MOVD", k.Arg("cols"), "R6")
		f.Label("row")
		f.Note("for ; rows > 0; rows-- (R0 reads x, R1 writes it, both run on across rows)")
		f.Op("CBZ", "R4", "ret")
		f.Op("MOVD", "R2", "R3")
		f.Comment("x[c] += bias[c]")
		f.loop("bias", "R5", "R6", func(kd neon.Width) {
			f.Load(kd, "R0", neon.Group(0))
			f.Load(kd, "R3", neon.Group(4))
			f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
			f.Store(kd, neon.Group(0), "R1")
		}, nil)
		f.Op("SUB", "$1", "R4")
		f.Op("B", "row")
	})
}

func emitBiasGrad(f *file) {
	fn(f, "BiasGrad", append(sl("db", "dy"), ints("rows", "cols", "ld")...), false, []string{
		"accumulates the column sums of the rows x cols block",
		"of dy with row stride ld into db, adding the rows in order (so the result",
		"is that of the plain loop, bit for bit):",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\tdb[c] += dy[r*ld+c]",
		"\t\t}",
		"\t}"}, func(k neon.Frame) {
		f.Op("MOVD", k.Base("db"), "R0")
		f.Op("MOVD", k.Base("dy"), "R1")
		f.Op("MOVD", k.Arg("rows"), "R2")
		f.Op("MOVD", k.Arg("ld"), "R3")
		f.Op("MOVD", k.Arg("cols"), "R11")
		f.Op("LSL", "$2", "R3", "R3")
		f.Op("LSL", "$2", "R3", "R12")
		q := []string{"R4", "R5", "R6", "R7"}

		f.Label("rows4")
		f.Note("for ; rows >= 4; rows -= 4, dy = dy[4*ld:]")
		f.Op("CMP", "$4", "R2")
		f.Op("BLT", "rows1")
		f.Op("MOVD", "R1", "R4")
		for j := 1; j < 4; j++ {
			f.Op("ADD", "R3", q[j-1], q[j])
		}
		f.Op("MOVD", "R0", "R8")
		f.Op("MOVD", "R0", "R9")
		f.Comment("db[c] = (((db[c] + dy[c]) + dy[ld+c]) + dy[2*ld+c]) + dy[3*ld+c] (R8 reads db, R9 writes it)")
		f.loop("four", "R10", "R11", func(kd neon.Width) {
			f.Load(kd, "R8", neon.Group(0))
			for _, p := range q {
				f.Load(kd, p, neon.Group(4))
				f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
			}
			f.Store(kd, neon.Group(0), "R9")
		}, nil)
		f.Op("ADD", "R12", "R1", "R1")
		f.Op("SUB", "$4", "R2")
		f.Op("B", "rows4")

		f.Label("rows1")
		f.Note("for ; rows > 0; rows--, dy = dy[ld:]")
		f.Op("CBZ", "R2", "ret")
		f.Op("MOVD", "R1", "R4")
		f.Op("MOVD", "R0", "R8")
		f.Op("MOVD", "R0", "R9")
		f.Comment("db[c] += dy[c]")
		f.loop("one", "R10", "R11", func(kd neon.Width) {
			f.Load(kd, "R8", neon.Group(0))
			f.Load(kd, "R4", neon.Group(4))
			f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
			f.Store(kd, neon.Group(0), "R9")
		}, nil)
		f.Op("ADD", "R3", "R1", "R1")
		f.Op("SUB", "$1", "R2")
		f.Op("B", "rows1")
	})
}

// lnForwardDoc is the doc comment body of LayerNormNEON and
// AddLayerNormNEON (z is the row being normalised).
func lnForwardDoc(k string) []string {
	return []string{
		"\t\tK := " + k,
		"\t\tvar d float32",
		"\t\tfor c := range z {",
		"\t\t\td += z[c] - K",
		"\t\t}",
		"\t\tμ := K + d/float32(cols)",
		"\t\tvar q float32",
		"\t\tfor c := range z {",
		"\t\t\tq += (z[c] - μ) * (z[c] - μ)",
		"\t\t}",
		"\t\tρ := 1 / sqrt(q/float32(cols) + eps)",
		"\t\tfor c := range z {",
		"\t\t\to[c] = (z[c]-μ)*ρ*gamma[c] + beta[c]",
		"\t\t}",
		"\t\tmean[r], rstd[r] = μ, ρ",
		"\t}",
		"",
		"with the sums in 4 vector accumulators as in SumNEON and fused multiply-adds.",
	}
}

// emitLayerNorm emits LayerNormNEON, or with fused AddLayerNormNEON (the
// residual sum a+b is formed, stored and normalised in one pass over a row).
func emitLayerNorm(f *file, fused bool) {
	name := "LayerNorm"
	ps := sl("y", "mean", "rstd", "x", "gamma", "beta")
	doc := []string{
		"layer-normalises each of rows rows of x of width",
		"cols >= 1; mean and rstd may be nil (not stored). Statistics are taken",
		"about K = x[r*cols] so that a constant row has exactly μ = K and σ² = 0:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tz, o := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]",
	}
	doc = append(doc, lnForwardDoc("z[0]")...)
	if fused {
		name = "AddLayerNorm"
		ps = sl("y", "sum", "mean", "rstd", "a", "b", "gamma", "beta")
		doc = []string{
			"forms sum = a + b and layer-normalises it, for each",
			"of rows rows of width cols >= 1; mean and rstd may be nil (not stored).",
			"Statistics are taken about K = sum[r*cols] so that a constant row has",
			"exactly μ = K and σ² = 0:",
			"",
			"\tfor r := 0; r < rows; r++ {",
			"\t\ts, t := a[r*cols:(r+1)*cols], b[r*cols:(r+1)*cols]",
			"\t\tz, o := sum[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]",
			"\t\tfor c := range z {",
			"\t\t\tz[c] = s[c] + t[c]",
			"\t\t}",
		}
		doc = append(doc, lnForwardDoc("z[0]")...)
	}
	ps = append(append(ps, ints("rows", "cols")...), floats("eps")...)
	fn(f, name, ps, false, doc, func(k neon.Frame) {
		// R0 y, R1 x (or sum), R2 a, R3 b: the current row. R4 mean, R5
		// rstd, R6 gamma, R7 beta, R8 rows, R9 cols, R10 r, R11 row bytes.
		// R12-R16 walk a row, R17 counts. V24 K, V25 μ, V26 ρ, F27 cols,
		// F28 1, F29 eps; V16-V19 accumulate.
		f.Op("MOVD", k.Base("y"), "R0")
		if fused {
			f.Op("MOVD", k.Base("sum"), "R1")
			f.Op("MOVD", k.Base("a"), "R2")
			f.Op("MOVD", k.Base("b"), "R3")
		} else {
			f.Op("MOVD", k.Base("x"), "R1")
		}
		f.Op("MOVD", k.Base("mean"), "R4")
		f.Op("MOVD", k.Base("rstd"), "R5")
		f.Op("MOVD", k.Base("gamma"), "R6")
		f.Op("MOVD", k.Base("beta"), "R7")
		f.Op("MOVD", k.Arg("rows"), "R8")
		f.Op("MOVD", k.Arg("cols"), "R9")
		f.Comment("if cols == 0 { return }; nf := float32(cols); one := float32(1)")
		f.Op("CBZ", "R9", "ret")
		f.Op("SCVTFS", "R9", "F27")
		f.Op("MOVW", "$0x3f800000", "R12")
		f.Op("FMOVS", "R12", "F28")
		f.Op("FMOVS", k.Arg("eps"), "F29")
		f.Op("LSL", "$2", "R9", "R11")
		f.Op("MOVD", "ZR", "R10")

		f.Label("row")
		f.Note("for r := 0; r < rows; r++")
		f.Op("CMP", "R8", "R10")
		f.Op("BGE", "ret")
		if fused {
			f.Comment("K := a[0] + b[0]")
			f.Op("FMOVS", "(R2)", "F24")
			f.Op("FMOVS", "(R3)", "F0")
			f.Op("FADDS", "F0", "F24", "F24")
			f.Dup(24, 24, 0)
		} else {
			f.Comment("K := x[0]")
			f.LoadBcast(24, "(R1)")
		}
		f.Zero(neon.Vectors(4), neon.Group(16))
		if fused {
			f.Op("MOVD", "R2", "R12")
			f.Op("MOVD", "R3", "R13")
			f.Op("MOVD", "R1", "R14")
			f.Comment("sum[c] = a[c] + b[c]; acc[j] += sum[c] - K")
		} else {
			f.Op("MOVD", "R1", "R12")
			f.Comment("acc[j] += x[c] - K")
		}
		f.loop("mean", "R17", "R9", func(kd neon.Width) {
			f.Load(kd, "R12", neon.Group(0))
			if fused {
				f.Load(kd, "R13", neon.Group(4))
				f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
				f.Store(kd, neon.Group(0), "R14")
			}
			f.Sub(kd, neon.Group(0), neon.Group(0), neon.Bcast(24))
			f.Add(kd, neon.Group(16), neon.Group(16), neon.Group(0))
		}, func() {
			f.Comment("d := (acc0+acc1) + (acc2+acc3), summed across lanes")
			f.FoldAdd(16)
		})
		f.Comment("μ := K + d/nf; if mean != nil { mean[r] = μ }")
		f.Op("FDIVS", "F27", "F16", "F25")
		f.Op("FADDS", "F24", "F25", "F25")
		f.Op("CBZ", "R4", "nomean")
		f.Op("FMOVS", "F25", "(R4)(R10<<2)")
		f.Label("nomean")
		f.Dup(25, 25, 0)

		f.Zero(neon.Vectors(4), neon.Group(16))
		f.Op("MOVD", "R1", "R12")
		f.Comment("t := z[c] - μ; acc[j] += t*t")
		f.loop("var", "R17", "R9", func(kd neon.Width) {
			f.Load(kd, "R12", neon.Group(0))
			f.Sub(kd, neon.Group(0), neon.Group(0), neon.Bcast(25))
			f.MulAdd(kd, neon.Group(16), neon.Group(0), neon.Group(0))
		}, func() {
			f.Comment("q := (acc0+acc1) + (acc2+acc3), summed across lanes")
			f.FoldAdd(16)
		})
		f.Comment("ρ := 1 / sqrt(q/nf + eps); if rstd != nil { rstd[r] = ρ }")
		f.Op("FDIVS", "F27", "F16", "F16")
		f.Op("FADDS", "F29", "F16", "F16")
		f.Op("FSQRTS", "F16", "F16")
		f.Op("FDIVS", "F16", "F28", "F26")
		f.Op("CBZ", "R5", "norstd")
		f.Op("FMOVS", "F26", "(R5)(R10<<2)")
		f.Label("norstd")
		f.Dup(26, 26, 0)

		f.Op("MOVD", "R1", "R12")
		f.Op("MOVD", "R0", "R13")
		f.Op("MOVD", "R6", "R15")
		f.Op("MOVD", "R7", "R16")
		f.Comment("y[c] = beta[c] + ((z[c] - μ) * ρ) * gamma[c] (one rounding for the last two)")
		f.loop("norm", "R17", "R9", func(kd neon.Width) {
			f.Load(kd, "R12", neon.Group(0))
			f.Sub(kd, neon.Group(0), neon.Group(0), neon.Bcast(25))
			f.Mul(kd, neon.Group(0), neon.Group(0), neon.Bcast(26))
			f.Load(kd, "R15", neon.Group(4))
			f.Load(kd, "R16", neon.Group(8))
			f.MulAdd(kd, neon.Group(8), neon.Group(0), neon.Group(4))
			f.Store(kd, neon.Group(8), "R13")
		}, nil)
		for _, p := range []string{"R0", "R1"} {
			f.Op("ADD", "R11", p, p)
		}
		if fused {
			f.Op("ADD", "R11", "R2", "R2")
			f.Op("ADD", "R11", "R3", "R3")
		}
		f.Op("ADD", "$1", "R10", "R10")
		f.Op("B", "row")
	})
}

// emitLayerNormBackward emits LayerNormBackwardNEON (dx, dgamma and dbeta
// in one pass) or, without params, LayerNormBackwardDXNEON (dx only).
func emitLayerNormBackward(f *file, params bool) {
	body := []string{
		"\tfor r := 0; r < rows; r++ {",
		"\t\tμ, ρ := mean[r], rstd[r]",
		"\t\tvar sg, sgx float32",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*cols+c] - μ) * ρ",
		"\t\t\tg := dy[r*cols+c] * gamma[c]",
		"\t\t\tsg += g",
		"\t\t\tsgx += g * xh",
	}
	if params {
		body = append(body,
			"\t\t\tdgamma[c] += dy[r*cols+c] * xh",
			"\t\t\tdbeta[c] += dy[r*cols+c]")
	}
	body = append(body,
		"\t\t}",
		"\t\tB, C := ρ*(sg/float32(cols)), ρ*(sgx/float32(cols))",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*cols+c] - μ) * ρ",
		"\t\t\tg := dy[r*cols+c] * gamma[c]",
		"\t\t\tdx[r*cols+c] += g*ρ - (C*xh + B)",
		"\t\t}",
		"\t}",
		"",
		"with sg and sgx summed in 4 vector accumulators each and fused multiply-adds.")
	name := "LayerNormBackwardDX"
	ps := sl("dx", "dy", "x", "mean", "rstd", "gamma")
	doc := append([]string{"accumulates the layer-norm input gradient dx of rows",
		"rows of width cols (LayerNormBackwardNEON without dgamma and dbeta):", ""}, body...)
	if params {
		name = "LayerNormBackward"
		ps = sl("dx", "dgamma", "dbeta", "dy", "x", "mean", "rstd", "gamma")
		doc = append([]string{"accumulates the layer-norm gradients dx, dgamma",
			"and dbeta of rows rows of width cols, in one pass over each row",
			"(dgamma and dbeta take the rows in order):", ""}, body...)
	}
	ps = append(ps, ints("rows", "cols")...)
	fn(f, name, ps, false, doc, func(k neon.Frame) {
		// R0 dx, R3 dy, R4 x: the current row. R1 dgamma, R2 dbeta, R5 mean,
		// R6 rstd, R7 gamma, R8 rows, R9 cols, R10 r, R11 row bytes. R12-R21
		// walk a row, R22 counts. V30 μ, V31 ρ, V28 B, V29 C, F27 cols;
		// V16-V19 accumulate sg, V20-V23 sgx.
		f.Op("MOVD", k.Base("dx"), "R0")
		if params {
			f.Op("MOVD", k.Base("dgamma"), "R1")
			f.Op("MOVD", k.Base("dbeta"), "R2")
		}
		f.Op("MOVD", k.Base("dy"), "R3")
		f.Op("MOVD", k.Base("x"), "R4")
		f.Op("MOVD", k.Base("mean"), "R5")
		f.Op("MOVD", k.Base("rstd"), "R6")
		f.Op("MOVD", k.Base("gamma"), "R7")
		f.Op("MOVD", k.Arg("rows"), "R8")
		f.Op("MOVD", k.Arg("cols"), "R9")
		f.Op("SCVTFS", "R9", "F27")
		f.Op("LSL", "$2", "R9", "R11")
		f.Op("MOVD", "ZR", "R10")

		f.Label("row")
		f.Note("for r := 0; r < rows; r++")
		f.Op("CMP", "R8", "R10")
		f.Op("BGE", "ret")
		f.Comment("μ, ρ := mean[r], rstd[r]")
		f.LoadBcast(30, "(R5)(R10<<2)")
		f.LoadBcast(31, "(R6)(R10<<2)")
		f.Zero(neon.Vectors(8), neon.Group(16))
		f.Op("MOVD", "R4", "R12")
		f.Op("MOVD", "R3", "R13")
		f.Op("MOVD", "R7", "R14")
		if params {
			f.Op("MOVD", "R1", "R15")
			f.Op("MOVD", "R1", "R16")
			f.Op("MOVD", "R2", "R17")
			f.Op("MOVD", "R2", "R19")
			f.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
		} else {
			f.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh")
		}
		f.loop("sums", "R22", "R9", func(kd neon.Width) {
			f.Load(kd, "R12", neon.Group(0))
			f.Sub(kd, neon.Group(0), neon.Group(0), neon.Bcast(30))
			f.Mul(kd, neon.Group(0), neon.Group(0), neon.Bcast(31))
			f.Load(kd, "R13", neon.Group(4))
			f.Load(kd, "R14", neon.Group(8))
			f.Mul(kd, neon.Group(8), neon.Group(4), neon.Group(8))
			f.Add(kd, neon.Group(16), neon.Group(16), neon.Group(8))
			f.MulAdd(kd, neon.Group(20), neon.Group(8), neon.Group(0))
			if params {
				f.Load(kd, "R15", neon.Group(12))
				f.MulAdd(kd, neon.Group(12), neon.Group(4), neon.Group(0))
				f.Store(kd, neon.Group(12), "R16")
				f.Load(kd, "R17", neon.Group(12))
				f.Add(kd, neon.Group(12), neon.Group(12), neon.Group(4))
				f.Store(kd, neon.Group(12), "R19")
			}
		}, func() {
			f.Comment("sg, sgx := (sg0+sg1) + (sg2+sg3), (sgx0+sgx1) + (sgx2+sgx3), summed across lanes")
			f.FoldAdd(16)
			f.FoldAdd(20)
		})
		f.Comment("B, C := ρ*(sg/nf), ρ*(sgx/nf)")
		f.Op("FDIVS", "F27", "F16", "F16")
		f.Op("FMULS", "F31", "F16", "F16")
		f.Op("FDIVS", "F27", "F20", "F20")
		f.Op("FMULS", "F31", "F20", "F20")
		f.Dup(28, 16, 0)
		f.Dup(29, 20, 0)

		f.Op("MOVD", "R4", "R12")
		f.Op("MOVD", "R3", "R13")
		f.Op("MOVD", "R7", "R14")
		f.Op("MOVD", "R0", "R20")
		f.Op("MOVD", "R0", "R21")
		f.Comment("dx[c] += g*ρ - (B + C*xh) (R20 reads dx, R21 writes it)")
		f.loop("dx", "R22", "R9", func(kd neon.Width) {
			f.Load(kd, "R12", neon.Group(0))
			f.Sub(kd, neon.Group(0), neon.Group(0), neon.Bcast(30))
			f.Mul(kd, neon.Group(0), neon.Group(0), neon.Bcast(31))
			f.Load(kd, "R13", neon.Group(4))
			f.Load(kd, "R14", neon.Group(8))
			f.Mul(kd, neon.Group(4), neon.Group(4), neon.Group(8))
			f.Move(kd, neon.Group(12), neon.Bcast(28))
			f.MulAdd(kd, neon.Group(12), neon.Group(0), neon.Bcast(29))
			f.Mul(kd, neon.Group(4), neon.Group(4), neon.Bcast(31))
			f.Sub(kd, neon.Group(4), neon.Group(4), neon.Group(12))
			f.Load(kd, "R20", neon.Group(8))
			f.Add(kd, neon.Group(4), neon.Group(4), neon.Group(8))
			f.Store(kd, neon.Group(4), "R21")
		}, nil)
		for _, p := range []string{"R0", "R3", "R4"} {
			f.Op("ADD", "R11", p, p)
		}
		f.Op("ADD", "$1", "R10", "R10")
		f.Op("B", "row")
	})
}

// emitLayerNormParamGrad emits LayerNormParamGradNEON (dgamma and dbeta) or,
// without beta, LayerNormGammaGradNEON (dgamma only), over a column block of
// rows with stride ld, two rows at a time.
func emitLayerNormParamGrad(f *file, beta bool) {
	name := "LayerNormGammaGrad"
	ps := sl("dgamma", "dy", "x", "mean", "rstd")
	what := []string{"accumulates the layer-norm gradient dgamma over the",
		"rows x cols block of dy and x with row stride ld, adding the rows in order",
		"(LayerNormBackwardNEON gives the same bits):", ""}
	lines := []string{
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*ld+c] - mean[r]) * rstd[r]",
		"\t\t\tdgamma[c] += dy[r*ld+c] * xh",
	}
	if beta {
		name = "LayerNormParamGrad"
		ps = sl("dgamma", "dbeta", "dy", "x", "mean", "rstd")
		what[0] = "accumulates the layer-norm gradients dgamma and dbeta over the"
		lines = append(lines, "\t\t\tdbeta[c] += dy[r*ld+c]")
	}
	lines = append(lines, "\t\t}", "\t}")
	ps = append(ps, ints("rows", "cols", "ld")...)
	fn(f, name, ps, false, append(what, lines...), func(k neon.Frame) {
		// R0 dgamma, R1 dbeta, R2 dy, R3 x (first row of the group), R4 mean,
		// R5 rstd, R6 rows, R7 ld bytes, R8 cols, R19 2*ld bytes. R9-R16
		// walk the rows, R17 counts. V24, V25 μ0, ρ0; V26, V27 μ1, ρ1.
		f.Op("MOVD", k.Base("dgamma"), "R0")
		if beta {
			f.Op("MOVD", k.Base("dbeta"), "R1")
		}
		f.Op("MOVD", k.Base("dy"), "R2")
		f.Op("MOVD", k.Base("x"), "R3")
		f.Op("MOVD", k.Base("mean"), "R4")
		f.Op("MOVD", k.Base("rstd"), "R5")
		f.Op("MOVD", k.Arg("rows"), "R6")
		f.Op("MOVD", k.Arg("ld"), "R7")
		f.Op("MOVD", k.Arg("cols"), "R8")
		f.Op("LSL", "$2", "R7", "R7")
		f.Op("LSL", "$1", "R7", "R19")

		// update emits one block over the rows whose dy and x pointers and
		// μ, ρ registers are given.
		update := func(kd neon.Width, dys, xs []string, mus, rhos []int) {
			f.Load(kd, "R13", neon.Group(0))
			if beta {
				f.Load(kd, "R15", neon.Group(4))
			}
			for q := range dys {
				f.Load(kd, xs[q], neon.Group(8))
				f.Sub(kd, neon.Group(8), neon.Group(8), neon.Bcast(mus[q]))
				f.Mul(kd, neon.Group(8), neon.Group(8), neon.Bcast(rhos[q]))
				f.Load(kd, dys[q], neon.Group(12))
				f.MulAdd(kd, neon.Group(0), neon.Group(12), neon.Group(8))
				if beta {
					f.Add(kd, neon.Group(4), neon.Group(4), neon.Group(12))
				}
			}
			f.Store(kd, neon.Group(0), "R14")
			if beta {
				f.Store(kd, neon.Group(4), "R16")
			}
		}
		setup := func() {
			f.Op("MOVD", "R0", "R13")
			f.Op("MOVD", "R0", "R14")
			if beta {
				f.Op("MOVD", "R1", "R15")
				f.Op("MOVD", "R1", "R16")
			}
		}

		f.Label("rows2")
		f.Note("for ; rows >= 2; rows -= 2, dy, x, mean, rstd = dy[2*ld:], x[2*ld:], mean[2:], rstd[2:]")
		f.Op("CMP", "$2", "R6")
		f.Op("BLT", "rows1")
		f.Op("MOVD", "R2", "R9")
		f.Op("ADD", "R7", "R2", "R10")
		f.Op("MOVD", "R3", "R11")
		f.Op("ADD", "R7", "R3", "R12")
		setup()
		f.LoadBcast(24, "(R4)")
		f.LoadBcast(25, "(R5)")
		f.LoadBcast(26, "4(R4)")
		f.LoadBcast(27, "4(R5)")
		f.Comment("for row q = 0, 1: xh := (x[q*ld+c]-μq)*ρq; dgamma[c] += dy[q*ld+c]*xh; dbeta[c] += dy[q*ld+c]")
		f.loop("two", "R17", "R8", func(kd neon.Width) {
			update(kd, []string{"R9", "R10"}, []string{"R11", "R12"}, []int{24, 26}, []int{25, 27})
		}, nil)
		f.Op("ADD", "R19", "R2", "R2")
		f.Op("ADD", "R19", "R3", "R3")
		f.Op("ADD", "$8", "R4", "R4")
		f.Op("ADD", "$8", "R5", "R5")
		f.Op("SUB", "$2", "R6")
		f.Op("B", "rows2")

		f.Label("rows1")
		f.Note("if rows == 1: the last row alone")
		f.Op("CBZ", "R6", "ret")
		f.Op("MOVD", "R2", "R9")
		f.Op("MOVD", "R3", "R11")
		setup()
		f.LoadBcast(24, "(R4)")
		f.LoadBcast(25, "(R5)")
		f.Comment("xh := (x[c]-μ)*ρ; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
		f.loop("one", "R17", "R8", func(kd neon.Width) {
			update(kd, []string{"R9"}, []string{"R11"}, []int{24}, []int{25})
		}, nil)
	})
}

func emitAdamW(f *file) {
	names := []string{"decay", "b1", "c1", "b2", "c2", "step", "eps"}
	ps := sl("p", "g", "m", "v")
	for _, n := range names {
		ps = append(ps, floats(n)...)
	}
	fn(f, "AdamW", ps, false, []string{
		"applies one AdamW update to p[i], i < len(p) (g, m",
		"and v at least as long), each operation rounded to float32 in this order:",
		"",
		"\tfor i := range p {",
		"\t\tm[i] = float32(m[i]*b1) + float32(g[i]*c1)",
		"\t\tv[i] = float32(v[i]*b2) + float32(float32(g[i]*c2)*g[i])",
		"\t\tp[i] = float32(p[i]*decay) - float32(m[i]*step)/(sqrt(v[i])+eps)",
		"\t}"}, func(k neon.Frame) {
		// R0, R1 read and write p; R2 g; R3, R4 m; R5, R6 v; R7 counts.
		// V24-V30 the scalars in the order of the signature.
		f.Op("MOVD", k.Base("p"), "R0")
		f.Op("MOVD", "R0", "R1")
		f.Op("MOVD", k.Base("g"), "R2")
		f.Op("MOVD", k.Base("m"), "R3")
		f.Op("MOVD", "R3", "R4")
		f.Op("MOVD", k.Base("v"), "R5")
		f.Op("MOVD", "R5", "R6")
		for i, n := range names {
			f.LoadBcast(neon.V(24+i), k.Arg(n))
		}
		decay, b1, c1, b2, c2, step, eps := neon.Bcast(24), neon.Bcast(25), neon.Bcast(26), neon.Bcast(27), neon.Bcast(28), neon.Bcast(29), neon.Bcast(30)
		f.Comment("m = m*b1 + g*c1; v = v*b2 + (g*c2)*g; p = p*decay - (m*step)/(sqrt(v) + eps)")
		f.loop("adamw", "R7", k.Len("p"), func(kd neon.Width) {
			f.Load(kd, "R2", neon.Group(0))
			f.Load(kd, "R3", neon.Group(4))
			f.Mul(kd, neon.Group(4), neon.Group(4), b1)
			f.Mul(kd, neon.Group(8), neon.Group(0), c1)
			f.Add(kd, neon.Group(4), neon.Group(4), neon.Group(8))
			f.Store(kd, neon.Group(4), "R4")
			f.Load(kd, "R5", neon.Group(12))
			f.Mul(kd, neon.Group(12), neon.Group(12), b2)
			f.Mul(kd, neon.Group(8), neon.Group(0), c2)
			f.Mul(kd, neon.Group(8), neon.Group(8), neon.Group(0))
			f.Add(kd, neon.Group(12), neon.Group(12), neon.Group(8))
			f.Store(kd, neon.Group(12), "R6")
			f.Sqrt(kd, neon.Group(8), neon.Group(12))
			f.Add(kd, neon.Group(8), neon.Group(8), eps)
			f.Mul(kd, neon.Group(4), neon.Group(4), step)
			f.Div(kd, neon.Group(4), neon.Group(4), neon.Group(8))
			f.Load(kd, "R0", neon.Group(12))
			f.Mul(kd, neon.Group(12), neon.Group(12), decay)
			f.Sub(kd, neon.Group(12), neon.Group(12), neon.Group(4))
			f.Store(kd, neon.Group(12), "R1")
		}, nil)
	})
}
