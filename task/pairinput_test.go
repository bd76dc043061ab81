package task

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPairInput: GLUE pair tasks are always pairs, single-text tasks never
// are, and the plain layout, whose second text is optional, is a pair
// exactly when the example has one (training used to encode its single
// texts as [CLS] a [SEP] [SEP], predict and serve as [CLS] a [SEP]).
func TestPairInput(t *testing.T) {
	plain, err := Plain(DefaultPlain())
	require.NoError(t, err)
	tests := []struct {
		task string
		spec *Spec
		b    string
		want bool
	}{
		{"mrpc", nil, "b", true},
		{"mrpc", nil, "", true},
		{"sst2", nil, "", false},
		{"tsv", plain, "", false},
		{"tsv", plain, "b", true},
	}
	for _, tc := range tests {
		spec := tc.spec
		if spec == nil {
			spec, err = Lookup(tc.task)
			require.NoError(t, err)
		}
		assert.Equal(t, tc.want, spec.PairInput(tc.b), "%s with second text %q", tc.task, tc.b)
	}
}
