package petl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/wordpiece"
)

// Input is one input of a task: a text, or a pair of texts for pair tasks
// (MRPC, RTE, ...).
type Input struct {
	Text  string
	TextB string // the second text of a pair
	Pair  bool   // TextB is given (it may be empty)
}

// Text is the input of a single-text task.
func Text(s string) Input { return Input{Text: s} }

// Pair is the input of a pair task.
func Pair(a, b string) Input { return Input{Text: a, TextB: b, Pair: true} }

// Prediction is a task's output for one input.
type Prediction struct {
	// Label is the predicted class's name; "" for regression.
	Label string
	// Class is Label's index in Task.Labels; -1 for regression.
	Class int
	// Score is Label's probability, or the predicted value for regression.
	Score float64
	// Probs holds every class's probability in Task.Labels order (the
	// softmax of Logits); nil for regression.
	Probs []float64
	// Logits are the head's raw outputs (one value for regression).
	Logits []float32
	// Tokens is the number of wordpieces the model read, [CLS] and [SEP]
	// included; Truncated says the input was longer than Task.MaxLen.
	Tokens    int
	Truncated bool
}

// Request is one input for one task, for Base.PredictMixed.
type Request struct {
	Task  *Task
	Input Input
}

// Encoded is a request tokenised for its task (Task.Encode): what a server
// queues and batches.
type Encoded struct {
	Task      *Task
	Enc       wordpiece.Encoding
	Truncated bool
}

// Tokens is the number of wordpieces of e.
func (e *Encoded) Tokens() int { return e.Enc.Len() }

// Check reports whether in suits the task: a pair only for pair tasks, and
// for GLUE pair tasks always a pair; valid UTF-8. The error wraps ErrInput.
func (t *Task) Check(in Input) error {
	switch {
	case in.Pair && !t.spec.Pair:
		return fmt.Errorf("%w: task %s takes one text, not a pair", ErrInput, t.name)
	case !in.Pair && t.spec.Pair && t.spec.GLUE:
		return fmt.Errorf("%w: task %s (%s) takes a pair of texts", ErrInput, t.name, t.spec.Name)
	case !utf8.ValidString(in.Text) || !utf8.ValidString(in.TextB):
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInput)
	}
	return nil
}

// Encode checks in and tokenises it for the task, truncated to MaxLen.
func (t *Task) Encode(in Input) (Encoded, error) {
	if err := t.Check(in); err != nil {
		return Encoded{}, err
	}
	var e Encoded
	e.Task = t
	t.tok.EncodeTo(&e.Enc, in.Text, in.TextB, in.Pair, t.maxLen)
	// Truncation shows as a full-length encoding whose untruncated form
	// would be longer: count without the limit only when at the limit.
	if e.Enc.Len() == t.maxLen {
		var full wordpiece.Encoding
		t.tok.EncodeTo(&full, in.Text, in.TextB, in.Pair, 1<<30)
		e.Truncated = full.Len() > t.maxLen
	}
	return e, nil
}

// Predict runs inputs through the task, in batches of up to
// DefaultBatchTokens wordpieces.
func (t *Task) Predict(ctx context.Context, inputs ...Input) ([]Prediction, error) {
	reqs := make([]Request, len(inputs))
	for i, in := range inputs {
		reqs[i] = Request{Task: t, Input: in}
	}
	return t.base.PredictMixed(ctx, reqs)
}

// DefaultBatchTokens is the most wordpieces PredictMixed puts in one
// forward pass.
const DefaultBatchTokens = 8192

