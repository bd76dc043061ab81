package adapter

import (
	"fmt"
	"strings"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
)

// Method says which parameters of a model train for a task.
type Method string

// The training methods: the paper's adapters and its three baselines.
const (
	// MethodAdapter trains the adapters, every layer norm (the embeddings'
	// included) and the head; the pooler only when Plan.TrainPooler is set.
	MethodAdapter Method = "adapter"
	// MethodFull trains every parameter (full fine-tuning).
	MethodFull Method = "full"
	// MethodTopK trains the top Plan.TopK encoder layers, the pooler and the
	// head.
	MethodTopK Method = "top-k"
	// MethodLNHead trains every layer norm and the head.
	MethodLNHead Method = "ln-head"
)

// ParseMethod reads a method name (case ignored; "topk" and "top" are
// accepted for top-k, "ln" for ln-head).
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "adapter", "adapters":
		return MethodAdapter, nil
	case "full":
		return MethodFull, nil
	case "top-k", "topk", "top":
		return MethodTopK, nil
	case "ln-head", "ln", "lnhead":
		return MethodLNHead, nil
	}
	return "", fmt.Errorf("adapter: unknown method %q (want adapter, full, top-k or ln-head)", s)
}

// Plan is how a model is set up for training a task.
type Plan struct {
	Method      Method
	Adapter     Config // MethodAdapter only
	TopK        int    // MethodTopK: how many of the top encoder layers train (0..L)
	TrainPooler bool   // MethodAdapter: train the pooler too (it trains in full and top-k, never in ln-head)
}

// Validate checks p against a model of numLayers layers.
func (p Plan) Validate(numLayers int) error {
	switch p.Method {
	case MethodAdapter:
		_, err := p.Adapter.withDefaults()
		return err
	case MethodTopK:
		if p.TopK < 0 || p.TopK > numLayers {
			return fmt.Errorf("adapter: top-k with k=%d on a model of %d layers (want 0..%d)", p.TopK, numLayers, numLayers)
		}
	case MethodFull, MethodLNHead:
	default:
		return fmt.Errorf("adapter: unknown method %q", p.Method)
	}
	return nil
}

// Setup is a model prepared for training by Prepare.
type Setup struct {
	Plan      Plan
	Adapters  *Set        // the attached adapters (MethodAdapter), else nil
	Trainable []*nn.Param // every trainable parameter: the model's in checkpoint order, then the adapters'
	Base      int         // parameters of the base model (embeddings, encoder, pooler; no head, no adapters)
	Trained   int         // parameters trained for the task (adapters and head included)
}

// Summary is the line every run prints: "trained parameters per task: N
// (x% of the base)".
func (s *Setup) Summary() string {
	return fmt.Sprintf("trained parameters per task: %d (%.2f%% of the base)", s.Trained, 100*float64(s.Trained)/float64(max(s.Base, 1)))
}

// Prepare freezes m and then makes trainable what plan.Method trains,
// attaching adapters (initialised from seed) for MethodAdapter and removing
// any for the other methods. m must have a classification head (it always
// trains). Base weights in read-only memory that become trainable are
// copied to the heap (bert.Model.SetTrainable).
func Prepare(m *bert.Model, plan Plan, seed uint64) (*Setup, error) {
	L := len(m.Layers)
	if err := plan.Validate(L); err != nil {
		return nil, err
	}
	if m.Classifier == nil {
		return nil, fmt.Errorf("adapter: the model has no classification head to train")
	}
	s := &Setup{Plan: plan}
	head := map[*nn.Param]bool{}
	for _, p := range m.Classifier.Params() {
		head[p] = true
	}
	for _, p := range m.Params() {
		m.SetTrainable(p, false)
		if !head[p] {
			s.Base += p.Len()
		}
	}

	train := func(ps ...*nn.Param) {
		for _, p := range ps {
			m.SetTrainable(p, true)
		}
	}
	layerNorms := func() {
		train(m.Embeddings.LN.Params()...)
		for l := range m.Layers {
			train(m.Layers[l].AttnLN.Params()...)
			train(m.Layers[l].FFLN.Params()...)
		}
	}
	switch plan.Method {
	case MethodAdapter:
		set, err := Attach(m, plan.Adapter, seed)
		if err != nil {
			return nil, err
		}
		s.Adapters = set
		s.Plan.Adapter = set.Config
		layerNorms()
		if plan.TrainPooler {
			train(m.Pooler.Params()...)
		}
	case MethodFull:
		Detach(m)
		train(m.Params()...)
	case MethodTopK:
		Detach(m)
		for l := L - plan.TopK; l < L; l++ {
			train(m.Layers[l].Params()...)
		}
		train(m.Pooler.Params()...)
	case MethodLNHead:
		Detach(m)
		layerNorms()
	}
	train(m.Classifier.Params()...)

	for _, p := range m.Params() {
		if p.Trainable() {
			s.Trainable = append(s.Trainable, p)
		}
	}
	s.Trainable = append(s.Trainable, s.Adapters.Params()...)
	for _, p := range s.Trainable {
		s.Trained += p.Len()
	}
	return s, nil
}
