package nn

import "fmt"

// Param is one named parameter tensor. A frozen parameter's W may be a
// read-only slice over a memory-mapped checkpoint; it has no gradient and no
// optimiser state.
type Param struct {
	Name    string    // Hugging Face style name, e.g. "encoder.layer.0.output.dense.weight"
	Shape   []int     // row-major shape
	W       []float32 // values, len = product of Shape
	G       []float32 // gradient, same length as W; nil when frozen
	Frozen  bool      // true: not trained (W may be read-only memory)
	NoDecay bool      // true for biases and layer-norm parameters: no weight decay
}

// Len returns the number of elements of p.
func (p *Param) Len() int { return len(p.W) }

// Trainable reports whether p has a gradient and is updated by the optimiser.
func (p *Param) Trainable() bool { return !p.Frozen }

// SetTrainable makes p trainable (allocating its gradient) or frozen
// (dropping it). Making a parameter trainable whose W is read-only memory
// copies W to the heap first.
func (p *Param) SetTrainable(on bool, readOnly bool) {
	if !on {
		p.Frozen, p.G = true, nil
		return
	}
	if readOnly {
		p.W = append([]float32(nil), p.W...)
	}
	p.Frozen = false
	if len(p.G) != len(p.W) {
		p.G = make([]float32, len(p.W))
	}
}

// ZeroGrad sets p's gradient to zero.
func (p *Param) ZeroGrad() { clear(p.G) }

// String describes p for messages.
func (p *Param) String() string { return fmt.Sprintf("%s %v", p.Name, p.Shape) }

// CountParams returns the number of elements in all params and in the
// trainable ones.
func CountParams(params []*Param) (total, trainable int) {
	for _, p := range params {
		total += p.Len()
		if p.Trainable() {
			trainable += p.Len()
		}
	}
	return total, trainable
}
