package optim

import (
	"fmt"
	"math"
)

// DefaultWarmup is the fraction of the training steps spent warming up.
const DefaultWarmup = 0.1

// LinearWarmup is the learning-rate schedule of the BERT recipe, as Hugging
// Face's get_linear_schedule_with_warmup computes it: with k the number of
// updates already done (0 for the first), W warm-up steps and T steps in
// all,
//
//	lr(k) = Peak · k/W              for k < W
//	lr(k) = Peak · (T-k)/(T-W)      for W <= k < T
//	lr(k) = 0                       for k >= T
//
// So the first update uses lr 0 when W > 0 (it still moves AdamW's moment
// estimates), the peak is reached at update W+1, and the last update (k =
// T-1) uses Peak/(T-W).
type LinearWarmup struct {
	Peak   float64 // the learning rate after warm-up
	Warmup int     // W: warm-up steps
	Total  int     // T: all training steps
}

// NewLinearWarmup makes the schedule for total steps, warming up over the
// fraction warmup of them (see WarmupSteps).
func NewLinearWarmup(peak float64, total int, warmup float64) (LinearWarmup, error) {
	if !(peak >= 0) || math.IsInf(peak, 0) {
		return LinearWarmup{}, fmt.Errorf("learning-rate schedule: peak %v must be a non-negative number", peak)
	}
	if total <= 0 {
		return LinearWarmup{}, fmt.Errorf("learning-rate schedule: %d training steps, need at least 1", total)
	}
	if !(warmup >= 0 && warmup <= 1) {
		return LinearWarmup{}, fmt.Errorf("learning-rate schedule: warm-up fraction %v not in [0, 1]", warmup)
	}
	return LinearWarmup{Peak: peak, Warmup: WarmupSteps(total, warmup), Total: total}, nil
}

// WarmupSteps is ⌈fraction · total⌉, as Hugging Face's Trainer rounds
// warmup_ratio, except that a product a rounding error above an integer
// (0.1·70 = 7.000000000000001 in float64) counts as that integer.
func WarmupSteps(total int, fraction float64) int {
	return int(math.Ceil(fraction*float64(total) - 1e-9))
}

// At returns the learning rate for the update after k updates (k = 0 for
// the first; pass AdamW.Steps()).
func (s LinearWarmup) At(k int) float64 {
	switch {
	case k < 0:
		return 0
	case k < s.Warmup:
		return s.Peak * float64(k) / float64(s.Warmup)
	case k >= s.Total:
		return 0
	}
	return s.Peak * float64(s.Total-k) / float64(max(1, s.Total-s.Warmup))
}
