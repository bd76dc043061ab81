package main

import (
	"github.com/petl-go/petl/internal/gen/contract"
	"github.com/petl-go/petl/internal/gen/neon"
)

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

func emitAdd(f *file) {
	fn(f, contract.Add, func(k neon.Frame) {
		f.Op("MOVD", k.Base("dst"), "R0")
		f.Op("MOVD", k.Base("a"), "R1")
		f.Op("MOVD", k.Base("b"), "R2")
		f.Comment("dst[i] = a[i] + b[i]")
		f.loop("add", "R3", k.Len("a"), func(kd neon.Width) {
			f.addBlock(kd, "R0", "R1", "R2")
		}, nil)
	})
}

func emitAxpy(f *file) {
	fn(f, contract.Axpy, func(k neon.Frame) {
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
	fn(f, contract.Scale, func(k neon.Frame) {
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
	fn(f, contract.Dot(contract.NEON), func(k neon.Frame) {
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
	fn(f, contract.Sum, func(k neon.Frame) {
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
	fn(f, contract.Max(contract.NEON), func(k neon.Frame) {
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

// eachRow emits, from label, a loop that runs body (which moves the row
// pointers on) as many times as the register rows says, counting it down
// to 0, then leaves for ret.
func (f *file) eachRow(label, note, rows string, body func()) {
	f.Label(label)
	f.Note("%s", note)
	f.Op("CBZ", rows, "ret")
	body()
	f.Op("SUB", "$1", rows)
	f.Op("B", label)
}

func emitAddBias(f *file) {
	fn(f, contract.AddBias, func(k neon.Frame) {
		f.Op("MOVD", k.Base("x"), "R0")
		f.Op("MOVD", "R0", "R1")
		f.Op("MOVD", k.Base("bias"), "R2")
		f.Op("MOVD", k.Arg("rows"), "R4")
		f.Op("MOVD", k.Arg("cols"), "R6")
		f.eachRow("row", "for ; rows > 0; rows-- (R0 reads x, R1 writes it, both run on across rows)", "R4", func() {
			f.Op("MOVD", "R2", "R3")
			f.Comment("x[c] += bias[c]")
			f.loop("bias", "R5", "R6", func(kd neon.Width) {
				f.addBlock(kd, "R1", "R0", "R3")
			}, nil)
		})
	})
}

func emitBiasGrad(f *file) {
	fn(f, contract.BiasGrad, func(k neon.Frame) {
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

		f.eachRow("rows1", "for ; rows > 0; rows--, dy = dy[ld:]", "R2", func() {
			f.Op("MOVD", "R1", "R4")
			f.Op("MOVD", "R0", "R8")
			f.Op("MOVD", "R0", "R9")
			f.Comment("db[c] += dy[c]")
			f.loop("one", "R10", "R11", func(kd neon.Width) {
				f.addBlock(kd, "R9", "R8", "R4")
			}, nil)
			f.Op("ADD", "R3", "R1", "R1")
		})
	})
}

// addBlock emits one block of dst = a + b, each a pointer register that
// the load or store advances.
func (f *file) addBlock(kd neon.Width, dst, a, b string) {
	f.Load(kd, a, neon.Group(0))
	f.Load(kd, b, neon.Group(4))
	f.Add(kd, neon.Group(0), neon.Group(0), neon.Group(4))
	f.Store(kd, neon.Group(0), dst)
}

// emitLayerNorm emits LayerNormNEON, or with fused AddLayerNormNEON (the
// residual sum a+b is formed, stored and normalised in one pass over a row).
// Each row takes three passes: the mean (shifted by the row's first value
// K, for accuracy), the variance about it, and the normalised output.
//
// Registers: R0 y, R1 x (or sum), R2 a, R3 b: the current row. R4 mean, R5
// rstd, R6 gamma, R7 beta, R8 rows, R9 cols, R10 r, R11 row bytes. R12-R16
// walk a row, R17 counts. V24 K, V25 μ, V26 ρ, F27 cols, F28 1, F29 eps;
// V16-V19 accumulate.
func emitLayerNorm(f *file, fused bool) {
	op := contract.LayerNorm(contract.NEON)
	if fused {
		op = contract.AddLayerNorm(contract.NEON)
	}
	fn(f, op, func(k neon.Frame) {
		f.layerNormArgs(k, fused)
		f.rowLoopHead()
		f.layerNormMean(fused)
		f.layerNormVariance()
		f.layerNormOutput()
		if fused {
			f.nextRow("R0", "R1", "R2", "R3")
		} else {
			f.nextRow("R0", "R1")
		}
	})
}

// layerNormArgs loads LayerNorm's arguments and its row-invariant
// constants, and returns early when cols is 0.
func (f *file) layerNormArgs(k neon.Frame, fused bool) {
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
}

// rowLoopHead starts the loop over rows: r (R10) from 0 to rows (R8).
func (f *file) rowLoopHead() {
	f.Label("row")
	f.Note("for r := 0; r < rows; r++")
	f.Op("CMP", "R8", "R10")
	f.Op("BGE", "ret")
}

// nextRow moves the given row pointers on by one row (R11 bytes), counts
// the row and jumps back to the row loop.
func (f *file) nextRow(ptrs ...string) {
	for _, p := range ptrs {
		f.Op("ADD", "R11", p, p)
	}
	f.Op("ADD", "$1", "R10", "R10")
	f.Op("B", "row")
}

// storeIfSet stores the low float of register freg at p[r] unless the
// pointer p is nil.
func (f *file) storeIfSet(p, freg, skip string) {
	f.Op("CBZ", p, skip)
	f.Op("FMOVS", freg, "("+p+")(R10<<2)")
	f.Label(skip)
}

// normalised loads a block of x from ptr into dst as xh = (x - μ)*ρ, with μ
// and ρ broadcast in V(mu) and V(rho).
func (f *file) normalised(kd neon.Width, ptr string, dst neon.Group, mu, rho neon.V) {
	f.Load(kd, ptr, dst)
	f.Sub(kd, dst, dst, neon.Bcast(mu))
	f.Mul(kd, dst, dst, neon.Bcast(rho))
}

// layerNormMean emits pass 1, d = Σ (z - K) (forming and storing z = a+b
// when fused), and broadcasts μ = K + d/nf to V25, storing it in mean[r] if
// mean is set.
func (f *file) layerNormMean(fused bool) {
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
	f.storeIfSet("R4", "F25", "nomean")
	f.Dup(25, 25, 0)
}

// layerNormVariance emits pass 2, q = Σ (z - μ)², and broadcasts
// ρ = 1/sqrt(q/nf + eps) to V26, storing it in rstd[r] if rstd is set.
func (f *file) layerNormVariance() {
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
	f.storeIfSet("R5", "F26", "norstd")
	f.Dup(26, 26, 0)
}

// layerNormOutput emits pass 3: y = beta + ((z - μ)*ρ)*gamma.
func (f *file) layerNormOutput() {
	f.Op("MOVD", "R1", "R12")
	f.Op("MOVD", "R0", "R13")
	f.Op("MOVD", "R6", "R15")
	f.Op("MOVD", "R7", "R16")
	f.Comment("y[c] = beta[c] + ((z[c] - μ) * ρ) * gamma[c] (one rounding for the last two)")
	f.loop("norm", "R17", "R9", func(kd neon.Width) {
		f.normalised(kd, "R12", neon.Group(0), 25, 26)
		f.Load(kd, "R15", neon.Group(4))
		f.Load(kd, "R16", neon.Group(8))
		f.MulAdd(kd, neon.Group(8), neon.Group(0), neon.Group(4))
		f.Store(kd, neon.Group(8), "R13")
	}, nil)
}

// emitLayerNormBackward emits LayerNormBackwardNEON (dx, dgamma and dbeta
// in one pass) or, without params, LayerNormBackwardDXNEON (dx only).
//
// Registers: R0 dx, R3 dy, R4 x: the current row. R1 dgamma, R2 dbeta, R5
// mean, R6 rstd, R7 gamma, R8 rows, R9 cols, R10 r, R11 row bytes. R12-R21
// walk a row, R22 counts. V30 μ, V31 ρ, V28 B, V29 C, F27 cols; V16-V19
// accumulate sg, V20-V23 sgx.
func emitLayerNormBackward(f *file, params bool) {
	op := contract.LayerNormBackwardDX(contract.NEON)
	if params {
		op = contract.LayerNormBackward(contract.NEON)
	}
	fn(f, op, func(k neon.Frame) {
		f.layerNormBackwardArgs(k, params)
		f.rowLoopHead()
		f.Comment("μ, ρ := mean[r], rstd[r]")
		f.LoadBcast(30, "(R5)(R10<<2)")
		f.LoadBcast(31, "(R6)(R10<<2)")
		f.layerNormBackwardSums(params)
		f.layerNormBackwardDX()
		f.nextRow("R0", "R3", "R4")
	})
}

// layerNormBackwardArgs loads LayerNormBackward's arguments and nf.
func (f *file) layerNormBackwardArgs(k neon.Frame, params bool) {
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
}

// layerNormBackwardSums emits the first pass over a row: the sums sg = Σ g
// and sgx = Σ g*xh of g = dy*gamma (and, with params, dgamma and dbeta
// updated), then B and C broadcast to V28 and V29.
func (f *file) layerNormBackwardSums(params bool) {
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
		f.normalised(kd, "R12", neon.Group(0), 30, 31)
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
}

// layerNormBackwardDX emits the second pass over a row: dx += g*ρ - (B + C*xh).
func (f *file) layerNormBackwardDX() {
	f.Op("MOVD", "R4", "R12")
	f.Op("MOVD", "R3", "R13")
	f.Op("MOVD", "R7", "R14")
	f.Op("MOVD", "R0", "R20")
	f.Op("MOVD", "R0", "R21")
	f.Comment("dx[c] += g*ρ - (B + C*xh) (R20 reads dx, R21 writes it)")
	f.loop("dx", "R22", "R9", func(kd neon.Width) {
		f.normalised(kd, "R12", neon.Group(0), 30, 31)
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
}

// emitLayerNormParamGrad emits LayerNormParamGradNEON (dgamma and dbeta) or,
// without beta, LayerNormGammaGradNEON (dgamma only), over a column block of
// rows with stride ld, two rows at a time.
func emitLayerNormParamGrad(f *file, beta bool) {
	op := contract.LayerNormGammaGrad(contract.NEON)
	if beta {
		op = contract.LayerNormParamGrad(contract.NEON)
	}
	fn(f, op, func(k neon.Frame) {
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

		f.Label("rows2")
		f.Note("for ; rows >= 2; rows -= 2, dy, x, mean, rstd = dy[2*ld:], x[2*ld:], mean[2:], rstd[2:]")
		f.Op("CMP", "$2", "R6")
		f.Op("BLT", "rows1")
		f.Op("MOVD", "R2", "R9")
		f.Op("ADD", "R7", "R2", "R10")
		f.Op("MOVD", "R3", "R11")
		f.Op("ADD", "R7", "R3", "R12")
		f.paramGradPointers(beta)
		f.LoadBcast(24, "(R4)")
		f.LoadBcast(25, "(R5)")
		f.LoadBcast(26, "4(R4)")
		f.LoadBcast(27, "4(R5)")
		f.Comment("for row q = 0, 1: xh := (x[q*ld+c]-μq)*ρq; dgamma[c] += dy[q*ld+c]*xh; dbeta[c] += dy[q*ld+c]")
		f.loop("two", "R17", "R8", func(kd neon.Width) {
			f.paramGradBlock(kd, beta, []string{"R9", "R10"}, []string{"R11", "R12"}, []int{24, 26}, []int{25, 27})
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
		f.paramGradPointers(beta)
		f.LoadBcast(24, "(R4)")
		f.LoadBcast(25, "(R5)")
		f.Comment("xh := (x[c]-μ)*ρ; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
		f.loop("one", "R17", "R8", func(kd neon.Width) {
			f.paramGradBlock(kd, beta, []string{"R9"}, []string{"R11"}, []int{24}, []int{25})
		}, nil)
	})
}

// paramGradBlock emits one block of LayerNormParamGrad's column loop over
// the rows whose dy and x pointers and μ, ρ registers are given: dgamma
// (R13 reads, R14 writes) and, with beta, dbeta (R15, R16).
func (f *file) paramGradBlock(kd neon.Width, beta bool, dys, xs []string, mus, rhos []int) {
	f.Load(kd, "R13", neon.Group(0))
	if beta {
		f.Load(kd, "R15", neon.Group(4))
	}
	for q := range dys {
		f.normalised(kd, xs[q], neon.Group(8), neon.V(mus[q]), neon.V(rhos[q]))
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

// paramGradPointers points R13, R14 (and R15, R16 with beta) at the start
// of dgamma (and dbeta) for a pass over the columns.
func (f *file) paramGradPointers(beta bool) {
	f.Op("MOVD", "R0", "R13")
	f.Op("MOVD", "R0", "R14")
	if beta {
		f.Op("MOVD", "R1", "R15")
		f.Op("MOVD", "R1", "R16")
	}
}

func emitAdamW(f *file) {
	names := []string{"decay", "b1", "c1", "b2", "c2", "step", "eps"}
	fn(f, contract.AdamW, func(k neon.Frame) {
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
