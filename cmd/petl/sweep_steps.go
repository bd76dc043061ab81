package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/sweep"
	"github.com/petl-go/petl/task"
)

// stepFlags are petl sweep's flags of the three steps (plan, run one,
// collect) and of the cluster jobs that drive them.
type stepFlags struct {
	plan, collect, slurm        bool
	run                         int
	parallel, cpus              int
	time, partition, exec, name string
	image, claim                string
}

// stepOnly are the flags --run and --collect take; every other flag is
// the plan's.
var stepOnly = map[string]bool{"out": true, "run": true, "collect": true, "threads": true}

func addStepFlags(fs *flag.FlagSet) *stepFlags {
	st := &stepFlags{}
	fs.BoolVar(&st.plan, "plan", false, "only write the plan (DIR/runs/plan.json, one numbered run per line) for --run and --collect")
	fs.IntVar(&st.run, "run", -1, "only train run number I of the plan in --out (a job array's task I); a finished run is skipped, a stopped one resumes from its checkpoint")
	fs.BoolVar(&st.collect, "collect", false, "only write the tables and figures from the plan's runs that finished, naming the missing ones")
	fs.BoolVar(&st.slurm, "slurm", false, "write the plan and a Slurm array job for it (DIR/slurm/array.sbatch, collect.sbatch, submit.sh) instead of running")
	fs.IntVar(&st.parallel, "slurm-parallel", 0, "runs at the same time on the cluster (--array's %P; 0: no limit)")
	fs.IntVar(&st.cpus, "slurm-cpus", 1, "CPUs of each run on the cluster, and its kernel threads")
	fs.StringVar(&st.time, "slurm-time", "4:00:00", "time limit of each run on the cluster (Slurm's format)")
	fs.StringVar(&st.partition, "slurm-partition", "", "Slurm partition (default: the cluster's)")
	fs.StringVar(&st.name, "job-name", "petl-sweep", "name of the cluster jobs")
	fs.StringVar(&st.exec, "exec", "", "the petl binary the cluster's nodes run (default: this one, at the same path)")
	fs.StringVar(&st.image, "k8s-image", "", "also write a Kubernetes Indexed Job for the plan (DIR/k8s/job.yaml) running this container image (untested)")
	fs.StringVar(&st.claim, "k8s-claim", "", "with --k8s-image: the ReadWriteMany volume claim mounted at --out's absolute path")
	return st
}

// jobName matches a name that Slurm and Kubernetes both take.
var jobName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// planOnly reports whether the command writes the plan (and jobs) only.
func (st *stepFlags) planOnly() bool { return st.plan || st.slurm || st.image != "" }

// check validates the step flags of a command that writes the plan.
func (st *stepFlags) check(fs *flag.FlagSet) error {
	set := flagsSet(fs)
	switch {
	case st.parallel < 0:
		return badFlag("--slurm-parallel %d: want 0 (no limit) or more", st.parallel)
	case st.cpus <= 0:
		return badFlag("--slurm-cpus %d: want at least 1", st.cpus)
	case (st.image == "") != (st.claim == ""):
		return badFlag("--k8s-image and --k8s-claim: give both")
	case !jobName.MatchString(st.name):
		return badFlag("--job-name %q: want lower-case letters, digits and dashes", st.name)
	}
	if !st.slurm && st.image == "" {
		for _, f := range []string{"slurm-parallel", "slurm-cpus", "slurm-time", "slurm-partition", "exec", "job-name"} {
			if set[f] {
				return badFlag("--%s: only with --slurm or --k8s-image", f)
			}
		}
	}
	if st.planOnly() {
		for _, f := range []string{"report", "jobs"} {
			if set[f] {
				return badFlag("--%s: not with --plan, --slurm or --k8s-image, which write the plan and run nothing", f)
			}
		}
	}
	return nil
}

