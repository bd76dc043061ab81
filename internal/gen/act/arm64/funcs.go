package main

import (
	"math"

	"github.com/petl-go/petl/internal/gen/act/coef"
)

// The functions below mirror internal/gen/act/amd64/funcs.go step for step
// (the same reductions, polynomials and special-case handling); see there
// for the reasoning. Inputs are never modified; every function returns new
// registers and frees its temporaries.

const (
	magic = 0x1.8p23 // 1.5·2²³
)

// expFull returns e^x for every float32 x (denormal results scaled exactly,
// overflow to +Inf, NaN kept: FMAX/FMIN propagate NaN).
func (f *fn) expFull(x V) V {
	f.Comment("exp: clamp x to [-104, 89] (NaN stays NaN)")
	lo := f.constant(-104)
	xc := f.fmax(x, lo)
	f.free(lo)
	hi := f.constant(89)
	xc2 := f.fmin(xc, hi)
	f.free(hi, xc)
	return f.expClamped(xc2)
}

// expFlush returns e^x for x ≤ 0 (or NaN), x < -86.9 giving +0 (see the
// amd64 generator).
func (f *fn) expFlush(x V) V {
	f.Comment("exp: clamp x ≥ -86.9 so that p·2^n is a normal float; lanes below are zeroed at the end")
	lo := f.constant(-86.9)
	xc := f.fmax(x, lo)
	t, r := f.expReduce(xc)
	f.free(xc)
	p := f.expPoly(r)
	f.free(r)
	f.Comment("exp: y = p·2^n, 2^n = (n+127)<<23 from t's low bits; y = 0 where x < -86.9 (NaN kept)")
	s0 := f.shl(t, 23)
	f.free(t)
	ob := f.constant(1)
	s := f.iadd(s0, ob)
	f.free(s0, ob)
	y := f.fmul(p, s)
	f.free(p, s)
	below := f.fcmgt(lo, x) // false for NaN
	f.free(lo)
	out := f.bic(y, below)
	f.free(y, below)
	return out
}

// expNonPositive is expFull for x ≤ 0 (or NaN): only the lower clamp.
func (f *fn) expNonPositive(x V) V {
	f.Comment("exp: clamp x ≤ 0 to [-104, 0] (NaN stays NaN)")
	lo := f.constant(-104)
	xc := f.fmax(x, lo)
	f.free(lo)
	return f.expClamped(xc)
}

// expClamped is expFull after the clamp; it frees its argument.
func (f *fn) expClamped(xc2 V) V {
	t, r := f.expReduce(xc2)
	f.free(xc2)
	p := f.expPoly(r)
	f.free(r)
	f.Comment("exp: scale by 2^(n>>1) · 2^(n-(n>>1)), each a normal float")
	mb := f.constBits(math.Float32bits(magic))
	ni := f.isub(t, mb)
	f.free(mb, t)
	n1 := f.sshr(ni, 1)
	n2 := f.isub(ni, n1)
	f.free(ni)
	bias := f.constBits(127)
	e1 := f.iadd(n1, bias)
	f.free(n1)
	s1 := f.shl(e1, 23)
	f.free(e1)
	y1 := f.fmul(p, s1)
	f.free(p, s1)
	e2 := f.iadd(n2, bias)
	f.free(n2, bias)
	s2 := f.shl(e2, 23)
	f.free(e2)
	y := f.fmul(y1, s2)
	f.free(y1, s2)
	return y
}

// expNormal returns e^x where the result and its reduction stay normal
// (|x| ≤ 86): 2^n is added to the exponent field directly.
func (f *fn) expNormal(x V) V {
	t, r := f.expReduce(x)
	p := f.expPoly(r)
	f.free(r)
	return f.addExponent("exp", p, t)
}

// addExponent returns p·2^n by adding n (the low bits of t) to p's
// exponent field, and frees p and t; what names the function in the
// comment.
func (f *fn) addExponent(what string, p, t V) V {
	f.Comment("%s: add n to the exponent field (t's low bits hold n)", what)
	s := f.shl(t, 23)
	f.free(t)
	y := f.iadd(p, s)
	f.free(p, s)
	return y
}

