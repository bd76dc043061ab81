package main

import (
	"math"

	"github.com/petl-go/petl/internal/gen/act/coef"

	"github.com/mmcloughlin/avo/operand"
)

func coefs(name string, c []float64) []operand.Mem {
	m := make([]operand.Mem, len(c))
	for i, v := range c {
		m[i] = f32(name+string(rune('a'+i)), float32(v))
	}
	return m
}

var (
	kOne      = f32("one", 1)
	kHalf     = f32("half", 0.5)
	kTwo      = f32("two", 2)
	kAbs      = u32("absmask", 0x7fffffff)
	kSign     = u32("signmask", 0x80000000)
	kNegInf   = f32("neginf", float32(math.Inf(-1)))
	kNegMax   = f32("negmax", -math.MaxFloat32)
	kLog2e    = f32("log2e", float32(math.Log2E))
	kNegLn2Hi = f32("negln2hi", -float32(math.Ln2))
	kNegLn2Lo = f32("negln2lo", -float32(math.Ln2-float64(float32(math.Ln2))))
	kMagic    = f32("magic", 0x1.8p23) // 1.5·2²³: adding it rounds to an integer
	kMagicInt = u32("magicbits", math.Float32bits(0x1.8p23))
	kBias     = u32("bias127", 127)
	kExpLo    = f32("explo", -104)    // e^-104 rounds to 0
	kExpHi    = f32("exphi", 89)      // e^89 overflows
	kFlushLo  = f32("flushlo", -86.9) // round(x·log2e) ≥ -125: p·2^n stays normal (no denormal assists)
)

// expFull returns e^x for every float32 x: results below 2^-126 are
// denormal (correctly scaled), results above MaxFloat32 are +Inf, NaN stays
// NaN.
//
//	x = clamp(x, -104, 89)
//	n = round(x·log2 e); r = x - n·ln2 (in two parts)
//	e^x = p(r) · 2^(n - n/2) · 2^(n/2)  (two scalings keep every factor normal)
func (e *E) expFull(x V) V {
	ctx.Comment("exp: clamp x to [-104, 89] (NaN stays NaN)")
	x = e.max(e.ld(kExpLo), x)
	x = e.min(e.ld(kExpHi), x)
	return e.expClamped(x)
}

// expFlush returns e^x for x ≤ 0 (or NaN) with the results that would be
// below 2^-125 flushed: x < -86.9 gives +0. It never forms a denormal (which
// costs a microcode assist per lane on x86) and needs one scaling multiply
// instead of expFull's two.
func (e *E) expFlush(x V) V {
	ctx.Comment("exp: clamp x ≥ -86.9 so that p·2^n is a normal float (denormal results are slow); lanes below are zeroed at the end")
	xc := e.max(e.ld(kFlushLo), x)
	_, t, r := e.expReduce(xc)
	p := e.expPoly(r)
	ctx.Comment("exp: y = p·2^n, 2^n = (n+127)<<23 from t's low bits; y = 0 where x < -86.9 (NaN kept)")
	s := e.paddd(e.pslld(t, 23), C(f32("onebits", 1)))
	y := e.mul(p, s)
	return e.keep(e.cmp(cmpNLTUQ, x, C(kFlushLo)), y)
}

// expNonPositive is expFull for x ≤ 0 (or NaN): only the lower clamp.
func (e *E) expNonPositive(x V) V {
	ctx.Comment("exp: clamp x ≤ 0 to [-104, 0] (NaN stays NaN)")
	return e.expClamped(e.max(e.ld(kExpLo), x))
}

// expClamped is expFull after the clamp.
func (e *E) expClamped(x V) V {
	n, t, r := e.expReduce(x)
	p := e.expPoly(r)
	ctx.Comment("exp: scale by 2^n as 2^(n>>1) · 2^(n-(n>>1)), each a normal float")
	ni := e.psubd(t, C(kMagicInt))
	n1 := e.psrad(ni, 1)
	n2 := e.psubd(ni, n1)
	s1 := e.pslld(e.paddd(n1, C(kBias)), 23)
	s2 := e.pslld(e.paddd(n2, C(kBias)), 23)
	_ = n
	return e.mul(e.mul(p, s1), s2)
}

