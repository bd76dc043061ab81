package trainrun

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestErrors(t *testing.T) {
	in, div := Interrupted("training"), Diverged("pretraining")
	require.EqualError(t, in, "training interrupted")
	require.EqualError(t, div, "pretraining diverged")
	err := fmt.Errorf("%w at step 3", in)
	require.ErrorIs(t, err, in)
	require.ErrorIs(t, err, ErrInterrupted)
	require.NotErrorIs(t, err, ErrDiverged)
	require.NotErrorIs(t, err, Interrupted("training"), "each value is its own error")
	require.ErrorIs(t, fmt.Errorf("%w at step 3", div), ErrDiverged)
	require.False(t, errors.Is(err, div))
}

func TestLog(t *testing.T) {
	Log{}.Printf("nothing %d\n", 1) // quiet
	var b strings.Builder
	Log{W: &b}.Printf("step %d\n", 2)
	require.Equal(t, "step 2\n", b.String())
}

func TestTiming(t *testing.T) {
	start := time.Unix(1000, 0)
	c := Clock{Start: start, StartStep: 10}
	require.Equal(t, "elapsed 0s", c.Timing(start, 10, 20), "no step done: no ETA")
	require.Equal(t, "elapsed 4s, ETA 16s", c.Timing(start.Add(4*time.Second), 12, 20))
	require.Equal(t, "elapsed 5s, ETA 1s", c.Timing(start.Add(5*time.Second+400*time.Millisecond), 18, 20), "rounded to the second")
	require.Equal(t, "elapsed 9s", c.Timing(start.Add(9*time.Second), 20, 20), "none left: no ETA")
	require.Equal(t, 4.0, Rate(8, 2*time.Second))
	require.Equal(t, 3e9, Rate(3, 0))
}

func TestIdentityDiff(t *testing.T) {
	type id struct {
		LR     float64  `json:"lr"`
		Batch  int      `json:"batch,omitempty"`
		Labels []string `json:"labels"`
		Plain  string
	}
	a := id{LR: 0.005, Batch: 8, Labels: nil, Plain: "x"}
	require.Empty(t, IdentityDiff(a, id{LR: 0.005, Batch: 8, Labels: []string{}, Plain: "x"}), "nil and empty agree")
	require.Equal(t, "lr is 0.005 there, 0.01 here; batch is 8 there, 4 here; Plain is x there, y here",
		IdentityDiff(a, id{LR: 0.01, Batch: 4, Plain: "y"}))
	require.Panics(t, func() { IdentityDiff(a, 1) })
}
