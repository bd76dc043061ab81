package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"github.com/petl-go/petl/internal/gen/contract"
)

// emitAll emits every row kernel for one instruction set.
func emitAll(s isa) {
	emitAdd(s)
	emitAxpy(s)
	emitScale(s)
	emitDot(s)
	emitSum(s)
	emitMax(s)
	emitAddBias(s)
	emitBiasGrad(s)
	emitLayerNorm(s, false)
	emitLayerNorm(s, true)
	emitLayerNormBackward(s, true)
	emitLayerNormBackward(s, false)
	emitLayerNormParamGrad(s, true)
	emitLayerNormParamGrad(s, false)
	emitAdamW(s)
}

func emitAdd(s isa) {
	function(s, contract.Add)
	dst, a, b, n := ptr("dst"), ptr("a"), ptr("b"), length("a")
	l := newLoop("add", 4)
	c.Comment("dst[i] = a[i] + b[i]")
	l.emit(s, n, func(k kind, j int) {
		t := k.load(l.at(a, k, j))
		k.add(l.at(b, k, j), t, t)
		k.mov(t, l.at(dst, k, j))
	}, nil)
	ret()
}

func emitAxpy(s isa) {
	function(s, contract.Axpy)
	x, y, n := ptr("x"), ptr("y"), length("x")
	alpha := broadcast(s, addr("alpha"))
	l := newLoop("axpy", 4)
	c.Comment("y[i] = y[i] + alpha*x[i]")
	l.emit(s, n, func(k kind, j int) {
		t := k.load(l.at(x, k, j))
		k.mul(k.of(alpha), t, t)
		k.add(l.at(y, k, j), t, t)
		k.mov(t, l.at(y, k, j))
	}, nil)
	ret()
}

func emitScale(s isa) {
	function(s, contract.Scale)
	x, n := ptr("x"), length("x")
	alpha := broadcast(s, addr("alpha"))
	l := newLoop("scale", 4)
	c.Comment("x[i] = x[i] * alpha")
	l.emit(s, n, func(k kind, j int) {
		t := k.load(l.at(x, k, j))
		k.mul(k.of(alpha), t, t)
		k.mov(t, l.at(x, k, j))
	}, nil)
	ret()
}

func emitDot(s isa) {
	function(s, contract.Dot(s.contract))
	x, y, n := ptr("x"), ptr("y"), length("x")
	acc := zeros(s, 4)
	var tot reg.VecVirtual
	l := newLoop("dot", 4)
	c.Comment("acc[j] += x[i] * y[i]")
	l.emit(s, n, func(k kind, j int) {
		t := k.load(l.at(x, k, j))
		if k.scalar {
			k.fma231(l.at(y, k, 0), t, tot)
			return
		}
		k.fma231(l.at(y, k, j), t, acc[j])
	}, func() {
		c.Comment("s := (acc0+acc1) + (acc2+acc3), summed across lanes")
		tot = horizontal(s, fold(c.VADDPS, acc), c.VADDPS)
	})
	storeRet(tot)
	ret()
}

func emitSum(s isa) {
	function(s, contract.Sum)
	x, n := ptr("x"), length("x")
	acc := zeros(s, 4)
	var tot reg.VecVirtual
	l := newLoop("sum", 4)
	c.Comment("acc[j] += x[i]")
	l.emit(s, n, func(k kind, j int) {
		if k.scalar {
			k.add(l.at(x, k, 0), tot, tot)
			return
		}
		k.add(l.at(x, k, j), acc[j], acc[j])
	}, func() {
		c.Comment("s := (acc0+acc1) + (acc2+acc3), summed across lanes")
		tot = horizontal(s, fold(c.VADDPS, acc), c.VADDPS)
	})
	storeRet(tot)
	ret()
}

