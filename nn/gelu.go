package nn

import "github.com/petl-go/petl/kernels"

// GELU is the exact (erf) Gaussian error linear unit BERT uses,
// y = x·Φ(x). It has no parameters; Linear.ForwardGELU fuses it with a bias.
type GELU struct{}

// Forward computes y[i] = GELU(x[i]).
//
//	y [n]  output, overwritten (may be x)
//	x [n]  input, saved for Backward
func (GELU) Forward(y, x []float32) { kernels.GELU(y, x) }

// Backward accumulates dx[i] += dy[i]·GELU'(x[i]), using scratch [n] from the
// arena for the product.
func (GELU) Backward(dx, dy, x []float32, ar *Arena) {
	m := ar.Mark()
	t := ar.Alloc(len(x))
	kernels.GELUBackward(t, dy, x)
	kernels.Add(dx[:len(x)], dx[:len(x)], t)
	ar.Release(m)
}
