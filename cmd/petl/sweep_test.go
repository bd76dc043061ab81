package main

import (
	"strings"
	"testing"

	"github.com/petl-go/petl/internal/sharedtest"
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
