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
		l.addBlock(k, j, dst, a, b)
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

// eachRow emits, from label, a loop that runs body (which moves the row
// pointers on) rows times, counting rows down to 0, then leaves for ret.
func eachRow(label, note string, rows reg.GPVirtual, body func()) {
	c.Label(label)
	c.Comment(note)
	c.TESTQ(rows, rows)
	c.JZ(operand.LabelRef("ret"))
	body()
	c.DECQ(rows)
	c.JMP(operand.LabelRef(label))
}

func emitAddBias(s isa) {
	function(s, contract.AddBias)
	x, b, rows, cols := ptr("x"), ptr("bias"), param("rows"), param("cols")
	rb := c.GP64()
	c.MOVQ(cols, rb)
	c.SHLQ(operand.Imm(2), rb)
	eachRow("row", "for ; rows > 0; rows--, x = x[cols:]", rows, func() {
		l := newLoop("bias", 4)
		c.Comment("x[c] += bias[c]")
		l.emit(s, cols, func(k kind, j int) {
			l.addBlock(k, j, x, x, b)
		}, nil)
		c.ADDQ(rb, x)
	})
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

	eachRow("rows1", "for ; rows > 0; rows--, dy = dy[ld:]", rows, func() {
		l1 := newLoop("one", 4)
		c.Comment("db[c] += dy[c]")
		l1.emit(s, cols, func(k kind, j int) {
			l1.addBlock(k, j, db, db, dy)
		}, nil)
		c.ADDQ(ldb, dy)
	})
	ret()
}

// emitLayerNorm emits LayerNorm<isa>, or with fused AddLayerNorm<isa> (the
// residual sum a+b is formed, stored and normalised in one pass over a row).
// Each row takes three passes: the mean (shifted by the row's first value
// K, for accuracy), the variance about it, and the normalised output.
func emitLayerNorm(s isa, fused bool) {
	if fused {
		function(s, contract.AddLayerNorm(s.contract))
	} else {
		function(s, contract.LayerNorm(s.contract))
	}
	ln := loadLayerNormArgs(s, fused)
	rowLoopHead(ln.r, ln.rows)
	muv := ln.meanPass()
	rhov := ln.variancePass(muv)
	ln.normalisePass(muv, rhov)
	ln.nextRow()
	ret()
}

// rowLoopHead starts the loop over rows from label row: r from 0 to rows,
// leaving for ret.
func rowLoopHead(r reg.GPVirtual, rows operand.Mem) {
	c.Label("row")
	c.Comment("for r := 0; r < rows; r++")
	c.CMPQ(r, rows)
	c.JGE(operand.LabelRef("ret"))
}

// layerNorm holds the registers of a LayerNorm or AddLayerNorm kernel.
type layerNorm struct {
	s     isa
	fused bool // AddLayerNorm: x is the sum a+b, formed in pass 1
	// Row pointers: y and x (sum for AddLayerNorm, with a and b).
	y, x, a, b reg.GPVirtual
	// Per-row outputs (nil pointers skip them) and the per-column affine map.
	mean, rstd, gamma, beta reg.GPVirtual
	rows                    operand.Mem   // the row count, on the stack
	cols, rowBytes, r       reg.GPVirtual // columns, 4*cols, the row index
	nf, one, eps            reg.VecVirtual
}

// loadLayerNormArgs loads the arguments and the row-invariant constants, and
// returns early when cols is 0.
func loadLayerNormArgs(s isa, fused bool) *layerNorm {
	ln := &layerNorm{s: s, fused: fused, y: ptr("y")}
	if fused {
		ln.x, ln.a, ln.b = ptr("sum"), ptr("a"), ptr("b")
	} else {
		ln.x = ptr("x")
	}
	ln.mean, ln.rstd, ln.gamma, ln.beta = ptr("mean"), ptr("rstd"), ptr("gamma"), ptr("beta")
	ln.rows, ln.cols = addr("rows"), param("cols")
	c.Comment("if cols == 0 { return }; nf := float32(cols); one := float32(1)")
	c.TESTQ(ln.cols, ln.cols)
	c.JZ(operand.LabelRef("ret"))
	ln.nf = c.XMM()
	c.VXORPS(ln.nf, ln.nf, ln.nf)
	c.VCVTSI2SSQ(ln.cols, ln.nf, ln.nf)
	ln.one = constant(0x3f800000)
	ln.eps = c.XMM()
	c.VMOVSS(addr("eps"), ln.eps)
	ln.rowBytes, ln.r = c.GP64(), c.GP64()
	c.MOVQ(ln.cols, ln.rowBytes)
	c.SHLQ(operand.Imm(2), ln.rowBytes)
	c.XORQ(ln.r, ln.r)
	return ln
}

