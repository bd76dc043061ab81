package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
	"github.com/petl-go/petl/sweep"
	"github.com/petl-go/petl/task"
	"github.com/stretchr/testify/require"
)

// TestSweepReportsUnknown: before training, the sweep prints each task's
// share of [UNK] wordpieces under the base's tokenizer, and warns when the
// casing is wrong (the real bert-base-uncased vocabulary read as written).
func TestSweepReportsUnknown(t *testing.T) {
	vocab := sharedtest.Path(t, "data", "vocab", "bert-base-uncased-vocab.txt")
	glue := sharedtest.Path(t, "data", "glue")
	for _, tc := range []struct {
		lower string
		warn  bool
	}{{"auto", false}, {"false", true}} {
		var b strings.Builder
		data := &sweepData{dir: glue, got: map[string][2]*task.Dataset{}}
		err := reportUnknown(&b, sweepBase{model: randomTiny, vocab: vocab, lower: tc.lower}, data, []string{"cola"}, 1)
		require.NoError(t, err)
		out := b.String()
		t.Log("\n" + out)
		require.Regexp(t, `(?m)^CoLA train: \d+\.\d+% of [0-9,]+ wordpieces are \[UNK\]`, out)
		require.Regexp(t, `(?m)^CoLA dev: \d+\.\d+% of [0-9,]+ wordpieces are \[UNK\]`, out)
		if tc.warn {
			require.Contains(t, out, "warning: CoLA dev: ")
			require.Contains(t, out, "the tokenizer lower-cases: false")
		} else {
			require.NotContains(t, out, "warning")
		}
	}
}

// TestSweepSteps: the three steps from the command line (plan, run one,
// collect) give what the one-process sweep gives, and the flags of each
// step are checked before any work.
func TestSweepSteps(t *testing.T) {
	vocab := sharedtest.Path(t, "data", "vocab", "bert-base-uncased-vocab.txt")
	glue := sharedtest.Path(t, "data", "glue")
	grid := []string{"sweep", "--model", "random-tiny", "--vocab", vocab, "--data", glue, "--tasks", "rte", "--methods", "ln-head",
		"--lr-ln-head", "1e-3,1e-2", "--epochs", "1", "--task-epochs", "", "--limit", "rte=16", "--batch", "8", "--max-len", "32"}
	with := func(extra ...string) []string { return append(append([]string(nil), grid...), extra...) }
	table := func(dir string) string {
		data, err := os.ReadFile(filepath.Join(dir, "results.md"))
		require.NoError(t, err)
		md, _, _ := strings.Cut(string(data), "## Every run")
		return md
	}

	local := t.TempDir()
	code, _, errs := runCLI(t, with("--jobs", "2", "--out", local)...)
	require.Zero(t, code, errs)

	steps := t.TempDir()
	code, _, errs = runCLI(t, with("--plan", "--out", steps)...)
	require.Zero(t, code, errs)
	require.FileExists(t, sweep.PlanPath(steps))
	code, _, errs = runCLI(t, "sweep", "--out", steps, "--collect")
	require.Zero(t, code, errs)
	require.Contains(t, table(steps), "Incomplete: 2 of 2 runs have no outcome yet:** 0 (rte/ln-head/lr=0.001")
	for _, i := range []string{"1", "1", "0"} { // the second "1" is skipped
		code, _, errs = runCLI(t, "sweep", "--out", steps, "--run", i, "--threads", "1")
		require.Zero(t, code, errs)
	}
	code, _, errs = runCLI(t, "sweep", "--out", steps, "--collect")
	require.Zero(t, code, errs)
	require.Equal(t, table(local), table(steps), "the steps give the one-process sweep's table")
	data, err := os.ReadFile(filepath.Join(steps, "results.jsonl"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(data), "\n"))

	slurm := t.TempDir()
	code, _, errs = runCLI(t, with("--slurm", "--slurm-parallel", "2", "--exec", "/opt/petl", "--out", slurm)...)
	require.Zero(t, code, errs)
	script, err := os.ReadFile(filepath.Join(slurm, "slurm", "array.sbatch"))
	require.NoError(t, err)
	require.Contains(t, string(script), "#SBATCH --array=0-1%2\n")
	require.Contains(t, string(script), `exec /opt/petl sweep --out `+slurm+` --run "$SLURM_ARRAY_TASK_ID" --threads 1`)

	stranger := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(stranger, "runs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stranger, "runs", "notes.txt"), nil, 0o644))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"run past the plan", []string{"sweep", "--out", steps, "--run", "2"}, "--run 2: the plan in " + steps + " has runs 0 to 1"},
		{"grid flags with --run", []string{"sweep", "--out", steps, "--run", "0", "--tasks", "rte"}, "--tasks: --run and --collect read the grid"},
		{"run and collect", []string{"sweep", "--out", steps, "--run", "0", "--collect"}, "--run and --collect: give one of them"},
		{"no plan", []string{"sweep", "--out", t.TempDir(), "--collect"}, "no plan in"},
		{"another plan", with("--batch", "4", "--out", steps), "holds another sweep's plan (batch differ)"},
		{"slurm flag alone", with("--slurm-cpus", "2", "--out", t.TempDir()), "--slurm-cpus: only with --slurm"},
		{"jobs with slurm", with("--slurm", "--jobs", "2", "--out", t.TempDir()), "--jobs: not with --plan"},
		{"k8s without claim", with("--k8s-image", "petl:1", "--out", t.TempDir()), "--k8s-image and --k8s-claim: give both"},
		{"stranger in runs", with("--out", stranger), "holds notes.txt, which a sweep does not write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.args...)
			require.NotZero(t, code)
			require.Contains(t, errs, tc.want)
		})
	}
}

// TestSweepDefaultEpochsWithoutSST2: the default --task-epochs (sst2=2)
// does not stop a sweep whose tasks leave SST-2 out; naming sst2 there
// explicitly still does.
func TestSweepDefaultEpochsWithoutSST2(t *testing.T) {
	vocab := sharedtest.Path(t, "data", "vocab", "bert-base-uncased-vocab.txt")
	glue := sharedtest.Path(t, "data", "glue")
	args := []string{"sweep", "--model", "random-tiny", "--vocab", vocab, "--data", glue, "--tasks", "rte,mrpc", "--methods", "ln-head", "--plan"}
	code, _, errs := runCLI(t, append(args, "--out", t.TempDir())...)
	require.Zero(t, code, errs)
	code, _, errs = runCLI(t, append(args, "--out", t.TempDir(), "--task-epochs", "sst2=2")...)
	require.Equal(t, 2, code)
	require.Contains(t, errs, `unknown key "sst2"`)
}

// TestSweepDefaultPlanShippedModel: make sweep's flags on the shipped
// BERT-tiny plan the default methods, without the adapters wider than its
// hidden size (it names them on standard error), instead of refusing the
// whole sweep.
func TestSweepDefaultPlanShippedModel(t *testing.T) {
	glue := sharedtest.Path(t, "data", "glue")
	out := t.TempDir()
	code, _, errs := runCLI(t, "sweep", "--model", repoPath("models", "petl-bert-tiny"), "--data", glue, "--epochs", "10",
		"--task-epochs", "sst2=3", "--limit", "sst2=20000", "--lr-full", "2e-4,1e-3", "--out", out, "--plan")
	require.Zero(t, code, errs)
	plan, err := os.ReadFile(sweep.PlanPath(out))
	require.NoError(t, err)
	require.Contains(t, string(plan), "adapter-64")
	require.NotContains(t, string(plan), "adapter-256")
}
