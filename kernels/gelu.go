package kernels

import "math"

// geluBwdFunc computes dx[i] = dy[i] * f'(x[i]).
type geluBwdFunc func(dx, dy, x []float32)

// biasGELUFunc adds bias to every row of pre in place, then y = GELU(pre).
type biasGELUFunc func(y, pre, bias []float32, rows, cols int)

var (
	geluOp             = newOpTable[vecFunc]("gelu", geluGeneric)
	geluBackwardOp     = newOpTable[geluBwdFunc]("gelu_backward", geluBackwardGeneric)
	geluTanhOp         = newOpTable[vecFunc]("gelu_tanh", geluTanhGeneric)
	geluTanhBackwardOp = newOpTable[geluBwdFunc]("gelu_tanh_backward", geluTanhBackwardGeneric)
	addBiasGELUOp      = newOpTable[biasGELUFunc]("add_bias_gelu", addBiasGELUGeneric)
)

// GELU computes the exact (erf) GELU that BERT uses, y[i] = x[i] * Φ(x[i]) =
// 0.5 * x[i] * (1 + erf(x[i] / √2)), for i < len(x). y and x may be the same.
func GELU(y, x []float32) { mapVec("GELU", geluOp, y, x) }

// GELUBackward computes dx[i] = dy[i] * (Φ(x[i]) + x[i] * φ(x[i])) for i < len(x),
// overwriting dx, where φ is the standard normal density.
func GELUBackward(dx, dy, x []float32) { mapBwd("GELUBackward", geluBackwardOp, dx, dy, x) }

// GELUTanh computes the tanh approximation of GELU,
// y[i] = 0.5 * x * (1 + tanh(√(2/π) * (x + 0.044715 * x³))), for i < len(x).
func GELUTanh(y, x []float32) { mapVec("GELUTanh", geluTanhOp, y, x) }

// GELUTanhBackward computes dx[i] = dy[i] * d/dx GELUTanh(x[i]), overwriting dx.
func GELUTanhBackward(dx, dy, x []float32) {
	mapBwd("GELUTanhBackward", geluTanhBackwardOp, dx, dy, x)
}

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
	parallelFor(rows, rowGrain(cols), func(lo, hi int) {
		f(y[lo*cols:hi*cols], pre[lo*cols:hi*cols], bias, hi-lo, cols)
	})
}

func mapBwd(name string, op *opTable[geluBwdFunc], dx, dy, x []float32) {
	need(name, "dx", dx, len(x))
	need(name, "dy", dy, len(x))
	f := op.active()
	parallelFor(len(x), elemGrain, func(lo, hi int) { f(dx[lo:hi], dy[lo:hi], x[lo:hi]) })
}

// geluGeneric is the reference exact GELU, computed in float64:
//
//	for i := range x { y[i] = 0.5 * x[i] * (1 + erf(x[i]/√2)) }
func geluGeneric(y, x []float32) {
	for i, v := range x {
		f := float64(v)
		y[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}
}

// geluBackwardGeneric is the reference GELU derivative, computed in float64:
//
//	for i := range x { dx[i] = dy[i] * (Φ(x[i]) + x[i]*φ(x[i])) }
func geluBackwardGeneric(dx, dy, x []float32) {
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		f := float64(v)
		cdf := 0.5 * (1 + math.Erf(f/math.Sqrt2))
		pdf := invSqrt2Pi * math.Exp(-0.5*f*f)
		dx[i] = float32(float64(dy[i]) * (cdf + f*pdf))
	}
}

const geluTanhC = 0.7978845608028654 // √(2/π)

// geluTanhGeneric is the reference tanh-approximated GELU, in float64:
//
//	for i := range x { y[i] = 0.5*x*(1 + tanh(√(2/π)*(x + 0.044715*x³))) }
func geluTanhGeneric(y, x []float32) {
	for i, v := range x {
		f := float64(v)
		y[i] = float32(0.5 * f * (1 + math.Tanh(geluTanhC*(f+0.044715*f*f*f))))
	}
}

// geluTanhBackwardGeneric is the derivative of geluTanhGeneric, in float64:
//
//	t := tanh(√(2/π)*(x + 0.044715*x³))
//	dx[i] = dy[i] * (0.5*(1+t) + 0.5*x*(1-t²)*√(2/π)*(1 + 3*0.044715*x²))
func geluTanhBackwardGeneric(dx, dy, x []float32) {
	for i, v := range x {
		f := float64(v)
		t := math.Tanh(geluTanhC * (f + 0.044715*f*f*f))
		d := 0.5*(1+t) + 0.5*f*(1-t*t)*geluTanhC*(1+3*0.044715*f*f)
		dx[i] = float32(float64(dy[i]) * d)
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