func emitMax(s isa) {
	function(s, contract.Max(s.contract))
	x, n := ptr("x"), length("x")
	c.Comment("acc[j] = -Inf; nan[j] = 0; abs = 0x7fffffff")
	inf := broadcast(s, constant(0xff800000))
	acc := []reg.VecVirtual{inf, s.vec(), s.vec(), s.vec()}
	for _, a := range acc[1:] {
		c.VMOVAPS(inf, a)
	}
	nan := zeros(s, 4)
	abs := broadcast(s, constant(0x7fffffff))
	var m, bits reg.VecVirtual
	l := newLoop("max", 4)
	c.Comment("acc[j] = max(acc[j], x[i]); nan[j] = max(nan[j], bits(|x[i]|)) as unsigned")
	c.Comment("(|x| has bits above 0x7f800000 exactly when x is NaN)")
	l.emit(s, n, func(k kind, j int) {
		t := k.load(l.at(x, k, j))
		a, b := m, bits
		if !k.scalar {
			a, b = acc[j], nan[j]
		}
		k.max(t, a, a)
		c.VANDPS(k.of(abs), t, t)
		c.VPMAXUD(t, b, b)
	}, func() {
		c.Comment("m := max over acc's lanes; bits := max over nan's lanes")
		m = horizontal(s, fold(c.VMAXPS, acc), c.VMAXPS)
		bits = horizontal(s, fold(c.VPMAXUD, nan), c.VPMAXUD)
	})
	c.Comment("if bits > 0x7f800000 { m = NaN }")
	g := c.GP32()
	c.VMOVD(bits, g)
	c.CMPL(g, operand.U32(0x7f800000))
	c.JBE(operand.LabelRef("store"))
	c.MOVL(operand.U32(0x7fc00000), g)
	c.VMOVD(g, m)
	c.Label("store")
	storeRet(m)
	ret()
}

func emitAddBias(s isa) {
	function(s, contract.AddBias)
	x, b, rows, cols := ptr("x"), ptr("bias"), param("rows"), param("cols")
	rb := c.GP64()
	c.MOVQ(cols, rb)
	c.SHLQ(operand.Imm(2), rb)
	c.Label("row")
	c.Comment("for ; rows > 0; rows--, x = x[cols:]")
	c.TESTQ(rows, rows)
	c.JZ(operand.LabelRef("ret"))
	l := newLoop("bias", 4)
	c.Comment("x[c] += bias[c]")
	l.emit(s, cols, func(k kind, j int) {
		t := k.load(l.at(x, k, j))
		k.add(l.at(b, k, j), t, t)
		k.mov(t, l.at(x, k, j))
	}, nil)
	c.ADDQ(rb, x)
	c.DECQ(rows)
	c.JMP(operand.LabelRef("row"))
	ret()
}

func emitBiasGrad(s isa) {
	function(s, contract.BiasGrad)
	db, dy, rows, ldb := ptr("db"), ptr("dy"), param("rows"), param("ld")
	c.SHLQ(operand.Imm(2), ldb)
	cols := addr("cols")
	q := []reg.GPVirtual{dy, c.GP64(), c.GP64(), c.GP64()}

	c.Label("rows4")
	c.Comment("for ; rows >= 4; rows -= 4, dy = dy[4*ld:]")
	c.CMPQ(rows, operand.Imm(4))
	c.JL(operand.LabelRef("rows1"))
	for j := 1; j < 4; j++ {
		c.LEAQ(operand.Mem{Base: q[j-1], Index: ldb, Scale: 1}, q[j])
	}
	l4 := newLoop("four", 4)
	c.Comment("db[c] = (((db[c] + dy[c]) + dy[ld+c]) + dy[2*ld+c]) + dy[3*ld+c]")
	l4.emit(s, cols, func(k kind, j int) {
		t := k.load(l4.at(db, k, j))
		for _, p := range q {
			k.add(l4.at(p, k, j), t, t)
		}
		k.mov(t, l4.at(db, k, j))
	}, nil)
	c.LEAQ(operand.Mem{Base: dy, Index: ldb, Scale: 4}, dy)
	c.SUBQ(operand.Imm(4), rows)
	c.JMP(operand.LabelRef("rows4"))

	c.Label("rows1")
	c.Comment("for ; rows > 0; rows--, dy = dy[ld:]")
	c.TESTQ(rows, rows)
	c.JZ(operand.LabelRef("ret"))
	l1 := newLoop("one", 4)
	c.Comment("db[c] += dy[c]")
	l1.emit(s, cols, func(k kind, j int) {
		t := k.load(l1.at(db, k, j))
		k.add(l1.at(dy, k, j), t, t)
		k.mov(t, l1.at(db, k, j))
	}, nil)
	c.ADDQ(ldb, dy)
	c.DECQ(rows)
	c.JMP(operand.LabelRef("rows1"))
	ret()
}

