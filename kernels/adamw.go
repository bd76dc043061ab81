package kernels

import (
	"fmt"
	"math"
)

var negInf = math.Inf(-1)

// AdamWParams are the hyperparameters of one AdamW update.
type AdamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Step                               int // 1 for the first update
}

// adamWFunc is the signature of AdamW implementations. The scalars are
// those of one step, prepared by AdamWParams.scalars.
type adamWFunc func(p, g, m, v []float32, decay, b1, c1, b2, c2, step, eps float32)

var adamWOp = newOpTable[adamWFunc]("adamw", adamWGeneric)

// AdamW applies one AdamW update (Loshchilov & Hutter, decoupled weight
// decay) to the parameters p with gradient g and moment buffers m and v, as
// PyTorch's torch.optim.AdamW defines it (amsgrad=False, maximize=False;
// the algorithm in its documentation, with γ = lr, λ = wd, t = par.Step >= 1):
//
//	θ_t = θ_{t-1} - γλθ_{t-1}
//	m_t = β1 m_{t-1} + (1-β1) g_t
//	v_t = β2 v_{t-1} + (1-β2) g_t²
//	θ_t = θ_t - γ (m_t/(1-β1^t)) / (√(v_t/(1-β2^t)) + ε)
//
// PyTorch's single-tensor implementation (torch/optim/adamw.py,
// _single_tensor_adamw) divides √v_t by √(1-β2^t) for every element; here
// that factor is moved into the step's scalars (formed once in float64), as
// in Kingma & Ba's "efficient version" of Adam, which saves one division per
// element and changes the result by rounding only:
//
//	p[i] = p[i] * (1 - lr*wd)
//	m[i] = m[i]*β1 + g[i]*(1-β1)
//	v[i] = v[i]*β2 + (g[i]*(1-β2))*g[i]
//	p[i] = p[i] - (m[i] * lr√(1-β2^t)/(1-β1^t)) / (√v[i] + eps·√(1-β2^t))
//
// each element operation rounded to float32 in this order. Every variant
// gives the same bits (no fused multiply-adds; √ and / are correctly
// rounded).
func AdamW(p, g, m, v []float32, par AdamWParams) {
	if par.Step < 1 {
		panic(fmt.Sprintf("kernels.AdamW: step %d, want >= 1", par.Step))
	}
	need("AdamW", "g", g, len(p))
	need("AdamW", "m", m, len(p))
	need("AdamW", "v", v, len(p))
	decay, c1, c2, step, eps := par.scalars()
	f := adamWOp.active()
	if serial(len(p), elemGrain) {
		f(p, g, m, v, decay, par.Beta1, c1, par.Beta2, c2, step, eps)
		return
	}
	adamWJobs.split(len(p), elemGrain, adamWArgs{f, p, g, m, v, [7]float32{decay, par.Beta1, c1, par.Beta2, c2, step, eps}})
}

type adamWArgs struct {
	f          adamWFunc
	p, g, m, v []float32
	s          [7]float32 // decay, β1, c1, β2, c2, step, eps
}

var adamWJobs = NewJobs(func(a *adamWArgs, lo, hi int) {
	s := &a.s
	a.f(a.p[lo:hi], a.g[lo:hi], a.m[lo:hi], a.v[lo:hi], s[0], s[1], s[2], s[3], s[4], s[5], s[6])
})

// scalars returns the per-step scalars of the update, formed in float64
// from the float32 hyperparameters: decay = 1-lr*wd, c1 = 1-β1, c2 = 1-β2,
// step = lr·√(1-β2^t)/(1-β1^t), eps = ε·√(1-β2^t).
func (par AdamWParams) scalars() (decay, c1, c2, step, eps float32) {
	lr, b1, b2, t := float64(par.LR), float64(par.Beta1), float64(par.Beta2), float64(par.Step)
	bc2sqrt := math.Sqrt(1 - math.Pow(b2, t))
	decay = float32(1 - lr*float64(par.WeightDecay))
	c1, c2 = float32(1-b1), float32(1-b2)
	step = float32(lr * bc2sqrt / (1 - math.Pow(b1, t)))
	eps = float32(float64(par.Eps) * bc2sqrt)
	return
}

// adamWGeneric is the reference AdamW update (see AdamW). The conversions
// round every product, which stops the compiler fusing a product into a
// multiply-add (it does on arm64); float32(math.Sqrt(float64(x))) is the
// correctly rounded float32 square root.
//
//	for i := range p {
//		m[i] = float32(m[i]*b1) + float32(g[i]*c1)
//		v[i] = float32(v[i]*b2) + float32(float32(g[i]*c2)*g[i])
//		p[i] = float32(p[i]*decay) - float32(m[i]*step)/(sqrt(v[i])+eps)
//	}
func adamWGeneric(p, g, m, v []float32, decay, b1, c1, b2, c2, step, eps float32) {
	for i := range p {
		gi := g[i]
		mi := float32(m[i]*b1) + float32(gi*c1)
		vi := float32(v[i]*b2) + float32(float32(gi*c2)*gi)
		m[i], v[i] = mi, vi
		den := float32(math.Sqrt(float64(vi))) + eps
		p[i] = float32(p[i]*decay) - float32(mi*step)/den
	}
}