// PredictMixed runs requests of any tasks loaded on b: tokenised, then in
// forward passes of up to DefaultBatchTokens wordpieces, each mixing every
// task (see Run). The predictions are in the requests' order. A request
// whose input does not suit its task fails the call (ErrInput, with its
// index); ctx is checked between passes.
func (b *Base) PredictMixed(ctx context.Context, reqs []Request) ([]Prediction, error) {
	encs := make([]Encoded, len(reqs))
	for i, r := range reqs {
		if r.Task == nil {
			return nil, fmt.Errorf("request %d: %w: no task", i, ErrInput)
		}
		if r.Task.base != b {
			return nil, fmt.Errorf("request %d: task %s is loaded on another base", i, r.Task.name)
		}
		e, err := r.Task.Encode(r.Input)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		encs[i] = e
	}
	out := make([]Prediction, len(reqs))
	for lo := 0; lo < len(encs); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi, n := lo, 0
		for hi < len(encs) && (hi == lo || n+encs[hi].Tokens() <= DefaultBatchTokens) {
			n += encs[hi].Tokens()
			hi++
		}
		if err := b.Run(encs[lo:hi], out[lo:hi]); err != nil {
			return nil, err
		}
		lo = hi
	}
	return out, nil
}

// Run computes the predictions of encoded requests in one forward pass,
// whatever their tasks, into out (len(out) = len(encs)). It is what a
// batching server calls; the caller bounds the batch (tokens, requests).
// A mapped base file truncated or rewritten in place since Open makes it
// an error naming the file (Base.Guard), never a crash nor other results.
func (b *Base) Run(encs []Encoded, out []Prediction) error {
	if len(out) != len(encs) {
		return fmt.Errorf("petl: Run with %d requests and %d outputs", len(encs), len(out))
	}
	if len(encs) == 0 {
		return nil
	}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	r, _ := b.runners.Get().(*runner)
	if r == nil {
		r = &runner{}
	}
	defer b.runners.Put(r)
	return b.Guard(func() error { return r.run(b, encs, out) })
}

// runner holds the buffers of forward passes, reused through Base.runners.
type runner struct {
	order []int // requests by task, stable
	st    bert.MixedState
	batch bert.MixedBatch
}

// run groups the requests by task (stable: each task's requests keep their
// order) and runs them all in one mixed-task pass, unpadded.
func (r *runner) run(b *Base, encs []Encoded, out []Prediction) error {
	r.order = r.order[:0]
	for i := range encs {
		r.order = append(r.order, i)
	}
	slices.SortStableFunc(r.order, func(i, j int) int { return strings.Compare(encs[i].Task.name, encs[j].Task.name) })
	mb := &r.batch
	mb.IDs, mb.TypeIDs, mb.Lens, mb.Groups = mb.IDs[:0], mb.TypeIDs[:0], mb.Lens[:0], mb.Groups[:0]
	for k, i := range r.order {
		e := &encs[i]
		mb.IDs = append(mb.IDs, e.Enc.IDs...)
		mb.TypeIDs = append(mb.TypeIDs, e.Enc.TypeIDs...)
		mb.Lens = append(mb.Lens, e.Enc.Len())
		if k > 0 && encs[r.order[k-1]].Task == e.Task {
			mb.Groups[len(mb.Groups)-1].Seqs++
		} else {
			mb.Groups = append(mb.Groups, bert.Group{Model: e.Task.model, Seqs: 1})
		}
	}
	if err := b.model.ForwardMixed(&r.st, mb); err != nil {
		return err
	}
	for k, i := range r.order {
		out[i] = encs[i].Task.prediction(r.st.Logits(k), encs[i])
	}
	clear(mb.Groups) // hold no task past the call: it may be removed
	return nil
}

// prediction turns a request's logits into its Prediction.
func (t *Task) prediction(logits []float32, e Encoded) Prediction {
	p := Prediction{Logits: slices.Clone(logits), Tokens: e.Enc.Len(), Truncated: e.Truncated, Class: -1}
	if t.spec.Regression {
		p.Score = float64(logits[0])
		return p
	}
	p.Probs = softmax(logits)
	for c, v := range logits { // the first largest logit, as train.Predict
		if p.Class < 0 || v > logits[p.Class] {
			p.Class = c
		}
	}
	p.Label, p.Score = t.spec.Labels[p.Class], p.Probs[p.Class]
	return p
}

// softmax of a few logits, in float64.
func softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	p := make([]float64, len(x))
	var s float64
	for i, v := range x {
		p[i] = math.Exp(float64(v) - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}
