package nn

import "fmt"

// Embedding is a lookup table of V rows of width C.
type Embedding struct {
	V, C int
	W    *Param // [V, C]
}

// NewEmbedding returns an Embedding over w after checking its size.
func NewEmbedding(w *Param, v, c int) (Embedding, error) {
	if w == nil || w.Len() != v*c {
		return Embedding{}, fmt.Errorf("nn.NewEmbedding: table %v does not hold [%d %d]", w, v, c)
	}
	return Embedding{V: v, C: c, W: w}, nil
}

// CheckIDs returns an error naming the first id outside [0, V).
func (e *Embedding) CheckIDs(ids []int32) error {
	for i, id := range ids {
		if id < 0 || int(id) >= e.V {
			return fmt.Errorf("%s: id %d at position %d is outside [0, %d)", e.W.Name, id, i, e.V)
		}
	}
	return nil
}

// Forward gathers rows: y[r] = W[ids[r]] for every r < len(ids).
//
//	y   [rows, C]  output, overwritten
//	ids [rows]     indices in [0, V) (checked: out of range panics)
func (e *Embedding) Forward(y []float32, ids []int32) {
	c := e.C
	for r, id := range ids {
		copy(y[r*c:(r+1)*c], e.W.W[int(id)*c:int(id+1)*c])
	}
}

// ForwardAdd adds gathered rows: y[r] += W[ids[r]].
//
//	y   [rows, C]  accumulated into
//	ids [rows]
func (e *Embedding) ForwardAdd(y []float32, ids []int32) {
	c := e.C
	for r, id := range ids {
		src, dst := e.W.W[int(id)*c:int(id+1)*c], y[r*c:(r+1)*c]
		for j, v := range src {
			dst[j] += v
		}
	}
}

// Backward scatter-adds dy into the table's gradient: dW[ids[r]] += dy[r].
// Nothing is done when W is frozen. The loop is sequential, so repeated ids
// accumulate in a fixed order.
//
//	dy  [rows, C]
//	ids [rows]
func (e *Embedding) Backward(dy []float32, ids []int32) {
	if !e.W.Trainable() {
		return
	}
	c := e.C
	for r, id := range ids {
		src, dst := dy[r*c:(r+1)*c], e.W.G[int(id)*c:int(id+1)*c]
		for j, v := range src {
			dst[j] += v
		}
	}
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return []*Param{e.W} }
