package petl_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInt8Base opens the shipped base in float32 and in int8 with the
// shipped SST-2 adapter: the int8 weights go to a file in the cache (reused
// by a second open), the predictions keep their labels with logits close to
// the float32 ones, and a precision that is neither is an error.
func TestInt8Base(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := models.TinyDir()
	require.NoError(t, err)
	texts := []string{"a gripping, funny and moving film", "a dull, lifeless mess", "it is what it is", "the best thing this year"}
	predict := func(precision string) []petl.Prediction {
		b, err := petl.Open(dir, petl.Options{Precision: precision, Pack: "off"})
		require.NoError(t, err)
		defer b.Close()
		want, err := petl.ParsePrecision(precision)
		require.NoError(t, err)
		require.Equal(t, want, b.Precision())
		task, err := b.Load("sst2", "models/adapters/sst2")
		require.NoError(t, err)
		var in []petl.Input
		for _, s := range texts {
			in = append(in, petl.Input{Text: s})
		}
		preds, err := task.Predict(context.Background(), in...)
		require.NoError(t, err)
		return preds
	}
	fp32, int8 := predict(""), predict("int8")
	files, err := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "petl", "int8", "*.safetensors"))
	require.NoError(t, err)
	require.Len(t, files, 1, "the int8 weights are in the cache")
	again := predict("INT8")
	var worst float64
	for i := range fp32 {
		assert.Equal(t, fp32[i].Label, int8[i].Label, "%q", texts[i])
		assert.Equal(t, int8[i].Logits, again[i].Logits, "the cached file gives the same bits")
		for j := range fp32[i].Logits {
			worst = max(worst, math.Abs(float64(fp32[i].Logits[j]-int8[i].Logits[j])))
		}
	}
	t.Logf("largest logit difference int8 - fp32: %.4g", worst)
	assert.Less(t, worst, 0.25)

	_, err = petl.Open(dir, petl.Options{Precision: "fp16"})
	require.ErrorContains(t, err, `precision "fp16": want fp32 or int8`)
}
