package task

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hand-computed cases. Counts (TP, FP, FN, TN) are written beside each.
func TestClassificationMetricsByHand(t *testing.T) {
	tests := []struct {
		name         string
		preds, golds []int
		acc, f1, mcc float64
	}{
		{
			// TP=2 FP=1 FN=1 TN=2: acc 4/6, F1 4/6,
			// MCC (4-1)/√(3·3·3·3) = 1/3.
			name:  "balanced",
			preds: []int{1, 1, 1, 0, 0, 0},
			golds: []int{1, 1, 0, 1, 0, 0},
			acc:   4.0 / 6, f1: 4.0 / 6, mcc: 1.0 / 3,
		},
		{
			// TP=3 FP=0 FN=1 TN=1: F1 6/7, MCC 3/√(3·4·1·2) = 3/√24.
			name:  "skewed",
			preds: []int{1, 1, 1, 0, 0},
			golds: []int{1, 1, 1, 1, 0},
			acc:   4.0 / 5, f1: 6.0 / 7, mcc: 3 / math.Sqrt(24),
		},
		{
			name:  "all wrong",
			preds: []int{1, 0, 1, 0},
			golds: []int{0, 1, 0, 1},
			acc:   0, f1: 0, mcc: -1,
		},
		{
			name:  "perfect",
			preds: []int{0, 1, 1, 0},
			golds: []int{0, 1, 1, 0},
			acc:   1, f1: 1, mcc: 1,
		},
		{
			// Constant predictions: MCC's denominator is 0, so 0; F1 with
			// TP=2 FP=2 FN=0 is 4/6.
			name:  "constant predictions",
			preds: []int{1, 1, 1, 1},
			golds: []int{1, 0, 1, 0},
			acc:   0.5, f1: 4.0 / 6, mcc: 0,
		},
		{
			// No class 1 anywhere: F1 is 0 by definition here; golds constant: MCC 0.
			name:  "no positives",
			preds: []int{0, 0, 0},
			golds: []int{0, 0, 0},
			acc:   1, f1: 0, mcc: 0,
		},
		{
			// Three classes, s=6, c=4, p=(2,2,2), t=(3,2,1):
			// (4·6 - (6+4+2)) / √((36-12)(36-14)) = 12/√528.
			// F1 counts only class 1: TP=1 FP=1 FN=1 -> 2/4.
			name:  "three classes",
			preds: []int{0, 0, 1, 1, 2, 2},
			golds: []int{0, 0, 1, 0, 2, 1},
			acc:   4.0 / 6, f1: 0.5, mcc: 12 / math.Sqrt(528),
		},
		{
			name:  "empty",
			preds: []int{}, golds: []int{},
			acc: 0, f1: 0, mcc: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.acc, AccuracyOf(tc.preds, tc.golds), 1e-12, "accuracy")
			assert.InDelta(t, tc.f1, F1Of(tc.preds, tc.golds), 1e-12, "F1")
			assert.InDelta(t, tc.mcc, MCCOf(tc.preds, tc.golds), 1e-12, "MCC")
		})
	}
}

func TestCorrelationsByHand(t *testing.T) {
	tests := []struct {
		name              string
		x, y              []float64
		pearson, spearman float64
	}{
		{
			// x̄=2, ȳ=3: dx=(-1,0,1), dy=(-2,1,1): Σdxdy=3, Σdx²=2,
			// Σdy²=6, r = 3/√12. Ranks of y: 1, 2.5, 2.5 (mean 2),
			// dy=(-1,.5,.5): Σdxdy=1.5, Σdy²=1.5, ρ = 1.5/√3.
			name: "ties", x: []float64{1, 2, 3}, y: []float64{1, 4, 4},
			pearson: 3 / math.Sqrt(12), spearman: 1.5 / math.Sqrt(3),
		},
		{
			name: "monotone, nonlinear", x: []float64{1, 2, 3, 4}, y: []float64{1, 8, 27, 64},
			// Pearson of (x, x³): dx=(-1.5,-.5,.5,1.5), ȳ=25, dy=(-24,-17,2,39):
			// Σdxdy=36+8.5+1+58.5=104, Σdx²=5, Σdy²=576+289+4+1521=2390.
			pearson: 104 / math.Sqrt(5*2390), spearman: 1,
		},
		{
			name: "reversed", x: []float64{3, 1, 2}, y: []float64{-3, -1, -2},
			pearson: -1, spearman: -1,
		},
		{
			name: "constant prediction", x: []float64{2, 2, 2}, y: []float64{1, 2, 3},
			pearson: 0, spearman: 0,
		},
		{name: "one value", x: []float64{1}, y: []float64{2}, pearson: 0, spearman: 0},
		{name: "empty", x: nil, y: nil, pearson: 0, spearman: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.pearson, PearsonOf(tc.x, tc.y), 1e-12, "Pearson")
			assert.InDelta(t, tc.spearman, SpearmanOf(tc.x, tc.y), 1e-12, "Spearman")
		})
	}
}

