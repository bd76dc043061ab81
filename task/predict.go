package task

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
)

// WritePredictions writes predictions in the layout of GLUE submission
// files: a header "index\tprediction", then one line per example with its
// ID and the prediction, a label name of spec.Labels for classification
// ("1", "not_entailment") or the value for regression (shortest float32
// form). preds[i] belongs to examples[i].
func WritePredictions[T Number](w io.Writer, spec *Spec, examples []Example, preds []T) error {
	if len(preds) != len(examples) {
		return fmt.Errorf("task %s: %d predictions for %d examples", spec.Name, len(preds), len(examples))
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("index\tprediction\n")
	for i, ex := range examples {
		var out string
		if spec.Regression {
			v := float64(preds[i])
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("task %s: prediction %d (ID %s) is %v", spec.Name, i, ex.ID, v)
			}
			out = strconv.FormatFloat(v, 'f', -1, 32)
		} else {
			k := int(preds[i])
			if k < 0 || k >= len(spec.Labels) {
				return fmt.Errorf("task %s: prediction %d (ID %s) is class %d; the task has %d labels", spec.Name, i, ex.ID, k, len(spec.Labels))
			}
			out = spec.Labels[k]
		}
		bw.WriteString(ex.ID)
		bw.WriteByte('\t')
		bw.WriteString(out)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("task %s: writing predictions: %w", spec.Name, err)
	}
	return nil
}
