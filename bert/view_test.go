package bert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewIsolation: a view computes like its model, shares every weight,
// and making its parameters trainable and changing them leaves the model and
// other views alone, whether the model's weights are on the heap or mapped.
func TestViewIsolation(t *testing.T) {
	cfg := Config{VocabSize: 40, HiddenSize: 16, NumLayers: 2, NumHeads: 2, IntermediateSize: 32,
		MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12}
	m, err := NewRandom(cfg, 0, 7)
	require.NoError(t, err)
	v1, v2 := m.View(), m.View()
	mp, vp := m.Params(), v1.Params()
	require.Len(t, vp, len(mp))
	for i := range mp {
		assert.NotSame(t, mp[i], vp[i], mp[i].Name)
		assert.True(t, SharesWeights(mp[i], vp[i]), mp[i].Name)
		assert.True(t, vp[i].Frozen, mp[i].Name)
	}
	before := append([]float32(nil), m.Layers[1].FFLN.Gamma.W...)
	g := v1.Layers[1].FFLN.Gamma
	v1.SetTrainable(g, true)
	g.W[0] += 1
	assert.Equal(t, before, m.Layers[1].FFLN.Gamma.W, "the model's values")
	assert.Equal(t, before, v2.Layers[1].FFLN.Gamma.W, "another view's values")
	assert.False(t, SharesWeights(g, m.Layers[1].FFLN.Gamma))
	assert.True(t, SharesWeights(v2.Layers[1].FFLN.Gamma, m.Layers[1].FFLN.Gamma))
	assert.Nil(t, v1.Classifier)
}
