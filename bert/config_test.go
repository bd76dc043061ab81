package bert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ckptBertBaseConfig is the config.json of bert-base-uncased as published.
const ckptBertBaseConfig = `{
  "architectures": ["BertForMaskedLM"],
  "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "model_type": "bert",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "transformers_version": "4.6.0.dev0",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
}`

func TestConfigBertBase(t *testing.T) {
	c, err := ParseConfig([]byte(ckptBertBaseConfig))
	require.NoError(t, err)
	assert.Equal(t, Config{
		ModelType: "bert", VocabSize: 30522, HiddenSize: 768, NumLayers: 12, NumHeads: 12,
		IntermediateSize: 3072, MaxPositions: 512, TypeVocabSize: 2, HiddenAct: "gelu",
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02,
		PositionEmbeddingType: "absolute",
	}, c)
	assert.Equal(t, 64, c.HeadDim())
	// 110M parameters in the base model, as published for BERT-base.
	n := 0
	for _, tt := range c.BaseTensors() {
		n += ckptElements(tt.Shape)
	}
	assert.Equal(t, 109482240, n)
}

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
		"num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32}`))
	require.NoError(t, err)
	assert.Equal(t, "gelu", c.HiddenAct)
	assert.Equal(t, float32(1e-12), c.LayerNormEps)
	assert.Equal(t, float32(0.1), c.HiddenDropout)
	assert.Equal(t, float32(0.1), c.AttentionDropout)
	assert.Equal(t, float32(0.02), c.InitializerRange)
	assert.Equal(t, 2, c.TypeVocabSize)
	assert.Equal(t, "absolute", c.PositionEmbeddingType)
	assert.Zero(t, c.NumLabels)
}

func TestConfigLabels(t *testing.T) {
	base := strings.TrimSuffix(strings.TrimSpace(ckptBertBaseConfig), "}")
	c, err := ParseConfig([]byte(base + `, "id2label": {"0": "neg", "1": "pos", "2": "neutral"}, "label2id": {"neg": 0, "pos": 1, "neutral": 2}}`))
	require.NoError(t, err)
	assert.Equal(t, 3, c.NumLabels, "num_labels taken from id2label")
	assert.Equal(t, "pos", c.ID2Label["1"])
	assert.Equal(t, 2, c.Label2ID["neutral"])

	c, err = ParseConfig([]byte(base + `, "num_labels": 5}`))
	require.NoError(t, err)
	assert.Equal(t, 5, c.NumLabels)
}

func TestConfigRejects(t *testing.T) {
	base := strings.TrimSuffix(strings.TrimSpace(ckptBertBaseConfig), "}")
	with := func(extra string) string { return base + ", " + extra + "}" }
	set := func(key, value string) string {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(ckptBertBaseConfig), &m))
		if value == "" {
			delete(m, key)
		} else {
			m[key] = json.RawMessage(value)
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	tests := []struct {
		name, json, want string
	}{
		{"not JSON", `{"vocab_size": `, "unexpected end"},
		{"not an object", `[1]`, "cannot unmarshal"},
		{"null", `null`, "null"},
		{"missing hidden_size", set("hidden_size", ""), `missing required keys ["hidden_size"]`},
		{"missing two", set("vocab_size", "") + "", `"vocab_size"`},
		{"null hidden_act", set("hidden_act", "null"), `key "hidden_act" is null`},
		{"string size", set("hidden_size", `"768"`), "cannot unmarshal string"},
		{"fractional size", set("hidden_size", `768.5`), "cannot unmarshal number"},
		{"zero layers", set("num_hidden_layers", "0"), "num_hidden_layers = 0"},
		{"negative vocab", set("vocab_size", "-1"), "vocab_size = -1"},
		{"huge intermediate", set("intermediate_size", "1000000000"), "intermediate_size = 1000000000"},
		{"heads do not divide", set("num_attention_heads", "7"), "hidden_size 768 is not divisible by num_attention_heads 7"},
		{"tanh gelu", set("hidden_act", `"gelu_new"`), `hidden_act "gelu_new" (tanh approximation) is not supported`},
		{"relu", set("hidden_act", `"relu"`), `hidden_act "relu" is not supported`},
		{"relative positions", set("position_embedding_type", `"relative_key"`), `position_embedding_type "relative_key" is not supported`},
		{"decoder", with(`"is_decoder": true`), "is_decoder is true"},
		{"cross attention", with(`"add_cross_attention": true`), "add_cross_attention is true"},
		{"roberta", set("model_type", `"roberta"`), `model_type "roberta" is not supported`},
		{"zero eps", set("layer_norm_eps", "0"), "layer_norm_eps = 0"},
		{"dropout 1", set("hidden_dropout_prob", "1"), "hidden_dropout_prob = 1"},
		{"negative dropout", set("attention_probs_dropout_prob", "-0.1"), "attention_probs_dropout_prob = -0.1"},
		{"labels disagree", with(`"num_labels": 3, "id2label": {"0": "a", "1": "b"}`), "num_labels = 3 but id2label has 2 entries"},
		{"label keys", with(`"id2label": {"0": "a", "2": "b"}`), "id2label has no entry for class 1"},
		{"label2id range", with(`"id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 2}`), `label2id["b"] = 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.json))
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestConfigLoadAndWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	_, err := LoadConfig(p)
	assert.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.WriteFile(p, []byte(`{"vocab_size": 1}`), 0o644))
	_, err = LoadConfig(p)
	assert.ErrorContains(t, err, p, "errors name the file")

	want, err := ParseConfig([]byte(ckptBertBaseConfig))
	require.NoError(t, err)
	want.NumLabels = 2
	want.ID2Label = map[string]string{"0": "no", "1": "yes"}
	require.NoError(t, want.WriteFile(p))
	got, err := LoadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// The file uses the Hugging Face key names.
	var keys map[string]any
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &keys))
	for _, k := range []string{"model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
		"intermediate_size", "max_position_embeddings", "type_vocab_size", "hidden_act", "layer_norm_eps",
		"hidden_dropout_prob", "attention_probs_dropout_prob", "position_embedding_type", "id2label"} {
		assert.Contains(t, keys, k)
	}
	assert.Equal(t, 1e-12, keys["layer_norm_eps"], "float32 eps written as the shortest decimal")

	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left")

	bad := want
	bad.NumHeads = 5
	assert.Error(t, bad.WriteFile(p))
	got, err = LoadConfig(p)
	require.NoError(t, err, "a rejected write leaves the old file")
	assert.Equal(t, want, got)
}

func ckptElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