// emitLayerNorm emits LayerNorm<isa>, or with fused AddLayerNorm<isa> (the
// residual sum a+b is formed, stored and normalised in one pass over a row).
func emitLayerNorm(s isa, fused bool) {
	if fused {
		function(s, contract.AddLayerNorm(s.contract))
	} else {
		function(s, contract.LayerNorm(s.contract))
	}
	y := ptr("y")
	var sum, a, b, x reg.GPVirtual
	if fused {
		sum, a, b = ptr("sum"), ptr("a"), ptr("b")
		x = sum
	} else {
		x = ptr("x")
	}
	mean, rstd, gamma, beta := ptr("mean"), ptr("rstd"), ptr("gamma"), ptr("beta")
	rows, cols := addr("rows"), param("cols")
	c.Comment("if cols == 0 { return }; nf := float32(cols); one := float32(1)")
	c.TESTQ(cols, cols)
	c.JZ(operand.LabelRef("ret"))
	nf := c.XMM()
	c.VXORPS(nf, nf, nf)
	c.VCVTSI2SSQ(cols, nf, nf)
	one := constant(0x3f800000)
	eps := c.XMM()
	c.VMOVSS(addr("eps"), eps)
	rb, r := c.GP64(), c.GP64()
	c.MOVQ(cols, rb)
	c.SHLQ(operand.Imm(2), rb)
	c.XORQ(r, r)

	c.Label("row")
	c.Comment("for r := 0; r < rows; r++")
	c.CMPQ(r, rows)
	c.JGE(operand.LabelRef("ret"))

	// Pass 1: d = Σ (z - K).
	var kv reg.VecVirtual
	if fused {
		c.Comment("K := a[0] + b[0]")
		kx := c.XMM()
		c.VMOVSS(operand.Mem{Base: a}, kx)
		c.VADDSS(operand.Mem{Base: b}, kx, kx)
		kv = broadcast(s, kx)
	} else {
		c.Comment("K := x[0]")
		kv = broadcast(s, operand.Mem{Base: x})
	}
	acc := zeros(s, 4)
	var d reg.VecVirtual
	l1 := newLoop("mean", 4)
	if fused {
		c.Comment("sum[c] = a[c] + b[c]; acc[j] += sum[c] - K")
	} else {
		c.Comment("acc[j] += x[c] - K")
	}
	l1.emit(s, cols, func(k kind, j int) {
		var t reg.VecVirtual
		if fused {
			t = k.load(l1.at(a, k, j))
			k.add(l1.at(b, k, j), t, t)
			k.mov(t, l1.at(sum, k, j))
		} else {
			t = k.load(l1.at(x, k, j))
		}
		k.sub(k.of(kv), t, t)
		if k.scalar {
			k.add(t, d, d)
		} else {
			k.add(t, acc[j], acc[j])
		}
	}, func() {
		c.Comment("d := (acc0+acc1) + (acc2+acc3), summed across lanes")
		d = horizontal(s, fold(c.VADDPS, acc), c.VADDPS)
	})
	c.Comment("μ := K + d/nf; if mean != nil { mean[r] = μ }")
	mu := c.XMM()
	c.VDIVSS(nf, d, mu)
	c.VADDSS(kv.AsX(), mu, mu)
	storeIfSet(mean, r, mu, "nomean")
	muv := broadcast(s, mu)

	// Pass 2: q = Σ (z - μ)².
	acc = zeros(s, 4)
	var q reg.VecVirtual
	l2 := newLoop("var", 4)
	c.Comment("t := z[c] - μ; acc[j] += t*t")
	l2.emit(s, cols, func(k kind, j int) {
		t := k.load(l2.at(x, k, j))
		k.sub(k.of(muv), t, t)
		if k.scalar {
			k.fma231(t, t, q)
		} else {
			k.fma231(t, t, acc[j])
		}
	}, func() {
		c.Comment("q := (acc0+acc1) + (acc2+acc3), summed across lanes")
		q = horizontal(s, fold(c.VADDPS, acc), c.VADDPS)
	})
	c.Comment("ρ := 1 / sqrt(q/nf + eps); if rstd != nil { rstd[r] = ρ }")
	c.VDIVSS(nf, q, q)
	c.VADDSS(eps, q, q)
	c.VSQRTSS(q, q, q)
	rho := c.XMM()
	c.VDIVSS(q, one, rho)
	storeIfSet(rstd, r, rho, "norstd")
	rhov := broadcast(s, rho)

	// Pass 3: y = (z - μ)*ρ*gamma + beta.
	l3 := newLoop("norm", 4)
	c.Comment("y[c] = ((z[c] - μ) * ρ) * gamma[c] + beta[c]")
	l3.emit(s, cols, func(k kind, j int) {
		t := k.load(l3.at(x, k, j))
		k.sub(k.of(muv), t, t)
		k.mul(k.of(rhov), t, t)
		g := k.load(l3.at(gamma, k, j))
		k.fma213(l3.at(beta, k, j), g, t)
		k.mov(t, l3.at(y, k, j))
	}, nil)
	for _, p := range []reg.GPVirtual{y, x} {
		c.ADDQ(rb, p)
	}
	if fused {
		c.ADDQ(rb, a)
		c.ADDQ(rb, b)
	}
	c.INCQ(r)
	c.JMP(operand.LabelRef("row"))
	ret()
}

