package kernels

import "math"

// geluBwdFunc computes dx[i] = dy[i] * f'(x[i]).
type geluBwdFunc func(dx, dy, x []float32)

// biasGELUFunc adds bias to every row of pre in place, then y = GELU(pre).
type biasGELUFunc func(y, pre, bias []float32, rows, cols int)

var (
	geluOp         = newOpTable[vecFunc]("gelu", geluGeneric)
	geluBackwardOp = newOpTable[geluBwdFunc]("gelu_backward", geluBackwardGeneric)
	addBiasGELUOp  = newOpTable[biasGELUFunc]("add_bias_gelu", addBiasGELUGeneric)
)

// GELU computes the exact (erf) GELU that BERT uses, y[i] = x[i] * Φ(x[i]) =
// 0.5 * x[i] * (1 + erf(x[i] / √2)), for i < len(x). y and x may be the same.
//
// Accuracy of the SIMD variants, here and in GELUBackward and AddBiasGELU:
// |got - exact| ≤ 1e-7 + 1e-6·|exact|
// (the 1e-7 scaled by |dy| for the backward forms). They compute Φ(x) for
// x < 0 as erfc(|x|/√2)/2 rather than 1 - Φ(|x|), so nothing cancels; the
// forward kernels take Φ as 0 below x = -5.65 (where |GELU(x)| < 5e-8).
// GELU(+Inf) = +Inf, GELU(-Inf) = NaN (-Inf·0), as in the float64 formula.
func GELU(y, x []float32) { mapVec("GELU", geluOp, y, x) }

// GELUBackward computes dx[i] = dy[i] * (Φ(x[i]) + x[i] * φ(x[i])) for i < len(x),
// overwriting dx, where φ is the standard normal density.
func GELUBackward(dx, dy, x []float32) { mapBwd("GELUBackward", geluBackwardOp, dx, dy, x) }

// AddBiasGELU is the fused epilogue of a feed-forward layer: for each of rows
// rows of width cols it adds bias to pre in place (keeping the pre-activation
// for the backward pass) and writes y = GELU(pre):
//
//	pre[r*cols+c] += bias[c]
//	y[r*cols+c] = GELU(pre[r*cols+c])
func AddBiasGELU(y, pre, bias []float32, rows, cols int) {
	needShape("AddBiasGELU", rows, cols)
	need("AddBiasGELU", "pre", pre, rows*cols)
	need("AddBiasGELU", "y", y, rows*cols)
	need("AddBiasGELU", "bias", bias, cols)
	f := addBiasGELUOp.active()
	if rows <= rowGrain(cols) || opThreads() == 1 {
		f(y[:rows*cols], pre[:rows*cols], bias[:cols], rows, cols)
		return
	}
	biasGELUJobs.split(rows, rowGrain(cols), biasGELUArgs{f, y, pre, bias, cols})
}

type biasGELUArgs struct {
	f            biasGELUFunc
	y, pre, bias []float32
	cols         int
}

var biasGELUJobs = NewJobs(func(a *biasGELUArgs, lo, hi int) {
	a.f(a.y[lo*a.cols:hi*a.cols], a.pre[lo*a.cols:hi*a.cols], a.bias, hi-lo, a.cols)
})

// mapBwd runs an element-wise backward op, like mapVec.
func mapBwd(name string, op *opTable[geluBwdFunc], dx, dy, x []float32) {
	need(name, "dx", dx, len(x))
	need(name, "dy", dy, len(x))
	f := op.active()
	if len(x) <= elemGrain || opThreads() == 1 {
		f(dx[:len(x)], dy[:len(x)], x)
		return
	}
	elem3Jobs.split(len(x), elemGrain, elem3Args{f, dx, dy, x})
}

// geluGeneric is the reference exact GELU, computed in float64 with
// 1 + erf(x/√2) written as erfc(-x/√2), which does not cancel for negative x:
//
//	for i := range x { y[i] = 0.5 * x[i] * erfc(-x[i]/√2) }
func geluGeneric(y, x []float32) {
	for i, v := range x {
		f := float64(v)
		y[i] = float32(0.5 * f * math.Erfc(-f/math.Sqrt2))
	}
}

// geluBackwardGeneric is the reference GELU derivative, computed in float64
// (Φ(x) = erfc(-x/√2)/2, φ(x) = e^(-x²/2)/√(2π)):
//
//	for i := range x { dx[i] = dy[i] * (Φ(x[i]) + x[i]*φ(x[i])) }
func geluBackwardGeneric(dx, dy, x []float32) {
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		f := float64(v)
		cdf := 0.5 * math.Erfc(-f/math.Sqrt2)
		pdf := invSqrt2Pi * math.Exp(-0.5*f*f)
		dx[i] = float32(float64(dy[i]) * (cdf + f*pdf))
	}
}

// addBiasGELUGeneric is the reference fused bias + GELU (see AddBiasGELU).
func addBiasGELUGeneric(y, pre, bias []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := pre[r*cols : (r+1)*cols]
		for c := range row {
			row[c] += bias[c]
		}
		geluGeneric(y[r*cols:(r+1)*cols], row)
	}
}

// Tolerance of the SIMD GELU kernels (forward and backward)
// against the float64 references, as documented on GELU:
// |got - want| ≤ geluAbsTol + geluRelTol·|want|.
const (
	geluAbsTol = 1e-7
	geluRelTol = 1e-6
)
