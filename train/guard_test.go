package train

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuard: with Config.Guard every step and every evaluation runs under
// it (petl.Base.Guard in the command line), a guarded run trains exactly
// as an unguarded one, and an error from the guard (a base file changed
// under the run) stops the run at that step, before the adapter of the
// epoch is saved, with the guard's error.
func TestGuard(t *testing.T) {
	train, dev := trainDev(t)
	cfg := baseCfg(t.TempDir())
	cfg.Out = ""
	plain := newTrainer(t, cfg, train, dev)
	want, err := plain.tr.Run(context.Background())
	require.NoError(t, err)

	calls := 0
	cfg.Guard = func(fn func() error) error { calls++; return fn() }
	guarded := newTrainer(t, cfg, train, dev)
	got, err := guarded.tr.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, want.Losses, got.Losses, "the guard changes nothing")
	require.True(t, slices.EqualFunc(weights(plain.tr), weights(guarded.tr), slices.Equal))
	require.Equal(t, got.Steps+cfg.Epochs, calls, "every step and evaluation")

	changed := errors.New("model.safetensors changed")
	cfg.Out = t.TempDir() + "/a"
	calls = 0
	cfg.Guard = func(fn func() error) error {
		if calls++; calls == 3 {
			return changed
		}
		return fn()
	}
	r := newTrainer(t, cfg, train, dev)
	res, err := r.tr.Run(context.Background())
	require.ErrorIs(t, err, changed)
	require.Equal(t, 2, res.Steps)
	require.NoFileExists(t, cfg.Out+".json")
}

// TestGuardedStepAllocations: a step under Config.Guard allocates no more
// than one without it (the guard's closure is bound once).
func TestGuardedStepAllocations(t *testing.T) {
	cfg := baseCfg("")
	cfg.Out = ""
	r := newTrainer(t, cfg, testData(t, 24, 8), nil)
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	step := func() {
		if _, err := r.tr.guardedStep(idx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		step()
	}
	plain := testing.AllocsPerRun(5, step)
	r.tr.cfg.Guard = func(fn func() error) error { return fn() }
	step()
	guarded := testing.AllocsPerRun(5, step)
	t.Logf("allocations per step: %v, guarded %v", plain, guarded)
	require.LessOrEqual(t, guarded, plain)
}
