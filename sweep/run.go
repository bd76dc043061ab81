package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
	"github.com/petl-go/petl/wordpiece"
)

// Base makes the models a run trains: a fresh copy each call, because
// training changes the model (adapters attach, trained weights move to the
// heap).
type Base interface {
	// New returns the base model (random: the same architecture randomly
	// initialised from seed), its tokenizer, its identity for adapter
	// files, and a function releasing it.
	New(random bool, seed uint64) (*bert.Model, *wordpiece.Tokenizer, adapter.Base, func() error, error)
}

// GuardedBase is a Base whose models may read memory-mapped files: Guard
// returns, for a model New made (and until it is released), the function
// every training step and evaluation runs under (train.Config.Guard), so
// that a base file changed under a run is an error naming it; nil when
// the model needs none.
type GuardedBase interface {
	Base
	Guard(m *bert.Model) func(fn func() error) error
}

// Data gives the training and dev sets of a task.
type Data interface {
	Load(taskKey string) (trainSet, devSet *task.Dataset, err error)
}

// Runner runs a grid's runs, numbered as in Grid.Runs (a plan's numbers):
// run i records its outcome in OutcomePath(Dir, i) and trains with its
// checkpoint at CheckpointPath(Dir, i).
type Runner struct {
	Grid Grid
	Base Base
	Data Data
	// Dir is the sweep's folder (its RunsDir folder must exist).
	Dir string
	// Store holds outcomes recorded before in a results file: their runs
	// are done. Nil for none.
	Store *Store

	Batch, MaxLen int
	// CheckpointEvery writes a run's checkpoint every that many steps
	// besides at the end of each epoch and on interruption (0: only
	// there).
	CheckpointEvery int
	// Jobs is the number of runs trained at the same time (each with the
	// kernels' thread count; see kernels.SetThreads).
	Jobs int
	// Progress receives one line per finished run with the sweep's rate
	// and ETA; nil for none.
	Progress io.Writer
	// TrainLog receives each run's own training log (its progress with
	// rate and ETA, its epochs, a resumption); nil for none.
	TrainLog io.Writer
}

// cost estimates a run's work: training examples times epochs.
func cost(r Run, n int) float64 {
	if r.Limit > 0 && r.Limit < n {
		n = r.Limit
	}
	return float64(n * r.Epochs)
}

// recorded returns run i's outcome, from the store or its file, and
// whether it has one.
func (r *Runner) recorded(i int, run Run) (Outcome, bool, error) {
	if o, ok := r.Store.Get(run); ok {
		return o, true, nil
	}
	o, ok, err := ReadOutcome(OutcomePath(r.Dir, i))
	if err != nil || !ok {
		return Outcome{}, false, err
	}
	if o.Key() != run.Key() {
		return Outcome{}, false, fmt.Errorf("sweep: %s holds run %s, but run %d of this sweep is %s: the folder belongs to another sweep", OutcomePath(r.Dir, i), o.Key(), i, run.Key())
	}
	return o, true, nil
}

// RunOne trains run number i of the grid unless it has an outcome already
// (then skipped is true and o is that outcome), resuming from its
// checkpoint when an earlier attempt left one, and writes its outcome
// atomically to OutcomePath(Dir, i). Cancelling ctx stops the run after
// the current step with its checkpoint written, and returns an error
// wrapping ctx's.
func (r *Runner) RunOne(ctx context.Context, i int) (o Outcome, skipped bool, err error) {
	runs := r.Grid.Runs()
	if i < 0 || i >= len(runs) {
		return Outcome{}, false, fmt.Errorf("sweep: run %d: the sweep has runs 0 to %d", i, len(runs)-1)
	}
	run := runs[i]
	if o, ok, err := r.recorded(i, run); err != nil || ok {
		return o, ok, err
	}
	if err := r.checkBases(); err != nil {
		return Outcome{}, false, err
	}
	o, err = r.one(ctx, i, run)
	if err != nil {
		return Outcome{}, false, err
	}
	return o, false, WriteOutcome(OutcomePath(r.Dir, i), o)
}

// Run trains every run of the grid that has no outcome yet, the most
// expensive first, Jobs at a time, each as RunOne does. Cancelling ctx
// stops the runs in flight (each keeps its checkpoint, from which the next
// Run resumes it) and returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	type item struct {
		i    int
		run  Run
		cost float64
	}
	if err := r.checkBases(); err != nil {
		return err
	}
	sizes := map[string]int{}
	var todo []item
	total := 0.0
	runs := r.Grid.Runs()
	for i, run := range runs {
		_, ok, err := r.recorded(i, run)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		n, ok := sizes[run.Task]
		if !ok {
			tr, _, err := r.Data.Load(run.Task)
			if err != nil {
				return err
			}
			n = len(tr.Examples)
			sizes[run.Task] = n
		}
		c := cost(run, n)
		todo = append(todo, item{i, run, c})
		total += c
	}
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].cost > todo[j].cost })
	if len(todo) == 0 {
		r.logf("sweep: all %d runs already done\n", len(runs))
		return nil
	}
	r.logf("sweep: %d runs to do (%d done before), %d at a time, %d kernel threads each\n",
		len(todo), len(runs)-len(todo), max(r.Jobs, 1), kernels.Threads())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan item)
	var (
		mu       sync.Mutex
		firstErr error
		done     float64
		finished int
		wg       sync.WaitGroup
	)
	start := time.Now()
	for j := 0; j < max(r.Jobs, 1); j++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				o, err := r.one(ctx, it.i, it.run)
				if err == nil {
					err = WriteOutcome(OutcomePath(r.Dir, it.i), o)
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				done += it.cost
				finished++
				el := time.Since(start)
				eta := time.Duration(float64(el) * (total - done) / max(done, 1))
				r.logf("[%d/%d] %-5s %-12s lr %-6g dev %s %.2f (epoch %d) trained %.2f%%  %s  | %.0f example-epochs/s, ETA %s\n",
					finished, len(todo), o.Task, o.Method, o.LR, o.Main, 100*o.Best, o.BestEpoch,
					100*o.TrainedFraction(), time.Duration(o.Seconds*float64(time.Second)).Round(time.Second),
					done/el.Seconds(), eta.Round(time.Second))
				mu.Unlock()
			}
		}()
	}
