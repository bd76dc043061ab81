package bert

import (
	"fmt"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// MLMHead is the masked-language-model head of Hugging Face
// BertForPreTraining ("cls.predictions"): a transform (dense C->C, GELU,
// layer norm) and a decoder whose weight is the model's word-embedding table
// (tied) plus a bias per vocabulary entry:
//
//	h      = LayerNorm(GELU(x·Wᵀ + b))   // [M, C]
//	logits = h·Eᵀ + bias                // [M, V], E the word embeddings [V, C]
//
// It runs on M gathered rows of the encoder output (the masked positions
// only), not on every token. The decoder's gradient is added into the word
// embeddings' gradient, next to the embedding lookup's.
type MLMHead struct {
	Dense nn.Linear    // transform.dense [C, C]
	LN    nn.LayerNorm // transform.LayerNorm
	Bias  *nn.Param    // cls.predictions.bias [V]
	Word  *nn.Param    // the tied decoder weight: the model's word embeddings [V, C]
}

// MLMActs are the activations of one MLMHead.Forward that its Backward
// reads. They live in the arena passed to Forward.
type MLMActs struct {
	M          int       // rows
	x          []float32 // [M, C] input
	pre        []float32 // [M, C] dense output before GELU
	act        []float32 // [M, C] GELU output (layer-norm input)
	mean, rstd []float32 // [M]
	h          []float32 // [M, C] transform output (decoder input)
}

// mlmNames are the head's tensor names (canonical, as in HeadTensors).
const (
	mlmDenseW = "cls.predictions.transform.dense.weight"
	mlmDenseB = "cls.predictions.transform.dense.bias"
	mlmLNW    = "cls.predictions.transform.LayerNorm.weight"
	mlmLNB    = "cls.predictions.transform.LayerNorm.bias"
	mlmBias   = "cls.predictions.bias"
)

// NewMLMHead gives m a freshly initialised MLM head on the heap, as Hugging
// Face initialises it: dense weight normal(0, InitializerRange), biases 0,
// layer norm 1 and 0; decoder tied to m's word embeddings. Its parameters
// are trainable.
func NewMLMHead(m *Model, seed uint64) (*MLMHead, error) {
	cfg := m.Config
	std := float64(cfg.InitializerRange)
	if std == 0 {
		std = 0.02
	}
	C, V := cfg.HiddenSize, cfg.VocabSize
	rng := nn.NewRNG(seed)
	mk := func(name string, shape ...int) *nn.Param {
		p := &nn.Param{Name: name, Shape: shape, W: make([]float32, prod(shape)), NoDecay: noDecay(name)}
		initParam(p, rng, std)
		p.SetTrainable(true, false)
		return p
	}
	return assembleMLM(m, mk(mlmDenseW, C, C), mk(mlmDenseB, C), mk(mlmLNW, C), mk(mlmLNB, C), mk(mlmBias, V))
}

// LoadMLMHead reads the MLM head of m from src (names as in HeadTensors;
// a checkpoint also accepts HF's "cls.predictions.decoder.bias"), frozen,
// decoder tied to m's word embeddings. A stored decoder weight, if any, is
// ignored: the head always uses the word embeddings.
func LoadMLMHead(m *Model, src TensorSource) (*MLMHead, error) {
	C, V := m.Config.HiddenSize, m.Config.VocabSize
	var firstErr error
	get := func(name string, shape ...int) *nn.Param {
		w, err := src.Tensor(name, shape...)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("bert: loading the MLM head: %w", err)
		}
		return &nn.Param{Name: name, Shape: shape, W: w, Frozen: true, NoDecay: noDecay(name)}
	}
	dw, db, lw, lb, bias := get(mlmDenseW, C, C), get(mlmDenseB, C), get(mlmLNW, C), get(mlmLNB, C), get(mlmBias, V)
	if firstErr != nil {
		return nil, firstErr
	}
	return assembleMLM(m, dw, db, lw, lb, bias)
}

func assembleMLM(m *Model, dw, db, lw, lb, bias *nn.Param) (*MLMHead, error) {
	C := m.Config.HiddenSize
	dense, err := nn.NewLinear(dw, db, C, C)
	if err != nil {
		return nil, fmt.Errorf("bert: MLM head: %w", err)
	}
	ln, err := nn.NewLayerNorm(lw, lb, C, m.Config.LayerNormEps)
	if err != nil {
		return nil, fmt.Errorf("bert: MLM head: %w", err)
	}
	return &MLMHead{Dense: dense, LN: ln, Bias: bias, Word: m.Embeddings.Word.W}, nil
}

// Params returns the head's own parameters in checkpoint order (the tied
// decoder weight is the model's and is not repeated).
func (h *MLMHead) Params() []*nn.Param {
	return []*nn.Param{h.Dense.W, h.Dense.B, h.LN.Gamma, h.LN.Beta, h.Bias}
}

// Forward computes logits [M, V] for the rows x [M, C], keeping in a (from
// ar) what Backward needs. logits must hold M*V values.
func (h *MLMHead) Forward(a *MLMActs, logits, x []float32, M int, ar *nn.Arena) {
	C, V := h.Dense.In, h.Bias.Len()
	*a = MLMActs{M: M, x: x[:M*C]}
	a.pre, a.act, a.h = ar.Alloc(M*C), ar.Alloc(M*C), ar.Alloc(M*C)
	a.mean, a.rstd = ar.Alloc(M), ar.Alloc(M)
	h.Dense.ForwardGELU(a.act, a.pre, a.x, M)
	h.LN.Forward(a.h, a.mean, a.rstd, a.act, M)
	// logits = h·Eᵀ + bias
	kernels.Sgemm(false, true, M, V, C, 1, a.h, C, h.Word.W, C, 0, logits, V)
	kernels.AddBias(logits, h.Bias.W, M, V)
}

// Backward accumulates, given dlogits [M, V], the gradients of the head's
// trainable parameters, of the word embeddings (the tied decoder) when they
// are trainable, and dx [M, C] += ∂L/∂x. Scratch comes from ar and is
// released before it returns.
func (h *MLMHead) Backward(a *MLMActs, dx, dlogits []float32, ar *nn.Arena) {
	M, C, V := a.M, h.Dense.In, h.Bias.Len()
	mark := ar.Mark()
	defer ar.Release(mark)
	if h.Bias.Trainable() {
		kernels.BiasGrad(h.Bias.G, dlogits, M, V)
	}
	if h.Word.Trainable() { // dE += dlogitsᵀ·h
		kernels.Sgemm(true, false, V, C, M, 1, dlogits, V, a.h, C, 1, h.Word.G, C)
	}
	dh := ar.Alloc(M * C) // dh = dlogits·E
	kernels.Sgemm(false, false, M, C, V, 1, dlogits, V, h.Word.W, C, 0, dh, C)
	dact := ar.AllocZero(M * C)
	h.LN.Backward(dact, dh, a.act, a.mean, a.rstd, M)
	dpre := ar.Alloc(M * C)
	kernels.GELUBackward(dpre, dact, a.pre)
	h.Dense.Backward(dx, dpre, a.x, M)
}

// MLMTensorNames lists the canonical names of the head's own tensors, in
// Params order.
func MLMTensorNames() []string { return []string{mlmDenseW, mlmDenseB, mlmLNW, mlmLNB, mlmBias} }
