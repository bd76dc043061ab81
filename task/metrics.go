package task

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// The metrics below compare predictions with gold values of the same length
// (a length mismatch is a programming error and panics). Sums are taken in
// float64. Where a metric is undefined (no examples, a constant series) it
// is 0, as scikit-learn reports for the Matthews correlation; SciPy gives
// NaN for a constant series' Pearson or Spearman, petl gives 0 so that a
// model stuck on one output simply scores 0 and comparisons of scores stay
// well defined.

// AccuracyOf is the fraction of predictions equal to the gold class:
//
//	acc = (1/n) Σ_i [pred_i = gold_i]
//
// It is 0 for no examples.
func AccuracyOf(preds, golds []int) float64 {
	sameLen("accuracy", len(preds), len(golds))
	if len(preds) == 0 {
		return 0
	}
	ok := 0
	for i := range preds {
		if preds[i] == golds[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(preds))
}

// F1Of is the binary F1 score with class 1 as the positive class (as GLUE
// scores MRPC): with TP, FP, FN counted over class 1,
//
//	F1 = 2·precision·recall / (precision + recall) = 2TP / (2TP + FP + FN)
//
// It is 0 when 2TP+FP+FN = 0 (neither predictions nor golds contain class 1).
// Classes other than 1 all count as negative.
func F1Of(preds, golds []int) float64 {
	sameLen("F1", len(preds), len(golds))
	var tp, fp, fn int
	for i := range preds {
		p, g := preds[i] == 1, golds[i] == 1
		switch {
		case p && g:
			tp++
		case p:
			fp++
		case g:
			fn++
		}
	}
	den := 2*tp + fp + fn
	if den == 0 {
		return 0
	}
	return float64(2*tp) / float64(den)
}

// MCCOf is the Matthews correlation coefficient, in the multi-class form of
// Gorodkin (2004) that scikit-learn uses. With s examples, c of them correct,
// p_k the number predicted as class k and t_k the number whose gold class
// is k:
//
//	MCC = (c·s - Σ_k p_k·t_k) / √((s² - Σ_k p_k²) · (s² - Σ_k t_k²))
//
// For two classes this is (TP·TN - FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
// It is 0 when the denominator is 0: all predictions, or all golds, in one
// class (or no examples).
func MCCOf(preds, golds []int) float64 {
	sameLen("MCC", len(preds), len(golds))
	p := map[int]float64{}
	t := map[int]float64{}
	var c float64
	for i := range preds {
		p[preds[i]]++
		t[golds[i]]++
		if preds[i] == golds[i] {
			c++
		}
	}
	s := float64(len(preds))
	var pt, pp, tt float64
	for k, pk := range p {
		pt += pk * t[k]
		pp += pk * pk
	}
	for _, tk := range t {
		tt += tk * tk
	}
	den := (s*s - pp) * (s*s - tt)
	if den <= 0 {
		return 0
	}
	return clamp1((c*s - pt) / math.Sqrt(den))
}

// PearsonOf is Pearson's correlation coefficient:
//
//	r = Σ_i (x_i - x̄)(y_i - ȳ) / √(Σ_i (x_i - x̄)² · Σ_i (y_i - ȳ)²)
//
// with the means taken first (two passes). It is 0 when either series is
// constant or there are fewer than two values.
func PearsonOf(x, y []float64) float64 {
	sameLen("Pearson", len(x), len(y))
	n := len(x)
	if n < 2 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return clamp1(sxy / math.Sqrt(sxx*syy))
}

// SpearmanOf is Spearman's rank correlation: Pearson's r of the ranks of x
// and of y, where tied values all get the average of the ranks they span
// (the values 5, 7, 7, 9 have ranks 1, 2.5, 2.5, 4). It is 0 when either
// series is constant or there are fewer than two values.
func SpearmanOf(x, y []float64) float64 {
	sameLen("Spearman", len(x), len(y))
	return PearsonOf(Ranks(x), Ranks(y))
}

// Ranks returns the 1-based rank of every value of x in ascending order,
// ties sharing the average of their ranks.
func Ranks(x []float64) []float64 {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] < x[order[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && x[order[j]] == x[order[i]] {
			j++
		}
		// Positions i..j-1 (0-based) hold equal values: ranks i+1..j.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			r[order[k]] = avg
		}
		i = j
	}
	return r
}

// Number is a type predictions and golds may be given in: class indices
// (int) or regression outputs (float32, float64).
type Number interface {
	~int | ~int32 | ~int64 | ~float32 | ~float64
}

// Score computes every metric of spec.Metrics over the predictions, keyed by
// metric name (Accuracy, F1, MCC, Pearson, Spearman); spec.Main names the
// task's GLUE score among them. For classification, preds and golds are
// class indices; for regression, real values. A metric of the other kind
// of task (F1 of a regression, Pearson of a classification) panics.
func Score[T Number](spec *Spec, preds, golds []T) map[string]float64 {
	sameLen("Score", len(preds), len(golds))
	// Converted once for all the metrics: reals for a regression, classes
	// for a classification.
	var x, y []float64
	var p, g []int
	if spec.Regression {
		x, y = toFloat(preds), toFloat(golds)
	} else {
		p, g = toInt(preds), toInt(golds)
	}
	out := make(map[string]float64, len(spec.Metrics))
	for _, m := range spec.Metrics {
		switch {
		case spec.Regression && m == Pearson:
			out[m] = PearsonOf(x, y)
		case spec.Regression && m == Spearman:
			out[m] = SpearmanOf(x, y)
		case spec.Regression:
			panic(fmt.Sprintf("task %s: metric %q needs classes, the task is a regression", spec.Name, m))
		case m == Accuracy:
			out[m] = AccuracyOf(p, g)
		case m == F1:
			out[m] = F1Of(p, g)
		case m == MCC:
			out[m] = MCCOf(p, g)
		default:
			panic(fmt.Sprintf("task %s: metric %q needs real values, the task is a classification", spec.Name, m))
		}
	}
	return out
}

// FormatScores writes scores in spec.Metrics order, the main one first:
// "mcc=0.5123 accuracy=0.8012".
func FormatScores(spec *Spec, scores map[string]float64) string {
	parts := make([]string, 0, len(spec.Metrics))
	for _, m := range spec.Metrics {
		if v, ok := scores[m]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.4f", m, v))
		}
	}
	return strings.Join(parts, " ")
}

func toFloat[T Number](xs []T) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func toInt[T Number](xs []T) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func clamp1(x float64) float64 { return math.Max(-1, math.Min(1, x)) }

func sameLen(what string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("task: %s of %d predictions against %d golds", what, a, b))
	}
}