// expNormal returns e^x for x whose result is a normal float32 and whose
// reduction p(r)·2^n never leaves the exponent range (|x| ≤ 86): the 2^n
// scaling is a single integer add to the exponent field.
func (e *E) expNormal(x V) V {
	_, t, r := e.expReduce(x)
	p := e.expPoly(r)
	ctx.Comment("exp: add n to the exponent field (t's low bits hold n)")
	return e.paddd(e.pslld(t, 23), p)
}

// exp2Normal returns 2^y for y whose result is a normal float32 (|y| ≤ 125):
// n = round(y), r = y - n (exact), 2^r = p(r·ln2) with p the exp polynomial
// (its coefficients scaled by powers of ln2), 2^n added to the exponent.
// It needs no multiply-adds for the reduction, unlike e^x.
func (e *E) exp2Normal(y V, pp erfPolys) V {
	ctx.Comment("exp2: n = round(y) via the 1.5·2²³ trick; r = y - n exactly")
	t := e.add(y, C(kMagic))
	n := e.sub(t, C(kMagic))
	r := e.sub(y, n)
	ctx.Comment("exp2: p = 2^r = 1 + ln2·r + Σ c_k (ln2·r)^k")
	p := e.horner(r, coefs(pp.name+"exp2", exp2Coef(pp.exp)))
	ctx.Comment("exp2: add n to the exponent field (t's low bits hold n)")
	return e.paddd(e.pslld(t, 23), p)
}

// exp2Coef returns the exp polynomial in r·ln2, highest degree first,
// including the linear and constant terms.
func exp2Coef(exp []float64) []float64 {
	deg := len(exp) + 1 // exp holds degrees deg..2
	c := make([]float64, 0, deg+1)
	for k, v := range exp {
		c = append(c, v*math.Pow(math.Ln2, float64(deg-k)))
	}
	return append(c, math.Ln2, 1)
}

// expReduce returns n = round(x·log2 e) as a float, t = n + 1.5·2²³ (whose
// low mantissa bits hold n as an integer) and r = x - n·ln 2.
func (e *E) expReduce(x V) (n, t, r V) {
	ctx.Comment("exp: n = round(x·log2e) via the 1.5·2²³ trick; r = x - n·ln2")
	t = e.fma(x, C(kLog2e), e.ld(kMagic))
	n = e.sub(t, C(kMagic))
	r = e.fma(n, C(kNegLn2Hi), x)
	r = e.fma(n, C(kNegLn2Lo), r)
	return n, t, r
}

// expPoly returns p(r) ≈ e^r for |r| ≤ ln2/2.
func (e *E) expPoly(r V) V {
	ctx.Comment("exp: p = 1 + r + r²·(c2 + c3 r + ... + c6 r⁴)")
	p := e.horner(r, coefs("exp", coef.Exp))
	e.fmaTo(p, r, C(kOne))
	e.fmaTo(p, r, C(kOne))
	return p
}

// tanh returns tanh(x):
//
//	a = |x|
//	a < 0.625: a + a³·P(a²)
//	otherwise: 1 - 2/(e^(2·min(a, 9.1)) + 1)
//	with the sign of x put back.
func (e *E) tanh(x V) V {
	ctx.Comment("tanh: a = |x|, s = sign(x)")
	a := e.and(x, C(kAbs))
	s := e.and(x, C(kSign))
	ctx.Comment("tanh: small a: a + a·a²·P(a²)")
	a2 := e.mul(a, a)
	q := e.horner(a2, coefs("tanh", coef.Tanh))
	q = e.mul(q, a2)
	small := e.fma(q, a, a)
	ctx.Comment("tanh: large a: 1 - 2/(e^(2a)+1), a clamped to 9.1 (tanh rounds to 1 there)")
	ac := e.min(e.ld(f32("tanhclamp", 9.1)), a)
	ex := e.expNormal(e.add(ac, ac))
	large := e.sub(e.ld(kOne), e.div(e.ld(kTwo), e.add(ex, C(kOne))))
	c := e.cmp(cmpLT, a, C(f32("tanhsplit", 0.625)))
	return e.or(e.blend(c, large, small), s)
}

// erfPolys is a set of polynomials of erf: name prefixes their constants.
type erfPolys struct {
	name                string
	small, erfcLog, exp []float64
}

// erfGELU is the set of the GELU forward kernels.
var erfGELU = erfPolys{"gelu", coef.ErfSmallGELU, coef.ErfcLogGELU, coef.ExpGELU}

// scaled returns c multiplied by k.
func scaled(c []float64, k float64) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = v * k
	}
	return out
}