// storeIfSet stores the low float of v at p[r] unless p is nil.
func storeIfSet(p, r reg.GPVirtual, v reg.VecVirtual, skip string) {
	c.TESTQ(p, p)
	c.JZ(operand.LabelRef(skip))
	c.VMOVSS(v, operand.Mem{Base: p, Index: r, Scale: 4})
	c.Label(skip)
}

// emitLayerNormBackward emits LayerNormBackward<isa> (dx, dgamma and dbeta
// in one pass) or, without params, LayerNormBackwardDX<isa> (dx only).
func emitLayerNormBackward(s isa, params bool) {
	if params {
		function(s, contract.LayerNormBackward(s.contract))
	} else {
		function(s, contract.LayerNormBackwardDX(s.contract))
	}
	dx := ptr("dx")
	var dg, db reg.GPVirtual
	if params {
		dg, db = ptr("dgamma"), ptr("dbeta")
	}
	dy, x, mean, rstd, gamma := ptr("dy"), ptr("x"), ptr("mean"), ptr("rstd"), ptr("gamma")
	rows, cols := addr("rows"), param("cols")
	nf := c.XMM()
	c.VXORPS(nf, nf, nf)
	c.VCVTSI2SSQ(cols, nf, nf)
	rb, r := c.GP64(), c.GP64()
	c.MOVQ(cols, rb)
	c.SHLQ(operand.Imm(2), rb)
	c.XORQ(r, r)

	c.Label("row")
	c.Comment("for r := 0; r < rows; r++")
	c.CMPQ(r, rows)
	c.JGE(operand.LabelRef("ret"))
	c.Comment("μ, ρ := mean[r], rstd[r]")
	muv := broadcast(s, operand.Mem{Base: mean, Index: r, Scale: 4})
	rhov := broadcast(s, operand.Mem{Base: rstd, Index: r, Scale: 4})

	sg, sgx := zeros(s, 2), zeros(s, 2)
	var sgT, sgxT reg.VecVirtual
	l1 := newLoop("sums", 2)
	if params {
		c.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
	} else {
		c.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh")
	}
	l1.emit(s, cols, func(k kind, j int) {
		xh := k.load(l1.at(x, k, j))
		k.sub(k.of(muv), xh, xh)
		k.mul(k.of(rhov), xh, xh)
		d := k.load(l1.at(dy, k, j))
		g := k.reg()
		k.mul(l1.at(gamma, k, j), d, g)
		a, b := sgT, sgxT
		if !k.scalar {
			a, b = sg[j], sgx[j]
		}
		k.add(g, a, a)
		k.fma231(xh, g, b)
		if params {
			t := k.load(l1.at(dg, k, j))
			k.fma231(xh, d, t)
			k.mov(t, l1.at(dg, k, j))
			u := k.load(l1.at(db, k, j))
			k.add(d, u, u)
			k.mov(u, l1.at(db, k, j))
		}
	}, func() {
		c.Comment("sg, sgx := sg0+sg1, sgx0+sgx1, summed across lanes")
		sgT = horizontal(s, fold(c.VADDPS, sg), c.VADDPS)
		sgxT = horizontal(s, fold(c.VADDPS, sgx), c.VADDPS)
	})
	c.Comment("B, C := ρ*(sg/nf), ρ*(sgx/nf)")
	c.VDIVSS(nf, sgT, sgT)
	c.VMULSS(rhov.AsX(), sgT, sgT)
	c.VDIVSS(nf, sgxT, sgxT)
	c.VMULSS(rhov.AsX(), sgxT, sgxT)
	bv, cv := broadcast(s, sgT), broadcast(s, sgxT)

	l2 := newLoop("dx", 2)
	c.Comment("dx[c] += g*ρ - (C*xh + B)")
	l2.emit(s, cols, func(k kind, j int) {
		xh := k.load(l2.at(x, k, j))
		k.sub(k.of(muv), xh, xh)
		k.mul(k.of(rhov), xh, xh)
		g := k.load(l2.at(dy, k, j))
		k.mul(l2.at(gamma, k, j), g, g)
		k.fma213(k.of(bv), k.of(cv), xh)
		k.mul(k.of(rhov), g, g)
		k.sub(xh, g, g)
		k.add(l2.at(dx, k, j), g, g)
		k.mov(g, l2.at(dx, k, j))
	}, nil)
	for _, p := range []reg.GPVirtual{dx, dy, x} {
		c.ADDQ(rb, p)
	}
	c.INCQ(r)
	c.JMP(operand.LabelRef("row"))
	ret()
}

