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

type adamWFunc func(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32)

var adamWOp = newOpTable[adamWFunc]("adamw", adamWGeneric)

// AdamW applies one AdamW update (Loshchilov & Hutter, decoupled weight
// decay) to the parameters p with gradient g and moment buffers m and v, as
// PyTorch's torch.optim.AdamW computes it (non-amsgrad, non-fused):
//
//	p[i] *= 1 - lr*wd
//	m[i] = β1*m[i] + (1-β1)*g[i]
//	v[i] = β2*v[i] + (1-β2)*g[i]²
//	p[i] -= lr/(1-β1^t) * m[i] / (√v[i]/√(1-β2^t) + eps)
//
// with t = par.Step (>= 1).
func AdamW(p, g, m, v []float32, par AdamWParams) {
	if par.Step < 1 {
		panic(fmt.Sprintf("kernels.AdamW: step %d, want >= 1", par.Step))
	}
	need("AdamW", "g", g, len(p))
	need("AdamW", "m", m, len(p))
	need("AdamW", "v", v, len(p))
	bc1 := float32(1 - math.Pow(float64(par.Beta1), float64(par.Step)))
	bc2 := float32(1 - math.Pow(float64(par.Beta2), float64(par.Step)))
	f := adamWOp.active()
	parallelFor(len(p), elemGrain, func(lo, hi int) {
		f(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], par.LR, par.Beta1, par.Beta2, par.Eps, par.WeightDecay, bc1, bc2)
	})
}

// adamWGeneric is the reference AdamW update (see AdamW); bc1 = 1-β1^t and
// bc2 = 1-β2^t.
func adamWGeneric(p, g, m, v []float32, lr, b1, b2, eps, wd, bc1, bc2 float32) {
	step := lr / bc1
	sq := float32(math.Sqrt(float64(bc2)))
	for i := range p {
		p[i] *= 1 - lr*wd
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		den := float32(math.Sqrt(float64(v[i])))/sq + eps
		p[i] -= step * m[i] / den
	}
}