// writeJobs writes the cluster jobs of the plan in dir, as the flags ask,
// and says what to do next.
func (st *stepFlags) writeJobs(dir string, plan sweep.Plan, set map[string]bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	exe := st.exec
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("sweep: finding this binary for the jobs (pass --exec PATH): %w", err)
		}
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("--exec: %w", err)
	}
	j := sweep.ClusterJob{Dir: abs, Exec: exe, Runs: len(plan.Runs), Parallel: st.parallel, CPUs: st.cpus,
		Time: st.time, Partition: st.partition, Name: st.name, Image: st.image, Claim: st.claim}
	if !st.slurm && st.image == "" {
		fmt.Fprintf(os.Stderr, "next: petl sweep --out %s --run I for I in 0..%d (anywhere the folder is seen), then petl sweep --out %s --collect\n", dir, len(plan.Runs)-1, dir)
		return nil
	}
	if st.slurm {
		submit, err := j.WriteSlurm()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote the Slurm array job (%d runs, %s at a time, %d CPUs and %s each) and its collect job in %s\n",
			len(plan.Runs), limitText(st.parallel), st.cpus, st.time, filepath.Dir(submit))
		fmt.Fprintf(os.Stderr, "%s and %s must be at the same paths on every node (shared storage); then: sh %s\n", abs, exe, submit)
	}
	if st.image != "" {
		job, err := j.WriteKubernetes()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote a Kubernetes Indexed Job (untested) in %s: kubectl apply -f %s, then collect.yaml when it is complete\n", filepath.Dir(job), job)
	}
	return nil
}

func limitText(p int) string {
	if p == 0 {
		return "all"
	}
	return strconv.Itoa(p)
}

// planBase resolves the base model flags into a plan's, with absolute
// paths, so that any node and any working folder means the same files.
func planBase(model, vocab, lower string) (sweep.PlanBase, error) {
	pb := sweep.PlanBase{Model: model, Vocab: vocab, Lowercase: lower, Title: model}
	if model == "" {
		pb.Title = filepath.Base(defaultModel)
		if env := os.Getenv(envModel); env != "" {
			pb.Model, pb.Title = env, env
		}
	}
	if model == randomTiny && vocab == "" {
		pb.Vocab = defaultVocab
	}
	var err error
	if pb.Model != "" && pb.Model != randomTiny {
		if pb.Model, err = filepath.Abs(pb.Model); err != nil {
			return pb, fmt.Errorf("--model: %w", err)
		}
	}
	if pb.Vocab != "" {
		if pb.Vocab, err = filepath.Abs(pb.Vocab); err != nil {
			return pb, fmt.Errorf("--vocab: %w", err)
		}
	}
	if pb.Model == "" { // the shipped model, which each node unpacks from its binary
		if _, err := modelDir(""); err != nil {
			return pb, err
		}
	}
	return pb, nil
}

// planModel is the model folder (or built-in name) of a plan's base on
// this machine.
func planModel(pb sweep.PlanBase) (string, error) { return modelDir(pb.Model) }

// planRunner is the runner of a plan in the sweep folder dir, with the
// outcomes of store (may be nil) done.
func planRunner(plan sweep.Plan, dir string, store *sweep.Store) (*sweep.Runner, error) {
	model, err := planModel(plan.Base)
	if err != nil {
		return nil, err
	}
	cfg, err := modelConfig(model)
	if err != nil {
		return nil, err
	}
	g, err := plan.Grid(cfg.NumLayers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sweep.PlanPath(dir), err)
	}
	return &sweep.Runner{
		Grid: g, Dir: dir, Store: store, Batch: plan.Batch, MaxLen: plan.MaxLen, CheckpointEvery: plan.CheckpointEvery,
		Base: sweepBase{model: model, vocab: plan.Base.Vocab, lower: plan.Base.Lowercase},
		Data: &sweepData{dir: plan.Data, got: map[string][2]*task.Dataset{}},
	}, nil
}

