package petl_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/internal/petltest"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testBase, writeAdapter and sentence are petltest's, named for these
// tests.
func testBase(t testing.TB, seed uint64) *petl.Base { return petltest.Base(t, seed) }

func writeAdapter(t testing.TB, b *petl.Base, dir, key string, plan adapter.Plan, seed uint64) string {
	t.Helper()
	return petltest.WriteAdapter(t, b, filepath.Join(dir, key), key, plan, seed)
}

func sentence(rng *rand.Rand, n int) string { return petltest.Sentence(rng, n) }

// loadTasks loads adapters of four tasks (two single-text, two pairs, one
// of them regression) under several methods.
func loadTasks(t testing.TB, b *petl.Base) map[string]*petl.Task {
	dir := t.TempDir()
	plans := petltest.Plans
	tasks := map[string]*petl.Task{}
	seed := uint64(1)
	for key, plan := range plans {
		task, err := b.Load(key, writeAdapter(t, b, dir, key, plan, seed))
		require.NoError(t, err, key)
		tasks[key] = task
		seed++
	}
	return tasks
}

func inputFor(task *petl.Task, rng *rand.Rand) petl.Input {
	if task.Pair() {
		return petl.Pair(sentence(rng, 1+rng.IntN(12)), sentence(rng, rng.IntN(12)))
	}
	return petl.Text(sentence(rng, rng.IntN(30)))
}

// TestPredictMatchesTraining: a task's predictions through the front door
// are those of the training package's evaluation (train.Predict) on the
// same adapter.
func TestPredictMatchesTraining(t *testing.T) {
	b := testBase(t, 1)
	tasks := loadTasks(t, b)
	rng := rand.New(rand.NewPCG(1, 2))
	for key, tk := range tasks {
		var ins []petl.Input
		ds := &task.Dataset{Task: tk.Spec()}
		for i := 0; i < 17; i++ {
			in := inputFor(tk, rng)
			ins = append(ins, in)
			ds.Examples = append(ds.Examples, task.Example{A: in.Text, B: in.TextB})
		}
		got, err := tk.Predict(context.Background(), ins...)
		require.NoError(t, err)
		want, err := train.Predict(tk.Model(), tk.Tokenizer(), ds, tk.MaxLen(), 5)
		require.NoError(t, err)
		for i := range got {
			if tk.Regression() {
				assert.InDelta(t, want[i], got[i].Score, 1e-6, "%s %d", key, i)
				continue
			}
			assert.Equal(t, int(want[i]), got[i].Class, "%s %d", key, i)
			assert.Equal(t, tk.Labels()[got[i].Class], got[i].Label)
			sum := 0.0
			for _, p := range got[i].Probs {
				sum += p
			}
			assert.InDelta(t, 1, sum, 1e-9)
			assert.Equal(t, got[i].Probs[got[i].Class], got[i].Score)
		}
	}
}

// TestPredictMixedEqualsAlone: requests of four tasks and many lengths,
// interleaved, get exactly what each gets when run alone, at 1, 2 and 3
// threads.
func TestPredictMixedEqualsAlone(t *testing.T) {
	b := testBase(t, 2)
	tasks := loadTasks(t, b)
	keys := []string{"sst2", "cola", "mrpc", "stsb"}
	rng := rand.New(rand.NewPCG(3, 4))
	var reqs []petl.Request
	for i := 0; i < 60; i++ {
		tk := tasks[keys[rng.IntN(len(keys))]]
		reqs = append(reqs, petl.Request{Task: tk, Input: inputFor(tk, rng)})
	}
	defer kernels.SetThreads(kernels.Threads())
	for _, threads := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			kernels.SetThreads(threads)
			got, err := b.PredictMixed(context.Background(), reqs)
			require.NoError(t, err)
			for i, r := range reqs {
				alone, err := r.Task.Predict(context.Background(), r.Input)
				require.NoError(t, err)
				assert.Equal(t, alone[0].Logits, got[i].Logits, "request %d (%s, %d tokens)", i, r.Task.Name(), got[i].Tokens)
			}
		})
	}
}

