package adapter

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/petl-go/petl/nn"
	"github.com/stretchr/testify/require"
)

// refForward is the module's function in float64:
// y = x + act(x·Dᵀ + bd)·Uᵀ + bu.
func refForward(act Activation, C, M, rows int, x, dw, db, uw, ub []float64) []float64 {
	y := make([]float64, rows*C)
	a := make([]float64, M)
	for r := 0; r < rows; r++ {
		xr := x[r*C : (r+1)*C]
		for j := 0; j < M; j++ {
			h := db[j]
			for c := 0; c < C; c++ {
				h += xr[c] * dw[j*C+c]
			}
			switch act {
			case ReLU:
				a[j] = math.Max(h, 0)
			case Tanh:
				a[j] = math.Tanh(h)
			default:
				a[j] = 0.5 * h * (1 + math.Erf(h/math.Sqrt2))
			}
		}
		for c := 0; c < C; c++ {
			v := xr[c] + ub[c]
			for j := 0; j < M; j++ {
				v += a[j] * uw[c*M+j]
			}
			y[r*C+c] = v
		}
	}
	return y
}

// TestModuleFiniteDifferences checks Forward against the float64 reference
// and Backward (dx and all four parameter gradients) against central finite
// differences of the float64 reference through the loss Σ y⊙r, for each
// nonlinearity and a few shapes. Weights are drawn large (not near the
// identity) so that the nonlinearity and both projections matter.
//
// Tolerances: forward 1e-5 and gradients 1e-4, relative to max(1, the
// largest reference magnitude); float32 products of length ≤ 24 are exact
// to about 1e-6 here, and the float64 differences (step 1e-6) to about 1e-9.
func TestModuleFiniteDifferences(t *testing.T) {
	shapes := []struct{ C, M, rows int }{{8, 3, 5}, {16, 1, 2}, {5, 7, 3}, {24, 24, 1}}
	for _, act := range []Activation{GELU, ReLU, Tanh} {
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%s/C%d_M%d_rows%d", act, sh.C, sh.M, sh.rows), func(t *testing.T) {
				C, M, rows := sh.C, sh.M, sh.rows
				rng := nn.NewRNG(uint64(C*100 + M*10 + rows))
				md, err := NewModule("t", C, M, act, 0.5, rng)
				require.NoError(t, err)
				copy(md.Down.B.W, gradcheck.Rand(rng, M, 0.5))
				copy(md.Up.B.W, gradcheck.Rand(rng, C, 0.5))
				x := gradcheck.Rand(rng, rows*C, 1)
				r := gradcheck.To64(gradcheck.Rand(rng, rows*C, 1))

				var ar nn.Arena
				y := make([]float32, rows*C)
				md.Forward(y, x, rows, &ar, true)

				x64, dw, db := gradcheck.To64(x), gradcheck.To64(md.Down.W.W), gradcheck.To64(md.Down.B.W)
				uw, ub := gradcheck.To64(md.Up.W.W), gradcheck.To64(md.Up.B.W)
				loss := func() float64 {
					yr := refForward(act, C, M, rows, x64, dw, db, uw, ub)
					var s float64
					for i := range yr {
						s += yr[i] * r[i]
					}
					return s
				}
				gradcheck.RequireClose(t, "forward", y, refForward(act, C, M, rows, x64, dw, db, uw, ub), 1e-5)

				dy := make([]float32, rows*C)
				for i := range dy {
					dy[i] = float32(r[i])
				}
				dx := make([]float32, rows*C)
				for i := range dx {
					dx[i] = 0.25 // Backward accumulates: start from a non-zero value
				}
				for _, p := range md.Params() {
					p.ZeroGrad()
				}
				md.Backward(dx, dy, x, rows, &ar)
				for i := range dx {
					dx[i] -= 0.25
				}
				const eps = 1e-6
				gradcheck.RequireClose(t, "dx", dx, gradcheck.NumGrad(loss, x64, eps), 1e-4)
				gradcheck.RequireClose(t, "down.weight", md.Down.W.G, gradcheck.NumGrad(loss, dw, eps), 1e-4)
				gradcheck.RequireClose(t, "down.bias", md.Down.B.G, gradcheck.NumGrad(loss, db, eps), 1e-4)
				gradcheck.RequireClose(t, "up.weight", md.Up.W.G, gradcheck.NumGrad(loss, uw, eps), 1e-4)
				gradcheck.RequireClose(t, "up.bias", md.Up.B.G, gradcheck.NumGrad(loss, ub, eps), 1e-4)
			})
		}
	}
}

// TestModuleInferenceMatchesTraining checks that the inference Forward
// computes the same output as the training one, keeps nothing and leaves
// the arena where it was.
func TestModuleInferenceMatchesTraining(t *testing.T) {
	rng := nn.NewRNG(3)
	md, err := NewModule("t", 12, 4, GELU, 0.3, rng)
	require.NoError(t, err)
	x := gradcheck.Rand(rng, 3*12, 1)
	var ar nn.Arena
	y1, y2 := make([]float32, len(x)), make([]float32, len(x))
	md.Forward(y1, x, 3, &ar, true)
	ar.Reset()
	mark := ar.Mark()
	md.h = nil
	md.Forward(y2, x, 3, &ar, false)
	require.Equal(t, mark, ar.Mark(), "inference Forward must release its scratch")
	require.Nil(t, md.h, "inference Forward must not keep activations")
	require.Equal(t, y1, y2)
	require.Panics(t, func() { md.Backward(nil, y1, x, 3, &ar) }, "Backward without a training Forward")
}

// TestNewModuleInit checks the near-identity initialisation: weights within
// two standard deviations with about the right spread, zero biases, and so
// an output close to the input.
func TestNewModuleInit(t *testing.T) {
	for _, std := range []float64{1e-2, 1e-3, 0.1} {
		t.Run(fmt.Sprint(std), func(t *testing.T) {
			md, err := NewModule("encoder.layer.0.output.adapter", 64, 256, GELU, std, nn.NewRNG(7))
			require.NoError(t, err)
			require.Equal(t, "encoder.layer.0.output.adapter.down.weight", md.Down.W.Name)
			require.Equal(t, []int{256, 64}, md.Down.W.Shape)
			require.Equal(t, []int{64, 256}, md.Up.W.Shape)
			for _, p := range md.Params() {
				require.True(t, p.Trainable(), p.Name)
			}
			require.True(t, md.Down.B.NoDecay)
			require.False(t, md.Down.W.NoDecay)
			for _, w := range [][]float32{md.Down.W.W, md.Up.W.W} {
				var s2 float64
				for _, v := range w {
					require.LessOrEqual(t, math.Abs(float64(v)), 2*std*(1+1e-6))
					s2 += float64(v) * float64(v)
				}
				// The variance of a normal truncated at ±2σ is 0.774·σ².
				sd := math.Sqrt(s2 / float64(len(w)))
				require.InDelta(t, math.Sqrt(0.774)*std, sd, 0.03*std)
			}
			require.Equal(t, make([]float32, 256), md.Down.B.W)
			require.Equal(t, make([]float32, 64), md.Up.B.W)
		})
	}
	_, err := NewModule("x", 8, 0, GELU, 0.01, nn.NewRNG(1))
	require.Error(t, err)
	_, err = NewModule("x", 8, 2, "swish", 0.01, nn.NewRNG(1))
	require.ErrorContains(t, err, "swish")
}