// emitLayerNormParamGrad emits LayerNormParamGrad<isa> (dgamma and dbeta)
// or, without beta, LayerNormGammaGrad<isa> (dgamma only), over a column block
// of rows with stride ld, two rows at a time.
func emitLayerNormParamGrad(s isa, beta bool) {
	if beta {
		function(s, contract.LayerNormParamGrad(s.contract))
	} else {
		function(s, contract.LayerNormGammaGrad(s.contract))
	}
	dg := ptr("dgamma")
	var db reg.GPVirtual
	if beta {
		db = ptr("dbeta")
	}
	dy, x, mean, rstd := ptr("dy"), ptr("x"), ptr("mean"), ptr("rstd")
	rows, ldb := param("rows"), param("ld")
	c.SHLQ(operand.Imm(2), ldb)
	cols := addr("cols")

	// update emits one block of the column loop over the given rows.
	update := func(l loop, k kind, j int, dys, xs []reg.GPVirtual, mus, rhos []reg.VecVirtual) {
		t := k.load(l.at(dg, k, j))
		var u reg.VecVirtual
		if beta {
			u = k.load(l.at(db, k, j))
		}
		for q := range dys {
			xh := k.load(l.at(xs[q], k, j))
			k.sub(k.of(mus[q]), xh, xh)
			k.mul(k.of(rhos[q]), xh, xh)
			d := k.load(l.at(dys[q], k, j))
			k.fma231(xh, d, t)
			if beta {
				k.add(d, u, u)
			}
		}
		k.mov(t, l.at(dg, k, j))
		if beta {
			k.mov(u, l.at(db, k, j))
		}
	}

	c.Label("rows2")
	c.Comment("for ; rows >= 2; rows -= 2, dy, x, mean, rstd = dy[2*ld:], x[2*ld:], mean[2:], rstd[2:]")
	c.CMPQ(rows, operand.Imm(2))
	c.JL(operand.LabelRef("rows1"))
	dy1, x1 := c.GP64(), c.GP64()
	c.LEAQ(operand.Mem{Base: dy, Index: ldb, Scale: 1}, dy1)
	c.LEAQ(operand.Mem{Base: x, Index: ldb, Scale: 1}, x1)
	mus := []reg.VecVirtual{broadcast(s, operand.Mem{Base: mean}), broadcast(s, operand.Mem{Base: mean, Disp: 4})}
	rhos := []reg.VecVirtual{broadcast(s, operand.Mem{Base: rstd}), broadcast(s, operand.Mem{Base: rstd, Disp: 4})}
	l2 := newLoop("two", 2)
	c.Comment("for row q = 0, 1: xh := (x[q*ld+c]-μq)*ρq; dgamma[c] += dy[q*ld+c]*xh; dbeta[c] += dy[q*ld+c]")
	l2.emit(s, cols, func(k kind, j int) {
		update(l2, k, j, []reg.GPVirtual{dy, dy1}, []reg.GPVirtual{x, x1}, mus, rhos)
	}, nil)
	c.LEAQ(operand.Mem{Base: dy, Index: ldb, Scale: 2}, dy)
	c.LEAQ(operand.Mem{Base: x, Index: ldb, Scale: 2}, x)
	c.ADDQ(operand.Imm(8), mean)
	c.ADDQ(operand.Imm(8), rstd)
	c.SUBQ(operand.Imm(2), rows)
	c.JMP(operand.LabelRef("rows2"))

	c.Label("rows1")
	c.Comment("if rows == 1: the last row alone")
	c.TESTQ(rows, rows)
	c.JZ(operand.LabelRef("ret"))
	mu := broadcast(s, operand.Mem{Base: mean})
	rho := broadcast(s, operand.Mem{Base: rstd})
	l1 := newLoop("one", 2)
	c.Comment("xh := (x[c]-μ)*ρ; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
	l1.emit(s, cols, func(k kind, j int) {
		update(l1, k, j, []reg.GPVirtual{dy}, []reg.GPVirtual{x}, []reg.VecVirtual{mu}, []reg.VecVirtual{rho})
	}, nil)
	ret()
}

func emitAdamW(s isa) {
	function(s, contract.AdamW)
	p, g, m, v, n := ptr("p"), ptr("g"), ptr("m"), ptr("v"), length("p")
	var k7 []reg.VecVirtual
	for _, name := range []string{"decay", "b1", "c1", "b2", "c2", "step", "eps"} {
		k7 = append(k7, broadcast(s, addr(name)))
	}
	decay, b1, c1, b2, c2, step, eps := k7[0], k7[1], k7[2], k7[3], k7[4], k7[5], k7[6]
	l := newLoop("adamw", 1)
	c.Comment("m = m*b1 + g*c1; v = v*b2 + (g*c2)*g; p = p*decay - (m*step)/(sqrt(v) + eps)")
	l.emit(s, n, func(k kind, j int) {
		gv := k.load(l.at(g, k, j))
		mv := k.load(l.at(m, k, j))
		k.mul(k.of(b1), mv, mv)
		t := k.reg()
		k.mul(k.of(c1), gv, t)
		k.add(t, mv, mv)
		k.mov(mv, l.at(m, k, j))
		vv := k.load(l.at(v, k, j))
		k.mul(k.of(b2), vv, vv)
		k.mul(k.of(c2), gv, t)
		k.mul(gv, t, t)
		k.add(t, vv, vv)
		k.mov(vv, l.at(v, k, j))
		k.sqrt(vv, t)
		k.add(k.of(eps), t, t)
		k.mul(k.of(step), mv, mv)
		k.div(t, mv, mv)
		pv := k.load(l.at(p, k, j))
		k.mul(k.of(decay), pv, pv)
		k.sub(mv, pv, pv)
		k.mov(pv, l.at(p, k, j))
	}, nil)
	ret()
}