// TestConcurrentPredict: many goroutines predicting with several tasks at
// once (run it with -race) get the same answers as one at a time.
func TestConcurrentPredict(t *testing.T) {
	b := testBase(t, 3)
	tasks := loadTasks(t, b)
	keys := []string{"sst2", "cola", "mrpc", "stsb"}
	rng := rand.New(rand.NewPCG(5, 6))
	var reqs []petl.Request
	for i := 0; i < 40; i++ {
		tk := tasks[keys[i%len(keys)]]
		reqs = append(reqs, petl.Request{Task: tk, Input: inputFor(tk, rng)})
	}
	want, err := b.PredictMixed(context.Background(), reqs)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				i := (g*7 + k*3) % len(reqs)
				got, err := reqs[i].Task.Predict(context.Background(), reqs[i].Input)
				if err != nil {
					errs <- err
					return
				}
				if fmt.Sprint(got[0].Logits) != fmt.Sprint(want[i].Logits) {
					errs <- fmt.Errorf("goroutine %d request %d: logits %v, alone %v", g, i, got[0].Logits, want[i].Logits)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLoadAndInputErrors(t *testing.T) {
	b := testBase(t, 4)
	other := testBase(t, 5)
	dir := t.TempDir()
	foreign := writeAdapter(t, other, dir, "sst2", adapter.Plan{Method: adapter.MethodLNHead}, 1)
	_, err := b.Load("sst2", foreign)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fingerprint")

	tasks := loadTasks(t, b)
	_, err = tasks["sst2"].Predict(context.Background(), petl.Pair("a", "b"))
	assert.ErrorIs(t, err, petl.ErrInput)
	_, err = tasks["mrpc"].Predict(context.Background(), petl.Text("the film"))
	assert.ErrorIs(t, err, petl.ErrInput)
	_, err = tasks["sst2"].Predict(context.Background(), petl.Text("bad \xff utf-8"))
	assert.ErrorIs(t, err, petl.ErrInput)

	_, err = b.Task("nope")
	assert.ErrorIs(t, err, petl.ErrUnknownTask)
	assert.True(t, b.Remove("cola"))
	_, err = b.Task("cola")
	assert.ErrorIs(t, err, petl.ErrUnknownTask)
	assert.Len(t, b.Tasks(), 3)
	for _, bad := range []string{"", ".hidden", "a/b", "sp ace"} {
		_, err := b.Add(bad, nil)
		assert.Error(t, err, "%q", bad)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tasks["sst2"].Predict(ctx, petl.Text("the film"))
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

// TestForcedCasingContradictsAdapter: forcing a casing other than the one
// an adapter was trained with is an error when loading it.
func TestForcedCasingContradictsAdapter(t *testing.T) {
	b := testBase(t, 6)
	path := writeAdapter(t, b, t.TempDir(), "sst2", adapter.Plan{Method: adapter.MethodLNHead}, 1)
	v := b.Vocab()
	cased, err := petl.NewBase(b.Model(), v, b.Identity(), petl.Options{Lowercase: "false", Pack: "off"})
	require.NoError(t, err)
	_, err = cased.Load("sst2", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lowercase")
}

// TestTruncation: inputs longer than the task's length are cut and say so.
func TestTruncation(t *testing.T) {
	b := testBase(t, 7)
	tasks := loadTasks(t, b)
	rng := rand.New(rand.NewPCG(8, 9))
	long := sentence(rng, 100)
	got, err := tasks["sst2"].Predict(context.Background(), petl.Text(long), petl.Text("the film"))
	require.NoError(t, err)
	assert.True(t, got[0].Truncated)
	assert.Equal(t, tasks["sst2"].MaxLen(), got[0].Tokens)
	assert.False(t, got[1].Truncated)
	assert.Equal(t, 4, got[1].Tokens)
}