// exp2Normal returns 2^y for |y| ≤ 125 (no multiply-adds in the reduction).
func (f *fn) exp2Normal(y V, pp erfPolys) V {
	f.Comment("exp2: n = round(y) via the 1.5·2²³ trick; r = y - n exactly")
	m := f.constant(magic)
	t := f.fadd(y, m)
	n := f.fsub(t, m)
	f.free(m)
	r := f.fsub(y, n)
	f.free(n)
	f.Comment("exp2: p = 2^r = 1 + ln2·r + Σ c_k (ln2·r)^k")
	p := f.horner(r, exp2Coef(pp.exp))
	f.free(r)
	return f.addExponent("exp2", p, t)
}

// exp2Coef is the exp polynomial in r·ln2, highest degree first.
func exp2Coef(exp []float64) []float64 {
	deg := len(exp) + 1
	c := make([]float64, 0, deg+1)
	for k, v := range exp {
		c = append(c, v*math.Pow(math.Ln2, float64(deg-k)))
	}
	return append(c, math.Ln2, 1)
}

// erfPolys is a set of polynomials of erf, as in the amd64 generator.
type erfPolys struct {
	small, erfcLog, exp []float64
}

// erfGELU is the set of the GELU forward kernels.
var erfGELU = erfPolys{coef.ErfSmallGELU, coef.ErfcLogGELU, coef.ExpGELU}

// scaled returns c multiplied by k.
func scaled(c []float64, k float64) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = v * k
	}
	return out
}

// expReduce returns t = round(x·log2e) + 1.5·2²³ and r = x - n·ln2.
func (f *fn) expReduce(x V) (t, r V) {
	f.Comment("exp: n = round(x·log2e) via the 1.5·2²³ trick; r = x - n·ln2")
	t = f.constant(magic)
	f.fmaKTo(t, x, float32(math.Log2E))
	m := f.constant(magic)
	n := f.fsub(t, m)
	f.free(m)
	r = f.cp(x)
	f.fmaKTo(r, n, -float32(math.Ln2))
	f.fmaKTo(r, n, -float32(math.Ln2-float64(float32(math.Ln2))))
	f.free(n)
	return t, r
}

// expPoly returns p(r) ≈ e^r.
func (f *fn) expPoly(r V) V {
	f.Comment("exp: p = 1 + r + r²·(c2 + c3 r + ... + c6 r⁴)")
	p := f.horner(r, coef.Exp)
	for k := 0; k < 2; k++ {
		one := f.constant(1)
		f.fmaTo(one, p, r)
		f.free(p)
		p = one
	}
	return p
}

// abs returns |x| and the sign bit of x.
func (f *fn) absSign(x V) (a, s V) {
	am := f.constBits(0x7fffffff)
	a = f.and(x, am)
	f.free(am)
	sm := f.constBits(0x80000000)
	s = f.and(x, sm)
	f.free(sm)
	return a, s
}

// tanh returns tanh(x) (see the amd64 generator).
func (f *fn) tanh(x V) V {
	f.Comment("tanh: a = |x|, s = sign(x)")
	a, s := f.absSign(x)
	f.Comment("tanh: small a: a + a·a²·P(a²)")
	a2 := f.fmul(a, a)
	q := f.horner(a2, coef.Tanh)
	q2 := f.fmul(q, a2)
	f.free(q, a2)
	small := f.fma(q2, a, a)
	f.free(q2)
	f.Comment("tanh: large a: 1 - 2/(e^(2a)+1), a clamped to 9.1")
	cl := f.constant(9.1)
	ac := f.fmin(a, cl)
	f.free(cl)
	ac2 := f.fadd(ac, ac)
	f.free(ac)
	ex := f.expNormal(ac2)
	f.free(ac2)
	one := f.constant(1)
	den := f.fadd(ex, one)
	f.free(ex)
	two := f.constant(2)
	q3 := f.fdiv(two, den)
	f.free(two, den)
	large := f.fsub(one, q3)
	f.free(one, q3)
	sp := f.constant(0.625)
	isSmall := f.fcmgt(sp, a)
	f.free(sp, a)
	return f.withSign(isSmall, small, large, s)
}

// erfParts returns erf(a) for a < 1, erfc(min(a, 4)) for a ≥ 1, and the
// mask a < 1.
func (f *fn) erfParts(a V, p erfPolys) (small, big, isSmall V) {
	f.Comment("erf: a ≥ 1: erfc(a) = exp(Q(a)), a clamped to 4")
	four := f.constant(4)
	ac := f.fmin(a, four)
	f.free(four)
	qa := f.horner(ac, scaled(p.erfcLog, math.Log2E))
	f.free(ac)
	big = f.exp2Normal(qa, p)
	f.free(qa)
	f.Comment("erf: a < 1: erf(a) = a + a·(P(a²) - 1)")
	a2 := f.fmul(a, a)
	n := len(p.small)
	q := f.horner(a2, p.small[:n-1])
	c1 := f.constant(float32(p.small[n-1] - 1))
	f.fmaTo(c1, q, a2)
	f.free(q, a2)
	small = f.fma(c1, a, a)
	f.free(c1)
	one := f.constant(1)
	isSmall = f.fcmgt(one, a)
	f.free(one)
	return small, big, isSmall
}

