package train

import (
	"fmt"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/wordpiece"
)

// encoded is a dataset tokenized once, before training.
type encoded struct {
	encs    []wordpiece.Encoding // per example: ids and type ids (Tokens dropped)
	labels  []int32              // class indices (classification)
	targets []float32            // targets (regression)
	pad     int32                // the vocabulary's [PAD] id
}

func (e *encoded) n() int { return len(e.encs) }

// encode tokenizes every example of ds: [CLS] a [SEP] (b [SEP]) truncated
// to maxLen tokens, longest segment first, as wordpiece.Tokenizer.EncodeTo does.
// The ids of all examples share two backing arrays.
func encode(tok *wordpiece.Tokenizer, ds *task.Dataset, maxLen int) encoded {
	n := len(ds.Examples)
	e := encoded{encs: make([]wordpiece.Encoding, n), pad: tok.Vocab().PadID()}
	if ds.Labelled {
		if ds.Task.Regression {
			e.targets = make([]float32, n)
		} else {
			e.labels = make([]int32, n)
		}
	}
	var scratch wordpiece.Encoding
	var ids, types []int32
	starts := make([]int, n+1)
	for i := range ds.Examples {
		ex := &ds.Examples[i]
		tok.EncodeTo(&scratch, ex.A, ex.B, ds.Task.PairInput(ex.B), maxLen)
		ids = append(ids, scratch.IDs...)
		types = append(types, scratch.TypeIDs...)
		starts[i+1] = len(ids)
		if e.labels != nil {
			e.labels[i] = int32(ex.Label)
		}
		if e.targets != nil {
			e.targets[i] = ex.Score
		}
	}
	for i := range e.encs {
		lo, hi := starts[i], starts[i+1]
		e.encs[i] = wordpiece.Encoding{IDs: ids[lo:hi:hi], TypeIDs: types[lo:hi:hi]}
	}
	return e
}

// predict runs m over every example of e in batches of batch, in order,
// and returns the predicted class index (classification) or value
// (regression) of each, as float32.
func predict(m *bert.Model, st *bert.State, e *encoded, batch int, regression bool) ([]float32, error) {
	st.Train = false
	st.CLSOnly = true  // the head reads the [CLS] rows alone: the last layer computes no others
	st.Unpadded = true // and no layer computes the padding
	out := make([]float32, e.n())
	L := m.NumLabels()
	var b bert.Batch
	for lo := 0; lo < e.n(); lo += batch {
		hi := min(lo+batch, e.n())
		b.Fill(e.encs[lo:hi], 0, e.pad)
		if err := m.Forward(st, &b); err != nil {
			return nil, fmt.Errorf("examples %d..%d: %w", lo, hi-1, err)
		}
		for i := 0; i < hi-lo; i++ {
			row := st.Logits[i*L : (i+1)*L]
			if regression {
				out[lo+i] = row[0]
				continue
			}
			best := 0
			for k, v := range row {
				if v > row[best] {
					best = k
				}
			}
			out[lo+i] = float32(best)
		}
	}
	return out, nil
}

// Predict runs m, which must have a head for ds's task, over ds (in order,
// batch examples at a time, each encoded to at most maxLen tokens) and
// returns each example's predicted class index, or value for a regression
// task. The last layer computes only the [CLS] rows, all the head reads
// (bert.State.CLSOnly), and no layer the padding (bert.State.Unpadded).
func Predict(m *bert.Model, tok *wordpiece.Tokenizer, ds *task.Dataset, maxLen, batch int) ([]float32, error) {
	if m.NumLabels() != ds.Task.NumLabels() {
		return nil, fmt.Errorf("train: the model's head has %d outputs, task %s needs %d", m.NumLabels(), ds.Task.Name, ds.Task.NumLabels())
	}
	if batch <= 0 {
		batch = 32
	}
	e := encode(tok, ds, maxLen)
	var st bert.State
	out, err := predict(m, &st, &e, batch, ds.Task.Regression)
	if err != nil {
		return nil, fmt.Errorf("train: predicting %s: %w", ds.Path, err)
	}
	return out, nil
}

// Evaluate predicts ds (see Predict), which must be labelled, and scores
// the predictions with the task's metrics.
func Evaluate(m *bert.Model, tok *wordpiece.Tokenizer, ds *task.Dataset, maxLen, batch int) (map[string]float64, []float32, error) {
	if !ds.Labelled {
		return nil, nil, fmt.Errorf("train: %s has no labels to evaluate against", ds.Path)
	}
	if len(ds.Examples) == 0 {
		return nil, nil, fmt.Errorf("train: %s has no examples", ds.Path)
	}
	preds, err := Predict(m, tok, ds, maxLen, batch)
	if err != nil {
		return nil, nil, err
	}
	golds := make([]float32, len(ds.Examples))
	for i, ex := range ds.Examples {
		if ds.Task.Regression {
			golds[i] = ex.Score
		} else {
			golds[i] = float32(ex.Label)
		}
	}
	return task.Score(ds.Task, preds, golds), preds, nil
}