// meanPass emits pass 1, d = Σ (z - K) (forming and storing z = a+b for
// AddLayerNorm), stores μ = K + d/nf in mean[r] if mean is set, and returns
// μ broadcast.
func (ln *layerNorm) meanPass() reg.VecVirtual {
	s := ln.s
	var kv reg.VecVirtual
	if ln.fused {
		c.Comment("K := a[0] + b[0]")
		kx := c.XMM()
		c.VMOVSS(operand.Mem{Base: ln.a}, kx)
		c.VADDSS(operand.Mem{Base: ln.b}, kx, kx)
		kv = broadcast(s, kx)
	} else {
		c.Comment("K := x[0]")
		kv = broadcast(s, operand.Mem{Base: ln.x})
	}
	acc := zeros(s, 4)
	var d reg.VecVirtual
	l := newLoop("mean", 4)
	if ln.fused {
		c.Comment("sum[c] = a[c] + b[c]; acc[j] += sum[c] - K")
	} else {
		c.Comment("acc[j] += x[c] - K")
	}
	l.emit(s, ln.cols, func(k kind, j int) {
		var t reg.VecVirtual
		if ln.fused {
			t = k.load(l.at(ln.a, k, j))
			k.add(l.at(ln.b, k, j), t, t)
			k.mov(t, l.at(ln.x, k, j))
		} else {
			t = k.load(l.at(ln.x, k, j))
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
	c.VDIVSS(ln.nf, d, mu)
	c.VADDSS(kv.AsX(), mu, mu)
	storeIfSet(ln.mean, ln.r, mu, "nomean")
	return broadcast(s, mu)
}

// variancePass emits pass 2, q = Σ (z - μ)², stores ρ = 1/sqrt(q/nf + eps)
// in rstd[r] if rstd is set, and returns ρ broadcast.
func (ln *layerNorm) variancePass(muv reg.VecVirtual) reg.VecVirtual {
	s := ln.s
	acc := zeros(s, 4)
	var q reg.VecVirtual
	l := newLoop("var", 4)
	c.Comment("t := z[c] - μ; acc[j] += t*t")
	l.emit(s, ln.cols, func(k kind, j int) {
		t := k.load(l.at(ln.x, k, j))
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
	c.VDIVSS(ln.nf, q, q)
	c.VADDSS(ln.eps, q, q)
	c.VSQRTSS(q, q, q)
	rho := c.XMM()
	c.VDIVSS(q, ln.one, rho)
	storeIfSet(ln.rstd, ln.r, rho, "norstd")
	return broadcast(s, rho)
}

// normalisePass emits pass 3: y = (z - μ)*ρ*gamma + beta.
func (ln *layerNorm) normalisePass(muv, rhov reg.VecVirtual) {
	l := newLoop("norm", 4)
	c.Comment("y[c] = ((z[c] - μ) * ρ) * gamma[c] + beta[c]")
	l.emit(ln.s, ln.cols, func(k kind, j int) {
		t := k.normalised(l.at(ln.x, k, j), muv, rhov)
		g := k.load(l.at(ln.gamma, k, j))
		k.fma213(l.at(ln.beta, k, j), g, t)
		k.mov(t, l.at(ln.y, k, j))
	}, nil)
}

// nextRow moves the row pointers on by one row and jumps back to the row
// loop.
func (ln *layerNorm) nextRow() {
	for _, p := range []reg.GPVirtual{ln.y, ln.x} {
		c.ADDQ(ln.rowBytes, p)
	}
	if ln.fused {
		c.ADDQ(ln.rowBytes, ln.a)
		c.ADDQ(ln.rowBytes, ln.b)
	}
	c.INCQ(ln.r)
	c.JMP(operand.LabelRef("row"))
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
	lb := loadLayerNormBackwardArgs(s, params)
	rowLoopHead(lb.r, lb.rows)
	c.Comment("μ, ρ := mean[r], rstd[r]")
	muv := broadcast(s, operand.Mem{Base: lb.mean, Index: lb.r, Scale: 4})
	rhov := broadcast(s, operand.Mem{Base: lb.rstd, Index: lb.r, Scale: 4})
	bv, cv := lb.sumsPass(muv, rhov)
	lb.dxPass(muv, rhov, bv, cv)
	for _, p := range []reg.GPVirtual{lb.dx, lb.dy, lb.x} {
		c.ADDQ(lb.rowBytes, p)
	}
	c.INCQ(lb.r)
	c.JMP(operand.LabelRef("row"))
	ret()
}

// layerNormBackward holds the registers of a LayerNormBackward or
// LayerNormBackwardDX kernel.
type layerNormBackward struct {
	s      isa
	params bool // dgamma and dbeta are updated in the first pass
	// Row pointers: dx, dy, x; the per-column dgamma, dbeta (params only) and
	// gamma; the per-row mean and rstd.
	dx, dy, x, dg, db, gamma, mean, rstd reg.GPVirtual
	rows                                 operand.Mem   // the row count, on the stack
	cols, rowBytes, r                    reg.GPVirtual // columns, 4*cols, the row index
	nf                                   reg.VecVirtual
}

// loadLayerNormBackwardArgs loads the arguments and nf := float32(cols).
func loadLayerNormBackwardArgs(s isa, params bool) *layerNormBackward {
	lb := &layerNormBackward{s: s, params: params, dx: ptr("dx")}
	if params {
		lb.dg, lb.db = ptr("dgamma"), ptr("dbeta")
	}
	lb.dy, lb.x, lb.mean, lb.rstd, lb.gamma = ptr("dy"), ptr("x"), ptr("mean"), ptr("rstd"), ptr("gamma")
	lb.rows, lb.cols = addr("rows"), param("cols")
	lb.nf = c.XMM()
	c.VXORPS(lb.nf, lb.nf, lb.nf)
	c.VCVTSI2SSQ(lb.cols, lb.nf, lb.nf)
	lb.rowBytes, lb.r = c.GP64(), c.GP64()
	c.MOVQ(lb.cols, lb.rowBytes)
	c.SHLQ(operand.Imm(2), lb.rowBytes)
	c.XORQ(lb.r, lb.r)
	return lb
}

// sumsPass emits the first pass over a row: sg = Σ g and sgx = Σ g*xh for
// g = dy*gamma (with dgamma and dbeta updated when params), and returns
// B = ρ*sg/nf and C = ρ*sgx/nf broadcast.
func (lb *layerNormBackward) sumsPass(muv, rhov reg.VecVirtual) (bv, cv reg.VecVirtual) {
	s := lb.s
	sg, sgx := zeros(s, 2), zeros(s, 2)
	var sgT, sgxT reg.VecVirtual
	l := newLoop("sums", 2)
	if lb.params {
		c.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh; dgamma[c] += dy[c]*xh; dbeta[c] += dy[c]")
	} else {
		c.Comment("xh := (x[c]-μ)*ρ; g := dy[c]*gamma[c]; sg[j] += g; sgx[j] += g*xh")
	}
	l.emit(s, lb.cols, func(k kind, j int) {
		xh := k.normalised(l.at(lb.x, k, j), muv, rhov)
		d := k.load(l.at(lb.dy, k, j))
		g := k.reg()
		k.mul(l.at(lb.gamma, k, j), d, g)
		a, b := sgT, sgxT
		if !k.scalar {
			a, b = sg[j], sgx[j]
		}
		k.add(g, a, a)
		k.fma231(xh, g, b)
		if lb.params {
			t := k.load(l.at(lb.dg, k, j))
			k.fma231(xh, d, t)
			k.mov(t, l.at(lb.dg, k, j))
			u := k.load(l.at(lb.db, k, j))
			k.add(d, u, u)
			k.mov(u, l.at(lb.db, k, j))
		}
	}, func() {
		c.Comment("sg, sgx := sg0+sg1, sgx0+sgx1, summed across lanes")
		sgT = horizontal(s, fold(c.VADDPS, sg), c.VADDPS)
		sgxT = horizontal(s, fold(c.VADDPS, sgx), c.VADDPS)
	})
	c.Comment("B, C := ρ*(sg/nf), ρ*(sgx/nf)")
	c.VDIVSS(lb.nf, sgT, sgT)
	c.VMULSS(rhov.AsX(), sgT, sgT)
	c.VDIVSS(lb.nf, sgxT, sgxT)
	c.VMULSS(rhov.AsX(), sgxT, sgxT)
	return broadcast(s, sgT), broadcast(s, sgxT)
}

// dxPass emits the second pass over a row: dx += g*ρ - (C*xh + B).
func (lb *layerNormBackward) dxPass(muv, rhov, bv, cv reg.VecVirtual) {
	l := newLoop("dx", 2)
	c.Comment("dx[c] += g*ρ - (C*xh + B)")
	l.emit(lb.s, lb.cols, func(k kind, j int) {
		xh := k.normalised(l.at(lb.x, k, j), muv, rhov)
		g := k.load(l.at(lb.dy, k, j))
		k.mul(l.at(lb.gamma, k, j), g, g)
		k.fma213(k.of(bv), k.of(cv), xh)
		k.mul(k.of(rhov), g, g)
		k.sub(xh, g, g)
		k.add(l.at(lb.dx, k, j), g, g)
		k.mov(g, l.at(lb.dx, k, j))
	}, nil)
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
			xh := k.normalised(l.at(xs[q], k, j), mus[q], rhos[q])
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
