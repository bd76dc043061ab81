package bert

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/petl-go/petl/nn"
	"github.com/stretchr/testify/require"
)

// mlmRef is the MLM head in float64: logits = LN(GELU(x·Wᵀ + b))·Eᵀ + bias.
func mlmRef(C, V, M int, eps float64, x, w, b, g, beta, e, bias []float64) []float64 {
	out := make([]float64, M*V)
	a := make([]float64, C)
	for r := 0; r < M; r++ {
		for j := 0; j < C; j++ {
			h := b[j]
			for c := 0; c < C; c++ {
				h += x[r*C+c] * w[j*C+c]
			}
			a[j] = 0.5 * h * (1 + math.Erf(h/math.Sqrt2))
		}
		var mean, vr float64
		for _, v := range a {
			mean += v
		}
		mean /= float64(C)
		for _, v := range a {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(C)
		rs := 1 / math.Sqrt(vr+eps)
		for j := range a {
			a[j] = (a[j]-mean)*rs*g[j] + beta[j]
		}
		for v := 0; v < V; v++ {
			s := bias[v]
			for c := 0; c < C; c++ {
				s += a[c] * e[v*C+c]
			}
			out[r*V+v] = s
		}
	}
	return out
}

// TestMLMHeadFiniteDifferences checks the head's Forward against a float64
// reference and Backward (dx, the transform's four parameters, the decoder
// bias and the tied word embeddings) against central differences of that
// reference through the loss Σ logits⊙r. Gradients start non-zero, as
// Backward accumulates: the word embeddings' gradient must keep what the
// embedding lookup put there and add the decoder's share.
func TestMLMHeadFiniteDifferences(t *testing.T) {
	shapes := []struct{ C, V, M int }{{8, 11, 3}, {4, 5, 1}, {16, 40, 6}}
	for _, sh := range shapes {
		t.Run(fmt.Sprintf("C%d_V%d_M%d", sh.C, sh.V, sh.M), func(t *testing.T) {
			C, V, M := sh.C, sh.V, sh.M
			cfg := Config{VocabSize: V, HiddenSize: C, NumLayers: 1, NumHeads: 1, IntermediateSize: 2 * C,
				MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-5, InitializerRange: 0.5}
			m, err := NewRandom(cfg, 0, uint64(C*V))
			require.NoError(t, err)
			m.SetTrainable(m.Embeddings.Word.W, true)
			h, err := NewMLMHead(m, 7)
			require.NoError(t, err)
			rng := nn.NewRNG(uint64(M))
			// Non-trivial values everywhere (the init has zero biases and unit norms).
			copy(h.Dense.B.W, gradcheck.Rand(rng, C, 0.5))
			copy(h.LN.Gamma.W, gradcheck.Rand(rng, C, 1.5))
			copy(h.LN.Beta.W, gradcheck.Rand(rng, C, 0.5))
			copy(h.Bias.W, gradcheck.Rand(rng, V, 0.5))
			copy(m.Embeddings.Word.W.W, gradcheck.Rand(rng, V*C, 1))
			x := gradcheck.Rand(rng, M*C, 1)
			r := gradcheck.To64(gradcheck.Rand(rng, M*V, 1))

			var ar nn.Arena
			var acts MLMActs
			logits := make([]float32, M*V)
			h.Forward(&acts, logits, x, M, &ar)

			eps := float64(cfg.LayerNormEps)
			x64, w, b := gradcheck.To64(x), gradcheck.To64(h.Dense.W.W), gradcheck.To64(h.Dense.B.W)
			g, beta, e, bias := gradcheck.To64(h.LN.Gamma.W), gradcheck.To64(h.LN.Beta.W), gradcheck.To64(h.Word.W), gradcheck.To64(h.Bias.W)
			loss := func() float64 {
				y := mlmRef(C, V, M, eps, x64, w, b, g, beta, e, bias)
				var s float64
				for i := range y {
					s += y[i] * r[i]
				}
				return s
			}
			gradcheck.RequireClose(t, "forward", logits, mlmRef(C, V, M, eps, x64, w, b, g, beta, e, bias), 1e-5)

			dlogits := make([]float32, M*V)
			for i := range dlogits {
				dlogits[i] = float32(r[i])
			}
			const start = 0.25 // what earlier Backward calls left in every gradient
			dx := make([]float32, M*C)
			ps := append(h.Params(), h.Word)
			for i := range dx {
				dx[i] = start
			}
			for _, p := range ps {
				for i := range p.G {
					p.G[i] = start
				}
			}
			h.Backward(&acts, dx, dlogits, &ar)

			minus := func(x []float32) []float32 {
				y := make([]float32, len(x))
				for i, v := range x {
					y[i] = v - start
				}
				return y
			}
			const tol = 2e-4
			gradcheck.RequireClose(t, "dx", minus(dx), gradcheck.NumGrad(loss, x64, 1e-6), tol)
			gradcheck.RequireClose(t, "dense.W", minus(h.Dense.W.G), gradcheck.NumGrad(loss, w, 1e-6), tol)
			gradcheck.RequireClose(t, "dense.b", minus(h.Dense.B.G), gradcheck.NumGrad(loss, b, 1e-6), tol)
			gradcheck.RequireClose(t, "LN.gamma", minus(h.LN.Gamma.G), gradcheck.NumGrad(loss, g, 1e-6), tol)
			gradcheck.RequireClose(t, "LN.beta", minus(h.LN.Beta.G), gradcheck.NumGrad(loss, beta, 1e-6), tol)
			gradcheck.RequireClose(t, "bias", minus(h.Bias.G), gradcheck.NumGrad(loss, bias, 1e-6), tol)
			gradcheck.RequireClose(t, "word(tied)", minus(m.Embeddings.Word.W.G), gradcheck.NumGrad(loss, e, 1e-6), tol)
			require.Same(t, m.Embeddings.Word.W, h.Word, "the decoder is the word-embedding parameter itself")
		})
	}
}

// TestMLMHeadLoad checks LoadMLMHead reads the head's tensors by their
// names and ties the decoder to the model's word embeddings.
func TestMLMHeadLoad(t *testing.T) {
	cfg := Config{VocabSize: 9, HiddenSize: 4, NumLayers: 1, NumHeads: 1, IntermediateSize: 8,
		MaxPositions: 8, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12}
	m, err := NewRandom(cfg, 0, 1)
	require.NoError(t, err)
	h, err := NewMLMHead(m, 2)
	require.NoError(t, err)
	copy(h.Bias.W, gradcheck.Rand(nn.NewRNG(3), cfg.VocabSize, 1))
	src := mapSource{}
	for _, p := range h.Params() {
		src[p.Name] = p.W
	}
	got, err := LoadMLMHead(m, src)
	require.NoError(t, err)
	for i, p := range got.Params() {
		require.Equal(t, MLMTensorNames()[i], p.Name)
		require.Equal(t, h.Params()[i].W, p.W, p.Name)
		require.False(t, p.Trainable(), "loaded head parameters start frozen")
	}
	require.Same(t, m.Embeddings.Word.W, got.Word)
	delete(src, "cls.predictions.bias")
	_, err = LoadMLMHead(m, src)
	require.ErrorContains(t, err, "cls.predictions.bias")
}