func TestRanks(t *testing.T) {
	assert.Equal(t, []float64{1, 2.5, 2.5, 4}, Ranks([]float64{5, 7, 7, 9}))
	assert.Equal(t, []float64{3, 1.5, 4, 1.5}, Ranks([]float64{2, 1, 3, 1}))
	assert.Equal(t, []float64{2, 2, 2}, Ranks([]float64{0, 0, 0}))
}

// TestMetricsAgainstNumPy compares with testdata/metrics.json, computed by
// testdata/metrics_fixture.py with other formulas.
func TestMetricsAgainstNumPy(t *testing.T) {
	raw, err := os.ReadFile("testdata/metrics.json")
	require.NoError(t, err)
	var fx struct {
		Cases []struct {
			Kind              string
			Classes           int
			Preds, Golds      []float64
			Accuracy, F1, MCC *float64
			MCCBinary         *float64 `json:"mcc_binary_corrcoef"`
			Pearson, Spearman *float64
		}
	}
	require.NoError(t, json.Unmarshal(raw, &fx))
	require.NotEmpty(t, fx.Cases)
	check := func(name string, want *float64, got float64) {
		t.Helper()
		require.NotNil(t, want, name)
		assert.InDelta(t, *want, got, 1e-12, name)
	}
	for i, c := range fx.Cases {
		if c.Kind == "regression" {
			check("pearson", c.Pearson, PearsonOf(c.Preds, c.Golds))
			check("spearman", c.Spearman, SpearmanOf(c.Preds, c.Golds))
			sc := Score(mustLookup(t, "stsb"), c.Preds, c.Golds)
			assert.Equal(t, PearsonOf(c.Preds, c.Golds), sc[Pearson])
			continue
		}
		p, g := toInt(c.Preds), toInt(c.Golds)
		check("accuracy", c.Accuracy, AccuracyOf(p, g))
		check("mcc", c.MCC, MCCOf(p, g))
		if c.Classes == 2 {
			check("f1", c.F1, F1Of(p, g))
			check("mcc (binary corrcoef)", c.MCCBinary, MCCOf(p, g))
		}
		if t.Failed() {
			t.Fatalf("case %d", i)
		}
	}
}

func TestScore(t *testing.T) {
	preds := []int{1, 1, 1, 0, 0, 0}
	golds := []int{1, 1, 0, 1, 0, 0}
	for _, s := range GLUE() {
		if s.Regression {
			continue
		}
		got := Score(s, preds, golds)
		assert.Len(t, got, len(s.Metrics), s.Name)
		for _, m := range s.Metrics {
			assert.Contains(t, got, m)
		}
		assert.Contains(t, got, s.Main)
	}
	cola := mustLookup(t, "cola")
	got := Score(cola, preds, golds)
	assert.InDelta(t, 1.0/3, got[MCC], 1e-12)
	assert.InDelta(t, 4.0/6, got[Accuracy], 1e-12)
	mrpc := Score(mustLookup(t, "mrpc"), preds, golds)
	assert.InDelta(t, 4.0/6, mrpc[F1], 1e-12)

	// float32 regression outputs.
	st := Score(mustLookup(t, "stsb"), []float32{1, 2, 3}, []float32{1, 4, 4})
	assert.InDelta(t, 3/math.Sqrt(12), st[Pearson], 1e-7)
	assert.InDelta(t, 1.5/math.Sqrt(3), st[Spearman], 1e-7)

	assert.Equal(t, "mcc=0.3333 accuracy=0.6667", FormatScores(cola, got))
	assert.Panics(t, func() { Score(cola, []int{1}, []int{1, 0}) })
}
