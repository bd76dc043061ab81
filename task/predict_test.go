package task

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWritePredictions(t *testing.T) {
	rte := mustLookup(t, "rte")
	test, err := Read(rte, strings.NewReader("index\tsentence1\tsentence2\n7\ta\tb\n8\tc\td\n"), "test.tsv", Options{Unlabelled: true})
	require.NoError(t, err)
	var sb strings.Builder
	require.NoError(t, WritePredictions(&sb, rte, test.Examples, []int{1, 0}))
	assert.Equal(t, "index\tprediction\n7\tnot_entailment\n8\tentailment\n", sb.String())

	// The written file reads back as the plain layout with the same labels.
	cfg := DefaultPlain()
	cfg.ID, cfg.Text, cfg.Label, cfg.TextB = Column{Name: "index"}, Column{Name: "index"}, Column{Name: "prediction"}, Column{}
	cfg.Labels = rte.Labels
	plain, err := Plain(cfg)
	require.NoError(t, err)
	back, err := Read(plain, strings.NewReader(sb.String()), "pred.tsv", Options{})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 0}, back.Classes())

	stsb := mustLookup(t, "stsb")
	sb.Reset()
	require.NoError(t, WritePredictions(&sb, stsb, test.Examples, []float32{4.2, 0.125}))
	assert.Equal(t, "index\tprediction\n7\t4.2\n8\t0.125\n", sb.String())

	assert.ErrorContains(t, WritePredictions(&sb, rte, test.Examples, []int{2, 0}), "class 2")
	assert.ErrorContains(t, WritePredictions(&sb, rte, test.Examples, []int{0}), "1 predictions for 2 examples")
	assert.ErrorContains(t, WritePredictions(&sb, stsb, test.Examples, []float32{1, float32(math.NaN())}), "NaN")
}
