package nn

import (
	"fmt"

	"github.com/petl-go/petl/kernels"
)

// LayerNorm normalises each row of width C to zero mean and unit variance,
// then scales by Gamma and shifts by Beta.
type LayerNorm struct {
	C     int
	Eps   float32
	Gamma *Param // [C]
	Beta  *Param // [C]
}

// NewLayerNorm returns a LayerNorm over the given parameters after checking
// their sizes.
func NewLayerNorm(gamma, beta *Param, c int, eps float32) (LayerNorm, error) {
	if gamma == nil || gamma.Len() != c || beta == nil || beta.Len() != c {
		return LayerNorm{}, fmt.Errorf("nn.NewLayerNorm: parameters %v and %v do not hold [%d]", gamma, beta, c)
	}
	return LayerNorm{C: c, Eps: eps, Gamma: gamma, Beta: beta}, nil
}

// Forward computes y = LN(x) over rows rows.
//
//	y    [rows, C]  output, overwritten (may be x)
//	mean [rows]     row means, saved for Backward (nil in inference)
//	rstd [rows]     row 1/σ, saved for Backward (nil in inference)
//	x    [rows, C]  input
func (l *LayerNorm) Forward(y, mean, rstd, x []float32, rows int) {
	kernels.LayerNorm(y, mean, rstd, x, l.Gamma.W, l.Beta.W, rows, l.C, l.Eps)
}

// ForwardAdd computes the residual add and norm of a transformer sublayer,
// sum = a + b; y = LN(sum).
//
//	y    [rows, C]  output, overwritten
//	sum  [rows, C]  a + b, overwritten (saved: it is LN's input for Backward)
//	mean [rows]     may be nil (inference)
//	rstd [rows]     may be nil (inference)
//	a, b [rows, C]  the residual stream and the sublayer output
func (l *LayerNorm) ForwardAdd(y, sum, mean, rstd, a, b []float32, rows int) {
	kernels.AddLayerNorm(y, sum, mean, rstd, a, b, l.Gamma.W, l.Beta.W, rows, l.C, l.Eps)
}

// Backward accumulates the gradients of Forward given dy, the input x and
// the saved mean and rstd:
//
//	dx [rows, C] += ∂L/∂x   (skipped when dx is nil)
//	dGamma, dBeta += ...    (only when trainable)
func (l *LayerNorm) Backward(dx, dy, x, mean, rstd []float32, rows int) {
	var dg, db []float32
	if l.Gamma.Trainable() {
		dg = l.Gamma.G
	}
	if l.Beta.Trainable() {
		db = l.Beta.G
	}
	kernels.LayerNormBackward(dx, dg, db, dy, x, mean, rstd, l.Gamma.W, rows, l.C)
}

// Params returns Gamma and Beta.
func (l *LayerNorm) Params() []*Param { return []*Param{l.Gamma, l.Beta} }
