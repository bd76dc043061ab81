package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRejectedFlags: values that make no sense are usage errors (exit 2)
// whose message names the flag, for every command that takes them. The
// train cases run on the CLI fixture (random-tiny: hidden size 128, 2
// layers, 512 positions), so that the checks against the model's shape
// run too.
func TestRejectedFlags(t *testing.T) {
	f := newCLIFixture(t)
	out := filepath.Join(f.dir, "out", "x")
	trainArgs := func(extra ...string) []string {
		return append([]string{"train"}, f.trainArgs(out, extra...)...)
	}
	pre := func(extra ...string) []string {
		return append([]string{"pretrain", "--out", filepath.Join(f.dir, "pt"), "--vocab", f.vocab}, extra...)
	}
	sweepArgs := func(extra ...string) []string {
		return append([]string{"sweep", "--model", randomTiny, "--vocab", f.vocab, "--out", filepath.Join(f.dir, "sw")}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{trainArgs("--epochs", "0"), "--epochs 0: want a positive number"},
		{trainArgs("--epochs", "-2"), "--epochs -2: want a positive number"},
		{trainArgs("--batch", "0"), "--batch 0: want a positive number"},
		{trainArgs("--batch", "-8"), "--batch -8: want a positive number"},
		{trainArgs("--max-len", "0"), "--max-len 0: want at least 3"},
		{trainArgs("--max-len", "2"), "--max-len 2: want at least 3"},
		{trainArgs("--max-len", "513"), "--max-len 513 is longer than the model's 512 positions"},
		{trainArgs("--lr", "-1e-3"), "--lr -1e-3: want a positive number"},
		{trainArgs("--lr", "0"), "--lr 0: want a positive number"},
		{trainArgs("--warmup", "1"), "--warmup 1: want a number in [0, 1)"},
		{trainArgs("--warmup", "-0.1"), "--warmup -0.1: want a number in [0, 1)"},
		{trainArgs("--weight-decay", "-0.01"), "--weight-decay -0.01: want 0 (no decay) or a positive number"},
		{trainArgs("--max-grad-norm", "-1"), "--max-grad-norm -1: want 0 (no clipping) or a positive number"},
		{trainArgs("--patience", "-1"), "--patience -1: want 0 (never stop early) or more"},
		{trainArgs("--checkpoint-every", "-5"), "--checkpoint-every -5: want 0"},
		{trainArgs("--log-every", "-1"), "--log-every -1: want 0"},
		{trainArgs("--limit", "-1"), "--limit -1: want 0"},
		{trainArgs("--threads", "-1"), "--threads -1: want 0"},
		{trainArgs("--adapter-size", "0"), "--adapter-size 0: want a positive size"},
		{trainArgs("--adapter-size", "129"), "--adapter-size 129 is larger than the model's hidden size 128"},
		{trainArgs("--init-std", "0"), "--init-std 0: want a positive number"},
		{trainArgs("--top-layers", "3"), "--top-layers 3: the model has 2 layers"},
		{trainArgs("--top-layers", "-1"), "--top-layers -1: want 0 or more"},
		{trainArgs("--full", "--ln-head"), "--full and --ln-head: choose one method"},
		{trainArgs("--task", "nope"), `unknown task "nope"`},
		{trainArgs("extra"), `unexpected arguments ["extra"]`},
		{[]string{"train", "--task", "sst2"}, "no output: pass --out FILE"},

		{[]string{"eval", "--adapter", out, "--batch", "0"}, "--batch 0: want a positive number"},
		{[]string{"eval", "--adapter", out, "--max-len", "-1"}, "--max-len -1: want at least 3 (0: the adapter's)"},
		{[]string{"eval", "--adapter", out, "--max-len", "2"}, "--max-len 2: want at least 3"},
		{[]string{"eval", "--adapter", out, "--threads", "-2"}, "--threads -2: want 0"},
		{[]string{"eval", "--adapter", out, "--split", "test"}, "--split test: GLUE test sets are unlabelled"},
		{[]string{"eval", "--adapter", out, "--split", "validation"}, `--split "validation": want dev or train`},
		{[]string{"eval", "--adapter", out, "--task", "nope"}, `unknown task "nope"`},

		{sweepArgs("--epochs", "0"), "--epochs 0: want a positive number"},
		{sweepArgs("--batch", "-1"), "--batch -1: want a positive number"},
		{sweepArgs("--max-len", "0"), "--max-len 0: want at least 3"},
		{sweepArgs("--max-len", "1000"), "--max-len 1000 is longer than the model's 512 positions"},
		{sweepArgs("--jobs", "-1"), "--jobs -1: want 0"},
		{sweepArgs("--threads", "-1"), "--threads -1: want 0"},
		{sweepArgs("--task-epochs", "rte=0"), "--task-epochs rte=0: want a positive number of epochs"},
		{sweepArgs("--methods", "adapter-256"), "--methods adapter-256: adapter size 256 is larger than the model's hidden size 128"},
		{sweepArgs("--methods", "top-3"), "--methods: "},
		{sweepArgs("--tasks", "tsv"), "--tasks: tsv is not a GLUE task"},
		{sweepArgs("--lr-adapter", "1e-3,-1"), "--lr-adapter: "},
		{sweepArgs("--seed", "2", "--seeds", "1,2"), "--seed and --seeds"},

		{pre("--steps", "0"), "--steps 0: want a positive number"},
		{pre("--batch", "0"), "--batch 0: want a positive number"},
		{pre("--max-len", "4"), "--max-len 4: want at least 8"},
		{pre("--layers", "0"), "--layers 0: want a positive number"},
		{pre("--hidden", "-16"), "--hidden -16: want a positive number"},
		{pre("--heads", "3"), "--hidden 128 is not a multiple of --heads 3"},
		{pre("--lr", "0"), "--lr 0: want a positive number"},
		{pre("--lr", "-1e-4"), "--lr -1e-4: want a positive number"},
		{pre("--warmup", "1"), "--warmup 1: want a number in [0, 1)"},
		{pre("--weight-decay", "-1"), "--weight-decay -1: want 0 (no decay)"},
		{pre("--max-grad-norm", "-0.5"), "--max-grad-norm -0.5: want 0 (no clipping)"},
		{pre("--heldout", "0"), "--heldout 0: want a fraction in (0, 1)"},
		{pre("--heldout", "1"), "--heldout 1: want a fraction in (0, 1)"},
		{pre("--two-segments", "1.5"), "--two-segments 1.5: want a number in [0, 1]"},
		{pre("--eval-every", "0"), "--eval-every 0: want a positive number"},
		{pre("--eval-seqs", "0"), "--eval-seqs 0: want a positive number"},
		{pre("--keep", "0"), "--keep 0: want a positive number"},
		{[]string{"pretrain"}, "no output: pass --out DIR"},

		{[]string{"inspect"}, "--model DIR is required"},
		{[]string{"cpu", "--check=maybe"}, `invalid boolean value "maybe" for -check`},
	} {
		name := strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, 2, code, "exit status; stderr: %s", stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, "Run 'petl help "+tc.args[0]+"' for usage.")
		})
	}
	require.NoDirExists(t, filepath.Join(f.dir, "sw"), "sweep validates before it writes")
	require.NoDirExists(t, filepath.Join(f.dir, "pt"), "pretrain validates before it writes")
}
