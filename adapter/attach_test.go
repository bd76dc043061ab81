package adapter

import (
	"fmt"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/stretchr/testify/require"
)

// TestInferenceAllocatesNothing checks that a steady state of inference
// with adapters attached allocates nothing, on one thread and on two (where
// the kernels split rows, products and attention heads between goroutines),
// on a model wide enough for that split (BERT-tiny's widths), and that the
// logits do not depend on the thread count.
func TestInferenceAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race runtime's own allocations make counts meaningless")
	}
	defer kernels.SetThreads(kernels.Threads())
	cfg := tinyConfig()
	cfg.HiddenSize, cfg.IntermediateSize, cfg.MaxPositions = 128, 512, 64
	m, err := bert.NewRandom(cfg, 2, 3)
	require.NoError(t, err)
	set, err := Attach(m, Config{Size: 64}, 5)
	require.NoError(t, err)
	for _, p := range set.Params() {
		p.SetTrainable(false, false)
	}
	const B, T = 8, 64
	b := &bert.Batch{B: B, T: T, IDs: make([]int32, B*T), TypeIDs: make([]int32, B*T), Mask: make([]float32, B*T)}
	for i := range b.IDs {
		b.IDs[i] = int32(1 + i%(cfg.VocabSize-1))
		if i%T < T-i/T { // sequence s has T-s real tokens
			b.Mask[i] = 1
		}
	}
	var want []float32
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			kernels.SetThreads(threads)
			st := &bert.State{}
			require.NoError(t, m.Forward(st, b))
			allocs := testing.AllocsPerRun(5, func() {
				if err := m.Forward(st, b); err != nil {
					panic(err)
				}
			})
			require.Zero(t, allocs, "allocations per steady-state forward with adapters")
			if want == nil {
				want = append([]float32(nil), st.Logits...)
			}
			require.Equal(t, want, st.Logits, "logits differ between thread counts")
		})
	}
}
