// Package adapter holds the bottleneck adapters of Houlsby et al. (2019)
// that petl trains on a frozen BERT: the module itself (down-projection,
// nonlinearity, up-projection and a skip connection), where the modules
// attach in the encoder (Houlsby: two per layer; Pfeiffer: one), which of
// the model's parameters train under each method (adapters, full
// fine-tuning, the top k layers, layer norms and head), and the adapter
// file that carries a trained task.
//
// Shapes use the legend of package nn: C hidden size, M bottleneck size,
// rows the number of token rows of a call (B*T).
package adapter

import (
	"fmt"
	"math"
	"strings"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// Activation names the adapter's nonlinearity.
type Activation string

// The nonlinearities an adapter may use.
const (
	GELU Activation = "gelu" // exact (erf) GELU, as BERT's feed-forward; the default
	ReLU Activation = "relu"
	Tanh Activation = "tanh"
)

// ParseActivation reads a nonlinearity name ("gelu", "relu", "tanh"; case
// ignored). The empty string gives GELU.
func ParseActivation(s string) (Activation, error) {
	switch a := Activation(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return GELU, nil
	case GELU, ReLU, Tanh:
		return a, nil
	}
	return "", fmt.Errorf("adapter: unknown nonlinearity %q (want gelu, relu or tanh)", s)
}

// DefaultInitStd is the standard deviation of the adapters' initial weights,
// as in the paper: a normal truncated at two standard deviations, so that a
// new adapter is close to the identity.
const DefaultInitStd = 1e-2

// Module is one bottleneck adapter with its own skip connection:
//
//	h = x·Downᵀ + bd        [rows, M]
//	a = act(h)              [rows, M]
//	y = x + a·Upᵀ + bu      [rows, C]
//
// It implements bert.Adapter. In training mode Forward keeps h and a (in
// the arena) for Backward, so a Module serves one forward/backward at a
// time; in inference mode it keeps nothing and may be shared by goroutines
// that each use their own arena.
type Module struct {
	C, M int
	Act  Activation
	Down nn.Linear // W [M, C], b [M]
	Up   nn.Linear // W [C, M], b [C]

	// Saved by a training Forward for Backward.
	rows int
	h    []float32 // [rows, M] pre-activation
	a    []float32 // [rows, M] activation
}

// NewModule makes a module of width c and bottleneck m whose parameters are
// named prefix+".down.weight", ".down.bias", ".up.weight", ".up.bias",
// initialised near the identity: weights from a zero-mean normal of
// standard deviation std truncated at ±2·std, biases zero. The parameters
// are trainable.
func NewModule(prefix string, c, m int, act Activation, std float64, rng *nn.RNG) (*Module, error) {
	if c <= 0 || m <= 0 {
		return nil, fmt.Errorf("adapter: sizes C=%d M=%d must be positive", c, m)
	}
	if _, err := ParseActivation(string(act)); err != nil {
		return nil, err
	}
	if act == "" {
		act = GELU
	}
	if !(std >= 0) || math.IsInf(std, 0) {
		return nil, fmt.Errorf("adapter: initial standard deviation %v must be a non-negative number", std)
	}
	param := func(name string, shape ...int) *nn.Param {
		n := 1
		for _, d := range shape {
			n *= d
		}
		p := &nn.Param{Name: prefix + name, Shape: shape, W: make([]float32, n), Frozen: true, NoDecay: strings.HasSuffix(name, ".bias")}
		p.SetTrainable(true, false)
		return p
	}
	dw, db := param(".down.weight", m, c), param(".down.bias", m)
	uw, ub := param(".up.weight", c, m), param(".up.bias", c)
	fillTruncNormal(rng, dw.W, std)
	fillTruncNormal(rng, uw.W, std)
	down, err := nn.NewLinear(dw, db, c, m)
	if err != nil {
		return nil, err
	}
	up, err := nn.NewLinear(uw, ub, m, c)
	if err != nil {
		return nil, err
	}
	return &Module{C: c, M: m, Act: act, Down: down, Up: up}, nil
}

// fillTruncNormal sets w to normal(0, std) variates redrawn until they fall
// within ±2·std.
func fillTruncNormal(rng *nn.RNG, w []float32, std float64) {
	for i := range w {
		z := rng.Normal()
		for z < -2 || z > 2 {
			z = rng.Normal()
		}
		w[i] = float32(std * z)
	}
}

// Params returns the module's parameters: down weight and bias, up weight
// and bias.
func (md *Module) Params() []*nn.Param {
	return []*nn.Param{md.Down.W, md.Down.B, md.Up.W, md.Up.B}
}

// Forward computes y = x + up(act(down(x))).
//
//	y [rows, C]  output, overwritten (must not alias x)
//	x [rows, C]  input
//
// With train set, h and a are taken from ar and kept for Backward (valid
// until ar is reset); otherwise they are scratch released before return.
func (md *Module) Forward(y, x []float32, rows int, ar *nn.Arena, train bool) {
	n := rows * md.M
	mark := ar.Mark()
	h, a := ar.Alloc(n), ar.Alloc(n)
	md.forwardAct(a, h, x, rows)
	md.Up.Forward(y, a, rows)
	kernels.Add(y[:rows*md.C], y[:rows*md.C], x[:rows*md.C])
	if train {
		md.rows, md.h, md.a = rows, h, a
		return
	}
	ar.Release(mark)
}

// forwardAct computes h = down(x) and a = act(h).
func (md *Module) forwardAct(a, h, x []float32, rows int) {
	n := rows * md.M
	switch md.Act {
	case ReLU:
		md.Down.Forward(h, x, rows)
		for i, v := range h[:n] {
			a[i] = max(v, 0)
		}
	case Tanh:
		md.Down.Forward(h, x, rows)
		kernels.Tanh(a[:n], h[:n])
	default:
		md.Down.ForwardGELU(a, h, x, rows)
	}
}

// Backward accumulates the gradients of the last training Forward given
// dy = ∂L/∂y:
//
//	dx [rows, C] += dy + (act'(h) ⊙ (dy·Up))·Down   (skipped when dx is nil)
//	Up, Down weight and bias gradients += ...        (when trainable)
//
// x [rows, C] is that Forward's input. Scratch comes from ar and is released
// before return.
func (md *Module) Backward(dx, dy, x []float32, rows int, ar *nn.Arena) {
	if md.h == nil || md.rows != rows {
		panic(fmt.Sprintf("adapter: Backward over %d rows without a training Forward of the same rows (last: %d)", rows, md.rows))
	}
	n, nc := rows*md.M, rows*md.C
	mark := ar.Mark()
	da := ar.AllocZero(n)
	md.Up.Backward(da, dy, md.a, rows)
	dh := ar.AllocZero(n)
	switch md.Act {
	case ReLU:
		for i, v := range md.h[:n] {
			if v > 0 {
				dh[i] = da[i]
			}
		}
	case Tanh:
		for i, v := range md.a[:n] {
			dh[i] = da[i] * (1 - v*v)
		}
	default:
		nn.GELU{}.Backward(dh, da, md.h[:n], ar)
	}
	if dx != nil {
		kernels.Add(dx[:nc], dx[:nc], dy[:nc])
	}
	md.Down.Backward(dx, dh, x, rows)
	ar.Release(mark)
	md.h, md.a = nil, nil
}