// runSweepStep is petl sweep --run I and --collect: the plan in dir says
// everything else.
func runSweepStep(ctx context.Context, fs *flag.FlagSet, st *stepFlags, dir string, threads int) error {
	var other []string
	for f := range flagsSet(fs) {
		if !stepOnly[f] {
			other = append(other, "--"+f)
		}
	}
	sort.Strings(other)
	switch {
	case st.run >= 0 && st.collect:
		return badFlag("--run and --collect: give one of them")
	case len(other) > 0:
		return badFlag("%s: --run and --collect read the grid and settings from %s; give only --out (and --threads with --run)", strings.Join(other, ", "), sweep.PlanPath(dir))
	case threads < 0:
		return badFlag("--threads %d: want 0 (every core) or more", threads)
	}
	if err := checkSweepFolder("--out "+dir, dir); err != nil {
		return err
	}
	plan, err := sweep.ReadPlan(dir)
	if err != nil {
		return err
	}
	store, warn, err := sweep.OpenStore(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintln(os.Stderr, warn)
	}
	r, err := planRunner(plan, dir, store)
	if err != nil {
		return err
	}
	if st.collect {
		return collectSweep(dir, plan.Base.Title, r.Grid, store)
	}
	if st.run >= len(plan.Runs) {
		return badFlag("--run %d: the plan in %s has runs 0 to %d", st.run, dir, len(plan.Runs)-1)
	}
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	kernels.SetThreads(threads)
	run := plan.Runs[st.run]
	fmt.Fprintf(os.Stderr, "sweep: run %d of %d: %s, %d kernel threads\n", st.run, len(plan.Runs), run.Key(), threads)
	r.TrainLog = os.Stderr
	o, skipped, err := r.RunOne(ctx, st.run)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "interrupted: run %d resumes from %s when started again\n", st.run, sweep.CheckpointPath(dir, st.run))
		}
		return err
	}
	what := "trained"
	if skipped {
		what = "already done"
	} else if o.Resumed {
		what = "trained (resumed)"
	}
	fmt.Printf("run %d %s: %s %s lr %g seed %d: dev %s %.2f (epoch %d), %.0f s\n", st.run, what, o.Task, o.Method, o.LR, o.Seed, o.Main, 100*o.Best, o.BestEpoch, o.Seconds)
	return nil
}

// collectSweep is the collect step: the outcomes of results.jsonl and of
// the runs' files, written back to results.jsonl (when there are run
// files), the table and the figures, with the runs still missing named.
func collectSweep(dir, title string, g sweep.Grid, store *sweep.Store) error {
	outcomes, files, missing, err := sweep.Gather(dir, g, store)
	if err != nil {
		return err
	}
	if files > 0 {
		if err := sweep.WriteResults(filepath.Join(dir, "results.jsonl"), outcomes); err != nil {
			return err
		}
	}
	var names []string
	if len(missing) > 0 {
		runs := g.Runs()
		for _, i := range missing {
			names = append(names, fmt.Sprintf("%d (%s)", i, runs[i].Key()))
		}
		fmt.Fprintf(os.Stderr, "collect: %d of %d runs have no outcome yet: %s\n", len(missing), len(runs), strings.Join(names, ", "))
	}
	return writeSweepReport(dir, title, g, outcomes, names)
}

// sweepSubfolders matches, for each folder a sweep writes inside its
// folder, the names of what it writes there.
var sweepSubfolders = map[string]*regexp.Regexp{
	sweep.RunsDir:  sweep.RunsEntry,
	sweep.SlurmDir: regexp.MustCompile(`^\.?(array\.sbatch|collect\.sbatch|submit\.sh)(\.tmp[0-9]*)?$|^(run-[0-9]+|collect)\.out$`),
	sweep.K8sDir:   regexp.MustCompile(`^\.?(job|collect)\.yaml(\.tmp[0-9]*)?$`),
}

// checkSweepSubfolders checks, before any work, that the folders a sweep
// writes inside dir (runs/, slurm/, k8s/) hold only what it writes there.
func checkSweepSubfolders(label, dir string) error {
	for sub, re := range sweepSubfolders {
		path := filepath.Join(dir, sub)
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s: %s is not a folder: not a sweep's (choose another folder)", label, path)
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		for _, e := range entries {
			if !re.MatchString(e.Name()) || !e.Type().IsRegular() {
				return fmt.Errorf("%s: %s holds %s, which a sweep does not write: not writing there (choose another folder)", label, path, e.Name())
			}
		}
	}
	return nil
}
