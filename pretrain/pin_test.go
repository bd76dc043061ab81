package pretrain

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/wordpiece"

	"github.com/stretchr/testify/require"
)

// TestFirstStepsPinned pins the bits of the loss and the right predictions
// of the first steps of tinyConfig, as the code gave them before the MLM
// head's step was made faster: a change that alters the rounding of the
// loss or its gradients shows here. The kernel variants round differently
// (the losses part by one unit in the last place from the second step), so
// each has its own pins.
func TestFirstStepsPinned(t *testing.T) {
	v := kernels.Active()
	pinnedLosses, ok := pinnedLosses[v]
	if !ok {
		t.Skipf("no pinned losses for the %s kernels", v)
	}
	cfg, docs := tinyConfig(t, "")
	tr, err := New(cfg, docs)
	require.NoError(t, err)
	var losses []uint32
	var correct []int
	for range len(pinnedLosses) {
		loss, _, c, _, _, err := tr.trainStep()
		require.NoError(t, err)
		losses = append(losses, math.Float32bits(loss))
		correct = append(correct, c)
	}
	t.Logf("losses %#x correct %v", losses, correct)
	require.Equal(t, pinnedLosses, losses)
	require.Equal(t, pinnedCorrect, correct)
}

var (
	pinnedLosses = map[kernels.Variant][]uint32{
		kernels.Generic: {0x406e8ff0, 0x406d8f7c, 0x406fddd8, 0x406b2329, 0x406cd0a8, 0x40672ae1, 0x406ba9ba, 0x40678f40},
		kernels.AVX2:    {0x406e8ff0, 0x406d8f7d, 0x406fddd8, 0x406b232a, 0x406cd0a8, 0x40672ae1, 0x406ba9ba, 0x40678f40},
		kernels.AVX512:  {0x406e8ff0, 0x406d8f7c, 0x406fddd8, 0x406b232a, 0x406cd0a8, 0x40672ae1, 0x406ba9ba, 0x40678f40},
	}
	pinnedCorrect = []int{1, 0, 0, 1, 2, 4, 5, 6}
)

// TestBenchStepsPinned pins, as TestFirstStepsPinned, the first steps of
// the benchmark's run (BERT-tiny over the bert-base-uncased vocabulary),
// where the head's products take the blocked paths of the kernels.
func TestBenchStepsPinned(t *testing.T) {
	if testing.Short() {
		t.Skip("about a second a step")
	}
	shared, err := sharedtest.Dir()
	if err != nil {
		t.Skip(err)
	}
	vocab := filepath.Join(shared, "data", "vocab", "bert-base-uncased-vocab.txt")
	v, err := wordpiece.LoadVocab(vocab)
	require.NoError(t, err)
	docs := benchDocs(t, filepath.Join(shared, "data", "glue", "SST-2", "train.tsv"))
	cfg := DefaultConfig(v.Size())
	cfg.VocabPath, cfg.Steps, cfg.HeldOut, cfg.EvalSeqs = vocab, 1<<30, 0.01, 1
	tr, err := New(cfg, docs)
	require.NoError(t, err)
	var losses []uint32
	var correct []int
	for range 3 {
		loss, _, c, _, _, err := tr.trainStep()
		require.NoError(t, err)
		losses = append(losses, math.Float32bits(loss))
		correct = append(correct, c)
	}
	t.Logf("losses %#x correct %v", losses, correct)
	require.Equal(t, []uint32{0x4125ffc1, 0x4125f0f5, 0x412607cf}, losses)
	require.Equal(t, []int{0, 0, 0}, correct)
}
