package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAdamWExact checks that every variant gives the reference's bits (the
// same operations in the same order, each rounded to float32), over lengths,
// offsets, NaN and Inf in every input, and several hyperparameter sets.
func TestAdamWExact(t *testing.T) {
	pars := []AdamWParams{
		{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 1},
		{LR: 3e-4, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0, Step: 7},
		{LR: 1, Beta1: 0, Beta2: 0.5, Eps: 0, WeightDecay: 1, Step: 1000},
	}
	forEachVariant(t, adamWOp, func(t *testing.T, v Variant, impl adamWFunc) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, par := range pars {
			decay, c1, c2, step, eps := par.scalars()
			for _, n := range rtLengths() {
				off := n % 4
				p := newGuarded(n, off, rtWithSpecials(rng, rtNormal(rng, 0, 1), 23))
				g := newGuarded(n, off+1, rtWithSpecials(rng, rtNormal(rng, 0, 0.1), 23))
				m := newGuarded(n, off+2, rtWithSpecials(rng, rtNormal(rng, 0, 0.01), 29))
				vv := newGuarded(n, off+3, rtWithSpecials(rng, func(int) float32 { return float32(math.Abs(rng.NormFloat64()) * 1e-4) }, 29))
				wp, wm, wv := slices.Clone(p.s()), slices.Clone(m.s()), slices.Clone(vv.s())
				adamWGeneric(wp, g.s(), wm, wv, decay, par.Beta1, c1, par.Beta2, c2, step, eps)
				impl(p.s(), g.s(), m.s(), vv.s(), decay, par.Beta1, c1, par.Beta2, c2, step, eps)
				what := fmt.Sprintf("%+v n=%d", par, n)
				requireSameBits(t, what+" p", p.s(), wp)
				requireSameBits(t, what+" m", m.s(), wm)
				requireSameBits(t, what+" v", vv.s(), wv)
				for _, b := range []guardedBuf{p, m, vv} {
					b.checkGuards(t, what)
				}
			}
		}
	})
}

// TestAdamWPyTorchFormula runs ten steps of every variant against a float64
// transcription of PyTorch's AdamW (torch/optim/adamw.py,
// _single_tensor_adamw):
//
//	param.mul_(1 - lr*weight_decay)
//	exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
//	exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
//	denom = (exp_avg_sq.sqrt() / sqrt(1-beta2**step)).add_(eps)
//	param.addcdiv_(exp_avg, denom, value=-lr/(1-beta1**step))
//
// with the float32 hyperparameters converted exactly (AdamW moves the
// 1/√(1-β2^t) into its scalars, which changes the result by rounding only).
// The tolerance follows the float32 rounding errors through the steps, per
// element (em, ev, ep bound |m32-m|, |v32-v|, |p32-p|):
//
//	em' = β1·em + 3u(β1|m| + c1|g|)
//	ev' = β2·ev + 4u(β2|v| + c2·g²)
//	|Δupdate| <= step·(em' + |m'|·(ev'/(2v') + 7u))/den
//	ep' = decay·ep + 3u|p·decay| + |Δupdate| + u|p'|
//
// and the test allows twice that.
func TestAdamWPyTorchFormula(t *testing.T) {
	forEachVariant(t, adamWOp, func(t *testing.T, v Variant, impl adamWFunc) {
		rng := rand.New(rand.NewPCG(33, 34))
		const n = 1000
		par := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
		lr, b1, b2, eps, wd := float64(par.LR), float64(par.Beta1), float64(par.Beta2), float64(par.Eps), float64(par.WeightDecay)
		p32, m32, v32 := make([]float32, n), make([]float32, n), make([]float32, n)
		p, m, vv := make([]float64, n), make([]float64, n), make([]float64, n)
		em, ev, ep := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range p32 {
			p32[i] = float32(rng.NormFloat64())
			p[i] = float64(p32[i])
		}
		g32 := make([]float32, n)
		for step := 1; step <= 10; step++ {
			for i := range g32 {
				g32[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-4)))
			}
			par.Step = step
			decay, c1, c2, st, e := par.scalars()
			impl(p32, g32, m32, v32, decay, par.Beta1, c1, par.Beta2, c2, st, e)

			bc1 := 1 - math.Pow(b1, float64(step))
			bc2sqrt := math.Sqrt(1 - math.Pow(b2, float64(step)))
			for i := range p {
				g := float64(g32[i])
				pd := p[i] * (1 - lr*wd)
				em[i] = b1*em[i] + 3*rtU*(b1*math.Abs(m[i])+(1-b1)*math.Abs(g))
				ev[i] = b2*ev[i] + 4*rtU*(b2*vv[i]+(1-b2)*g*g)
				m[i] = b1*m[i] + (1-b1)*g
				vv[i] = b2*vv[i] + (1-b2)*g*g
				den := math.Sqrt(vv[i])/bc2sqrt + eps
				relDen := 7 * rtU
				if vv[i] > 0 {
					relDen += ev[i] / (2 * vv[i])
				}
				du := lr / bc1 * (em[i] + math.Abs(m[i])*relDen) / den
				p[i] = pd - lr/bc1*m[i]/den
				ep[i] = (1-lr*wd)*ep[i] + 3*rtU*math.Abs(pd) + du + rtU*math.Abs(p[i])

				require.InDelta(t, m[i], float64(m32[i]), 2*em[i], "step %d m[%d]", step, i)
				require.InDelta(t, vv[i], float64(v32[i]), 2*ev[i], "step %d v[%d]", step, i)
				require.InDelta(t, p[i], float64(p32[i]), 2*ep[i], "step %d p[%d]", step, i)
			}
		}
	})
}

// TestAdamWThreads checks the exported AdamW against the reference on a
// slice large enough to be split over goroutines.
func TestAdamWThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(35, 36))
	const n = 200003
	g := newGuarded(n, 0, rtNormal(rng, 0, 0.1)).s()
	par := AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 3}
	p0 := newGuarded(n, 0, rtNormal(rng, 0, 1)).s()
	wp, wm, wv := slices.Clone(p0), make([]float32, n), make([]float32, n)
	decay, c1, c2, step, eps := par.scalars()
	adamWGeneric(wp, g, wm, wv, decay, par.Beta1, c1, par.Beta2, c2, step, eps)
	for _, th := range []int{1, 2, 3} {
		SetThreads(th)
		p, m, v := slices.Clone(p0), make([]float32, n), make([]float32, n)
		AdamW(p, g, m, v, par)
		requireSameBits(t, fmt.Sprintf("threads=%d p", th), p, wp)
		requireSameBits(t, fmt.Sprintf("threads=%d m", th), m, wm)
		requireSameBits(t, fmt.Sprintf("threads=%d v", th), v, wv)
	}
	require.Panics(t, func() { AdamW(wp, g, wm, wv, AdamWParams{Step: 0}) })
}
