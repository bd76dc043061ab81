package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runCLI runs a petl command line as main does and returns the exit
// status and what went to helpOut (standard output) and errOut.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	oldOut, oldErr := helpOut, errOut
	helpOut, errOut = &out, &errs
	defer func() { helpOut, errOut = oldOut, oldErr }()
	code = runMain(context.Background(), args)
	return code, out.String(), errs.String()
}

// helpCommands are the commands whose help these tests check. predict
// parses its flags with flag.NewFlagSet's own usage until it moves to
// newFlagSet and parseFlags; then it belongs here.
var helpCommands = []string{"train", "eval", "predict", "sweep", "pretrain", "inspect", "rebase", "cpu", "serve", "version", "help"}

// TestCommandHelp: petl help CMD, petl CMD -h and petl CMD --help print the
// same help on standard output (usage line, description, flags with their
// defaults, examples) and exit 0.
func TestCommandHelp(t *testing.T) {
	for _, name := range helpCommands {
		t.Run(name, func(t *testing.T) {
			code, want, stderr := runCLI(t, "help", name)
			require.Equal(t, 0, code, stderr)
			require.Empty(t, stderr)
			require.True(t, strings.HasPrefix(want, "Usage: petl "+name), want)
			require.Contains(t, want, "\nExamples:\n\n  ")
			require.Regexp(t, `(?m)^  (.*\| )?(\S+=\S+ )?petl `+name+`\b`, want, "an example runs the command")
			require.NotContains(t, want, "0.0099999", "floats print as written")
			if name != "help" {
				for _, h := range []string{"-h", "--help", "-help"} {
					code, got, stderr := runCLI(t, name, h)
					require.Equal(t, 0, code, stderr)
					require.Equal(t, want, got, "petl %s %s", name, h)
				}
			}
			if name != "help" && name != "version" {
				require.Contains(t, want, "\nFlags:\n\n  --")
			}
		})
	}
}

// TestHelpExamplesUseRealFlags: every flag an example uses is one the
// command has, so that the examples do not rot.
func TestHelpExamplesUseRealFlags(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`)
	for _, name := range helpCommands {
		_, help, _ := runCLI(t, "help", name)
		var have []string
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			have = append(have, m[1])
		}
		for _, ex := range docs[name].examples {
			_, cmdline, ok := strings.Cut(ex, "petl "+name)
			if !ok || strings.HasPrefix(strings.TrimSpace(ex), "#") {
				continue
			}
			for _, f := range strings.Fields(cmdline) {
				if f == "#" {
					break
				}
				if flag, ok := strings.CutPrefix(f, "--"); ok {
					flag, _, _ = strings.Cut(flag, "=")
					require.Contains(t, have, flag, "petl %s example %q", name, ex)
				}
			}
		}
	}
}

// TestEveryCommandHasHelp: each command has a description, a usage line and
// an example.
func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		d, ok := docs[name]
		require.True(t, ok, "command %s has no entry in docs", name)
		require.True(t, strings.HasPrefix(d.usage, "petl "+name), name)
		require.NotEmpty(t, d.text, name)
		require.NotEmpty(t, d.examples, name)
	}
}

// TestTopLevelHelp: petl help, -h and --help list every command and exit 0;
// petl alone prints the list as an error (exit 2).
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, stderr := runCLI(t, args...)
		require.Equal(t, 0, code)
		require.Empty(t, stderr)
		require.Contains(t, out, "Usage:\n\n  petl <command> [flags]")
		for name := range commands {
			require.Regexp(t, `(?m)^  `+name+` +\S`, out)
		}
	}
	code, out, stderr := runCLI(t)
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Contains(t, stderr, "Commands:")

	code, _, stderr = runCLI(t, "help", "train", "eval")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "help takes one command name")
}

// TestPredictHelpExitsZero: predict's -h exits 0 too.
func TestPredictHelpExitsZero(t *testing.T) {
	code, _, stderr := runCLI(t, "predict", "-h")
	require.Equal(t, 0, code, stderr)
}

// TestUnknownCommand: an unknown command is an error with a hint, exit 2.
func TestUnknownCommand(t *testing.T) {
	code, out, stderr := runCLI(t, "trian", "--task", "sst2")
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Contains(t, stderr, `petl: unknown command "trian" (did you mean "train"?)`)
	require.Contains(t, stderr, "Run 'petl help' for the list of commands.")

	code, _, stderr = runCLI(t, "help", "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unknown command "frobnicate"`)
	require.NotContains(t, stderr, "did you mean")

	require.Equal(t, "predict", suggest("pred"))
	require.Equal(t, "eval", suggest("evl"))
	require.Equal(t, "", suggest("xyzzy"))
}

// TestBadFlag: an undefined flag or a stray argument is a usage error
// (exit 2) pointing at the command's help, printed once.
func TestBadFlag(t *testing.T) {
	code, out, stderr := runCLI(t, "train", "--bogus")
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Equal(t, "petl train: flag provided but not defined: -bogus\nRun 'petl help train' for usage.\n", stderr)

	code, _, stderr = runCLI(t, "cpu", "now")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unexpected arguments ["now"]`)
}

// TestFlagDefaults: float defaults print as people write them, zero
// defaults not at all.
func TestFlagDefaults(t *testing.T) {
	_, train, _ := runCLI(t, "help", "train")
	for _, want := range []string{
		"  --weight-decay float\n        AdamW decoupled weight decay (not on biases and layer norms) (default 0.01)\n",
		"  --init-std float\n",
		"(default 0.1)\n  --weight-decay",
		"  --epochs int\n        passes over the training set (dev is evaluated after each) (default 3)\n",
		"  --out file\n",
		"  --lr float\n        peak learning rate (default 1e-3 for adapters, 2e-5 otherwise)\n",
		"  --full\n        full fine-tuning instead of adapters\n",
	} {
		require.Contains(t, train, want)
	}
	_, pre, _ := runCLI(t, "help", "pretrain")
	require.Regexp(t, `--weight-decay float\n.*\(default 0\.01\)`, pre)
	require.Regexp(t, `--lr float\n.*\(default 1e-3\)`, pre)

	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0.01, "0.01"}, {float64(float32(0.01)), "0.01"}, {1e-3, "1e-3"}, {2e-5, "2e-5"}, {5e-4, "5e-4"},
		{0.1, "0.1"}, {1, "1"}, {0.02, "0.02"}, {128, "128"}, {1.5e-10, "1.5e-10"}, {-0.5, "-0.5"},
		{-1e-3, "-1e-3"}, {0, "0"}, {float64(float32(0.3)), "0.3"}, {0.123456789012, "0.123456789012"},
	} {
		require.Equal(t, tc.want, formatFloat(tc.v), "%v", tc.v)
	}
	require.Equal(t, 0.01, shortFloat(0.01))
	require.True(t, slices.Contains(helpCommands, "train"))
}