// erfParts returns, for a = |x| ≥ 0 (or NaN), small = erf(a) from the odd
// polynomial (meaningful for a < 1), big = erfc(min(a, 4)) from exp(P(a))
// (meaningful for a ≥ 1) and the condition a < 1.
func (e *E) erfParts(a V, p erfPolys) (small, big V, isSmall []cond) {
	ctx.Comment("erf: a < 1: erf(a) = a·P(a²)")
	a2 := e.mul(a, a)
	ctx.Comment("erf: written a + a·(P(a²) - 1) so that the leading term is exact")
	n := len(p.small)
	q := e.horner(a2, coefs(p.name+"s", p.small[:n-1]))
	e.fmaTo(q, a2, C(f32(p.name+"s1m1", float32(p.small[n-1]-1))))
	small = e.fma(q, a, a)
	ctx.Comment("erf: a ≥ 1: erfc(a) = 2^(Q(a)·log2e), a clamped to 4 (erf rounds to 1 there)")
	ac := e.min(e.ld(f32("four", 4)), a)
	big = e.exp2Normal(e.horner(ac, coefs(p.name+"c2", scaled(p.erfcLog, math.Log2E))), p)
	isSmall = e.cmp(cmpLT, a, C(kOne))
	return small, big, isSmall
}

// phi returns the standard normal CDF Φ(x) = 0.5·(1 + erf(x/√2)), computed
// from h = 0.5·erfc(|x|/√2) as x < 0 ? h : 1 - h, which keeps full relative
// accuracy in the left tail. For |x|/√2 ≥ 4 the tail h is taken as 0.
func (e *E) phi(x V) V {
	ctx.Comment("Φ: a = |x|/√2; q = erfc(a)")
	a := e.and(e.mul(x, C(f32("rsqrt2", 1/math.Sqrt2))), C(kAbs))
	small, big, isSmall := e.erfParts(a, erfGELU)
	q := e.blend(isSmall, big, e.sub(e.ld(kOne), small))
	q = e.keep(e.cmp(cmpLT, a, C(f32("four", 4))), q)
	ctx.Comment("Φ: h = q/2; Φ = x < 0 ? h : 1 - h")
	h := e.mul(q, C(kHalf))
	return e.blend(e.negative(x), e.sub(e.ld(kOne), h), h)
}

// gelu returns x·Φ(x).
func (e *E) gelu(x V) V {
	p := e.phi(x)
	ctx.Comment("GELU: y = x·Φ(x)")
	return e.mul(p, x)
}

// geluGrad returns Φ(x) + x·φ(x) with one exponential for both terms:
// E = e^(-x²/2) (x² split into hi + lo so that the exponent is exact), the
// density φ = E/√(2π), and the tail h = erfc(|x|/√2)/2 = t·E·R(t)/2 with
// t = 1/(1 + 0.4·|x|/√2); Φ = x < 0 ? h : 1 - h.
func (e *E) geluGrad(x V) V {
	ctx.Comment("GELU': a = |x|/√2, t = 1/(1 + 0.4a)")
	ax := e.and(x, C(kAbs))
	a := e.mul(ax, C(f32("rsqrt2", 1/math.Sqrt2)))
	den := e.fma(a, C(f32("erfctp", coef.ErfcTP)), e.ld(kOne))
	t := e.div(e.ld(kOne), den)
	ctx.Comment("GELU': E = e^(-x²/2), |x| clamped to 20 (E is 0 beyond), x² = hi + lo exactly")
	xc := e.min(e.ld(f32("twenty", 20)), ax)
	hi := e.mul(xc, xc)
	lo := e.fmsub(xc, xc, hi)
	ex := e.expFlush(e.mul(hi, C(f32("neghalf", -0.5))))
	corr := e.mul(lo, C(f32("neghalf", -0.5)))
	ex = e.fma(ex, corr, ex)
	ctx.Comment("GELU': q = erfc(a) = t·E·R(t); h = q/2; Φ = x < 0 ? h : 1 - h")
	q := e.mul(e.mul(e.horner(t, coefs("erfct", coef.ErfcT)), t), ex)
	h := e.mul(q, C(kHalf))
	p := e.blend(e.negative(x), e.sub(e.ld(kOne), h), h)
	ctx.Comment("GELU': Φ(x) + x·φ(x), φ = E/√(2π)")
	pdf := e.mul(ex, C(f32("rsqrt2pi", float32(1/math.Sqrt(2*math.Pi)))))
	return e.fma(x, pdf, p)
}