// phi returns Φ(x) from h = erfc(|x|/√2)/2 as x < 0 ? h : 1 - h (h = 0 for
// |x|/√2 ≥ 4).
func (f *fn) phi(x V) V {
	f.Comment("Φ: a = |x|/√2; q = erfc(a)")
	xs := f.mulK(x, float32(1/math.Sqrt2))
	a, s := f.absSign(xs)
	f.free(xs, s)
	small, big, isSmall := f.erfParts(a, erfGELU)
	one := f.constant(1)
	cs := f.fsub(one, small)
	f.free(small)
	q := f.blend(isSmall, big, cs)
	f.free(isSmall, big, cs)
	four := f.constant(4)
	inRange := f.fcmgt(four, a)
	f.free(four, a)
	q2 := f.and(q, inRange)
	f.free(q, inRange)
	f.Comment("Φ: h = q/2; Φ = x < 0 ? h : 1 - h")
	return f.phiFromErfc(x, q2, one)
}

// gelu returns x·Φ(x).
func (f *fn) gelu(x V) V {
	p := f.phi(x)
	f.Comment("GELU: y = x·Φ(x)")
	y := f.fmul(p, x)
	f.free(p)
	return y
}

// geluGrad returns Φ(x) + x·φ(x) with one exponential E = e^(-x²/2) for
// both terms (see the amd64 generator).
func (f *fn) geluGrad(x V) V {
	f.Comment("GELU': E = e^(-x²/2), |x| clamped to 20, x² = hi + lo exactly")
	ax, s := f.absSign(x)
	f.free(s)
	tw := f.constant(20)
	xc := f.fmin(ax, tw)
	f.free(tw)
	hi := f.fmul(xc, xc)
	lo := f.mulK(hi, -1)
	f.fmaTo(lo, xc, xc)
	f.free(xc)
	arg := f.mulK(hi, -0.5)
	f.free(hi)
	ex := f.expFlush(arg)
	f.free(arg)
	corr := f.mulK(lo, -0.5)
	f.free(lo)
	f.fmaTo(ex, ex, corr)
	f.free(corr)
	f.Comment("GELU': a = |x|/√2, t = 1/(1 + 0.4a)")
	a := f.mulK(ax, float32(1/math.Sqrt2))
	f.free(ax)
	one := f.constant(1)
	den := f.cp(one)
	f.fmaKTo(den, a, coef.ErfcTP)
	f.free(a)
	t := f.fdiv(one, den)
	f.free(den)
	f.Comment("GELU': q = erfc(a) = t·E·R(t); h = q/2; Φ = x < 0 ? h : 1 - h")
	rt := f.horner(t, coef.ErfcT)
	rt2 := f.fmul(rt, t)
	f.free(rt, t)
	q := f.fmul(rt2, ex)
	f.free(rt2)
	p := f.phiFromErfc(x, q, one)
	f.Comment("GELU': Φ(x) + x·φ(x), φ = E/√(2π)")
	pdf := f.mulK(ex, float32(1/math.Sqrt(2*math.Pi)))
	f.free(ex)
	f.fmaTo(p, x, pdf)
	f.free(pdf)
	return p
}

// withSign returns isSmall ? small : large with the sign bits s put back,
// and frees its arguments.
func (f *fn) withSign(isSmall, small, large, s V) V {
	r := f.blend(isSmall, large, small)
	f.free(isSmall, large, small)
	y := f.or(r, s)
	f.free(r, s)
	return y
}

// phiFromErfc returns Φ(x) = x < 0 ? h : 1 - h for h = q/2 (q = erfc(|x|/√2))
// and frees q and one (the constant 1).
func (f *fn) phiFromErfc(x, q, one V) V {
	h := f.mulK(q, 0.5)
	f.free(q)
	oh := f.fsub(one, h)
	f.free(one)
	neg := f.negMask(x)
	p := f.blend(neg, oh, h)
	f.free(neg, oh, h)
	return p
}
