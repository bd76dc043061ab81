// Package optim holds the optimiser petl trains with: AdamW with decoupled
// weight decay (the BERT fine-tuning recipe), the linear warm-up and decay
// learning-rate schedule, and clipping by global gradient norm.
//
// Only trainable parameters (nn.Param with Frozen unset) have optimiser
// state; frozen ones are skipped entirely.
package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// AdamWConfig are AdamW's hyperparameters other than the learning rate,
// which is given to each Step (it follows a schedule).
type AdamWConfig struct {
	Beta1       float32 // decay of the first-moment average
	Beta2       float32 // decay of the second-moment average
	Eps         float32 // added to √v̂ in the denominator
	WeightDecay float32 // decoupled weight decay; not applied to params with NoDecay
}

// DefaultAdamW is the BERT fine-tuning recipe: β1 0.9, β2 0.999, ε 1e-6,
// weight decay 0.01 (none on biases and layer norms, which carry NoDecay).
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: 0.01}
}

// Validate reports a hyperparameter out of range.
func (c AdamWConfig) Validate() error {
	switch {
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("AdamW: beta1 %v not in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("AdamW: beta2 %v not in [0, 1)", c.Beta2)
	case !(c.Eps > 0) || math.IsInf(float64(c.Eps), 0):
		return fmt.Errorf("AdamW: eps %v must be positive", c.Eps)
	case !(c.WeightDecay >= 0) || math.IsInf(float64(c.WeightDecay), 0):
		return fmt.Errorf("AdamW: weight decay %v must be non-negative", c.WeightDecay)
	}
	return nil
}

// AdamW is the AdamW optimiser (Loshchilov & Hutter) as torch.optim.AdamW
// computes it, over the trainable parameters it was created with. For each
// trainable parameter p with gradient g, step t (1 for the first update),
// learning rate lr and weight decay wd (0 when p.NoDecay):
//
//	p ← p·(1 - lr·wd)
//	m ← β1·m + (1-β1)·g
//	v ← β2·v + (1-β2)·g²
//	p ← p - lr · (m/(1-β1^t)) / (√(v/(1-β2^t)) + ε)
//
// The update itself is kernels.AdamW.
type AdamW struct {
	cfg    AdamWConfig
	params []*nn.Param // the trainable parameters, in the order given
	m, v   [][]float32 // moment estimates, m[i] and v[i] shaped like params[i]
	step   int         // updates done
	names  map[string]int
}

// NewAdamW makes an optimiser over the trainable ones of params (frozen ones
// get no state and are never touched). The set of trainable parameters is
// fixed here: changing a parameter's trainability later needs a new
// optimiser. Parameter names must be unique (they name the state).
func NewAdamW(params []*nn.Param, cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &AdamW{cfg: cfg, names: map[string]int{}}
	for _, p := range params {
		if !p.Trainable() {
			continue
		}
		if _, dup := o.names[p.Name]; dup {
			return nil, fmt.Errorf("AdamW: parameter name %q appears twice", p.Name)
		}
		if len(p.G) != len(p.W) {
			return nil, fmt.Errorf("AdamW: trainable parameter %s has %d gradient values for %d weights", p, len(p.G), len(p.W))
		}
		if n := shapeLen(p.Shape); n != len(p.W) {
			return nil, fmt.Errorf("AdamW: parameter %s has %d values, its shape says %d", p, len(p.W), n)
		}
		o.names[p.Name] = len(o.params)
		o.params = append(o.params, p)
		o.m = append(o.m, make([]float32, len(p.W)))
		o.v = append(o.v, make([]float32, len(p.W)))
	}
	return o, nil
}

// Step applies one update with learning rate lr to every trainable
// parameter, using the gradients in p.G (left unchanged), and advances the
// step counter.
func (o *AdamW) Step(lr float64) {
	o.step++
	for i, p := range o.params {
		wd := o.cfg.WeightDecay
		if p.NoDecay {
			wd = 0
		}
		kernels.AdamW(p.W, p.G, o.m[i], o.v[i], kernels.AdamWParams{
			LR: float32(lr), Beta1: o.cfg.Beta1, Beta2: o.cfg.Beta2, Eps: o.cfg.Eps,
			WeightDecay: wd, Step: o.step,
		})
	}
}

// Steps returns the number of updates done (restored by LoadState).
func (o *AdamW) Steps() int { return o.step }

// Config returns the hyperparameters.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Params returns the trainable parameters the optimiser updates.
func (o *AdamW) Params() []*nn.Param { return slices.Clone(o.params) }

// ZeroGrad zeroes every trainable parameter's gradient.
func (o *AdamW) ZeroGrad() {
	for _, p := range o.params {
		p.ZeroGrad()
	}
}

// Tensor is one named float32 tensor of optimiser state.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// State is what a checkpoint needs to resume the optimiser: the step count
// and, for every trainable parameter P, the tensors "P.exp_avg" (m) and
// "P.exp_avg_sq" (v), shaped like P.
type State struct {
	Step    int
	Tensors []Tensor
}

// Suffixes of the state tensors' names (as in PyTorch's AdamW state).
const (
	SuffixM = ".exp_avg"
	SuffixV = ".exp_avg_sq"
)

// State returns the optimiser state. Its tensors' Data alias the
// optimiser's buffers (nothing is copied): write them out before the next
// Step.
func (o *AdamW) State() State {
	s := State{Step: o.step, Tensors: make([]Tensor, 0, 2*len(o.params))}
	for i, p := range o.params {
		s.Tensors = append(s.Tensors,
			Tensor{Name: p.Name + SuffixM, Shape: slices.Clone(p.Shape), Data: o.m[i]},
			Tensor{Name: p.Name + SuffixV, Shape: slices.Clone(p.Shape), Data: o.v[i]})
	}
	return s
}

// ErrState is wrapped by every LoadState error.
var ErrState = errors.New("optimizer state does not match the trainable parameters")

// LoadState restores a State (copying its data). It must hold exactly the
// two tensors of every trainable parameter, with the parameter's shape, and
// finite values (v non-negative); otherwise nothing is changed and the
// error says which tensor is wrong.
func (o *AdamW) LoadState(s State) error {
	if s.Step < 0 {
		return fmt.Errorf("%w: step %d is negative", ErrState, s.Step)
	}
	type slot struct {
		i   int
		isV bool
	}
	seen := map[string]bool{}
	slots := make([]slot, len(s.Tensors))
	for k, t := range s.Tensors {
		base, isV := strings.CutSuffix(t.Name, SuffixV)
		if !isV {
			var isM bool
			if base, isM = strings.CutSuffix(t.Name, SuffixM); !isM {
				return fmt.Errorf("%w: tensor %q is not named P%s or P%s", ErrState, t.Name, SuffixM, SuffixV)
			}
		}
		i, ok := o.names[base]
		if !ok {
			return fmt.Errorf("%w: tensor %q is for %q, which is not a trainable parameter here", ErrState, t.Name, base)
		}
		if seen[t.Name] {
			return fmt.Errorf("%w: tensor %q appears twice", ErrState, t.Name)
		}
		seen[t.Name] = true
		p := o.params[i]
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("%w: tensor %q has shape %v, parameter %s", ErrState, t.Name, t.Shape, p)
		}
		if len(t.Data) != len(p.W) {
			return fmt.Errorf("%w: tensor %q has %d values, parameter %s has %d", ErrState, t.Name, len(t.Data), p, len(p.W))
		}
		for j, x := range t.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || (isV && x < 0) {
				return fmt.Errorf("%w: tensor %q has the value %v at %d", ErrState, t.Name, x, j)
			}
		}
		slots[k] = slot{i, isV}
	}
	for _, p := range o.params {
		for _, suf := range []string{SuffixM, SuffixV} {
			if !seen[p.Name+suf] {
				return fmt.Errorf("%w: no tensor %q (was the checkpoint written with other trainable parameters?)", ErrState, p.Name+suf)
			}
		}
	}
	for k, t := range s.Tensors {
		if slots[k].isV {
			copy(o.v[slots[k].i], t.Data)
		} else {
			copy(o.m[slots[k].i], t.Data)
		}
	}
	o.step = s.Step
	return nil
}

func shapeLen(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