feed:
	for _, it := range todo {
		select {
		case work <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil && !errors.Is(firstErr, context.Canceled) && !errors.Is(firstErr, train.ErrInterrupted) {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// checkBases makes sure that the outcomes already in the store were
// trained on the bases this sweep uses: a results file holds one base's
// experiment (outcomes without a recorded base are accepted).
func (r *Runner) checkBases() error {
	type kind struct {
		random bool
		seed   uint64
	}
	want := map[kind]string{}
	outcomes, err := ReadOutcomes(r.Dir)
	if err != nil {
		return err
	}
	where := filepath.Join(r.Dir, RunsDir)
	if r.Store != nil {
		outcomes = append(r.Store.Outcomes(), outcomes...)
		where = r.Store.Path() + " or " + where
	}
	for _, o := range outcomes {
		m, ok := r.Grid.Method(o.Method)
		if o.Model == "" || !ok {
			continue
		}
		k := kind{m.RandomBase, o.Seed}
		fp, ok := want[k]
		if !ok {
			_, _, base, release, err := r.Base.New(k.random, k.seed)
			if err != nil {
				return err
			}
			if err := release(); err != nil {
				return err
			}
			fp = base.Fingerprint
			want[k] = fp
		}
		if o.Model != fp {
			return fmt.Errorf("sweep: %s holds run %s trained on base %s, but this sweep's base is %s: give another output folder (or remove that outcome)",
				where, o.Key(), o.Model, fp)
		}
	}
	return nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format, args...)
	}
}

// one trains run i, resuming from its checkpoint when there is one.
func (r *Runner) one(ctx context.Context, i int, run Run) (Outcome, error) {
	m, ok := r.Grid.Method(run.Method)
	if !ok {
		return Outcome{}, fmt.Errorf("sweep: run %s: method not in the grid", run.Key())
	}
	trainSet, devSet, err := r.Data.Load(run.Task)
	if err != nil {
		return Outcome{}, err
	}
	if run.Limit > 0 && run.Limit < len(trainSet.Examples) {
		ts := *trainSet
		ts.Examples = ts.Examples[:run.Limit]
		trainSet = &ts
	}
	model, tok, base, release, err := r.Base.New(m.RandomBase, run.Seed)
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	cfg := train.Config{
		Plan: m.Plan, Epochs: run.Epochs, LR: run.LR, Batch: r.Batch, MaxLen: r.MaxLen,
		Seed: run.Seed, Base: base, Limit: run.Limit,
		Checkpoint: CheckpointPath(r.Dir, i), CheckpointEvery: r.CheckpointEvery, Progress: r.TrainLog,
	}
	if g, ok := r.Base.(GuardedBase); ok {
		cfg.Guard = g.Guard(model)
	}
	tr, err := train.New(model, tok, trainSet, devSet, cfg)
	if err != nil {
		return Outcome{}, fmt.Errorf("sweep: run %s: %w", run.Key(), err)
	}
	resumed := false
	if _, err := os.Stat(cfg.Checkpoint); err == nil {
		if err := tr.Resume(cfg.Checkpoint); err != nil {
			return Outcome{}, fmt.Errorf("sweep: run %d (%s): %w (remove the checkpoint to train the run from the start)", i, run.Key(), err)
		}
		resumed = true
	}
	start := time.Now()
	res, err := tr.Run(ctx)
	o := Outcome{
		Run: run, Main: trainSet.Task.Main, Trained: tr.Setup().Trained, Base: tr.Setup().Base,
		Examples: len(trainSet.Examples), Threads: kernels.Threads(), Kernels: kernels.Active().String(),
		Model: base.Fingerprint, Resumed: resumed,
	}
	if err != nil {
		if !errors.Is(err, train.ErrDiverged) {
			return Outcome{}, fmt.Errorf("sweep: run %s: %w", run.Key(), err)
		}
		o.Diverged = err.Error()
	}
	o.Seconds = time.Since(start).Seconds()
	o.Steps = res.Steps
	o.Best, o.BestEpoch = res.Best, res.BestEpoch
	if math.IsNaN(o.Best) {
		o.Best = math.Inf(-1)
	}
	for _, e := range res.Epochs {
		o.Dev = append(o.Dev, e.Scores)
	}
	return o, nil
}
