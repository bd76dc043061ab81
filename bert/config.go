package bert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/petl-go/petl/internal/safefile"
)

// Config is the architecture of a BERT model, read from a Hugging Face
// config.json. The json tags are the Hugging Face key names, so a Config
// marshals to a config.json that transformers' BertConfig reads back.
//
// Only what petl can compute is accepted: hidden_act "gelu" (the exact erf
// form), absolute position embeddings, an encoder-only model (no decoder, no
// cross-attention). Validate reports anything else.
type Config struct {
	ModelType        string  `json:"model_type,omitempty"`
	VocabSize        int     `json:"vocab_size"`
	HiddenSize       int     `json:"hidden_size"`
	NumLayers        int     `json:"num_hidden_layers"`
	NumHeads         int     `json:"num_attention_heads"`
	IntermediateSize int     `json:"intermediate_size"`
	MaxPositions     int     `json:"max_position_embeddings"`
	TypeVocabSize    int     `json:"type_vocab_size"`
	HiddenAct        string  `json:"hidden_act"`
	LayerNormEps     float32 `json:"layer_norm_eps"`
	HiddenDropout    float32 `json:"hidden_dropout_prob"`
	AttentionDropout float32 `json:"attention_probs_dropout_prob"`
	// InitializerRange is the standard deviation of the truncated normal
	// used to initialise new weights (Hugging Face default 0.02).
	InitializerRange float32 `json:"initializer_range"`
	// PositionEmbeddingType must be "absolute" (the only kind petl
	// implements); an empty value means absolute.
	PositionEmbeddingType string `json:"position_embedding_type"`

	// NumLabels is the size of a sequence-classification head, 0 when the
	// config does not say. It is read from "num_labels" or, as transformers
	// writes it, from the size of "id2label".
	NumLabels int `json:"num_labels,omitempty"`
	// ID2Label maps a class index, written as a decimal string as in
	// Hugging Face files ("0", "1", ...), to its label.
	ID2Label map[string]string `json:"id2label,omitempty"`
	// Label2ID is the inverse of ID2Label, kept as read.
	Label2ID map[string]int `json:"label2id,omitempty"`
}

// Hugging Face BertConfig defaults for the keys that may be left out of a
// config.json. The size keys have no default here: a config.json without
// them is rejected rather than silently taken for bert-base.
const (
	cfgDefaultHiddenAct        = "gelu"
	cfgDefaultLayerNormEps     = 1e-12
	cfgDefaultDropout          = 0.1
	cfgDefaultInitializerRange = 0.02
	cfgDefaultTypeVocabSize    = 2
	cfgPositionAbsolute        = "absolute"
	// cfgMaxDim bounds every size so that products of two sizes fit an
	// int64 comfortably and absurd values are caught early.
	cfgMaxDim = 1 << 24
)

// cfgRequiredKeys are the config.json keys that must be present.
var cfgRequiredKeys = []string{
	"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
	"intermediate_size", "max_position_embeddings",
}

// UnmarshalJSON decodes a Hugging Face config.json object. Missing optional
// keys take the Hugging Face defaults (hidden_act "gelu", layer_norm_eps
// 1e-12, dropouts 0.1, type_vocab_size 2, initializer_range 0.02,
// position_embedding_type "absolute"); missing size keys are an error.
// Unknown keys are ignored, except the ones that change the architecture in
// ways petl does not implement (is_decoder, add_cross_attention), which are
// rejected when true. It does not run Validate.
func (c *Config) UnmarshalJSON(data []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	if keys == nil {
		return errors.New("config is null, want a JSON object")
	}
	var missing []string
	for _, k := range cfgRequiredKeys {
		if _, ok := keys[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required keys %q", missing)
	}
	for _, k := range []string{"is_decoder", "add_cross_attention"} {
		if raw, ok := keys[k]; ok {
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if b {
				return fmt.Errorf("%s is true: only encoder BERT models are supported", k)
			}
		}
	}
	type plain Config // no methods: avoids recursion
	p := plain{
		HiddenAct:             cfgDefaultHiddenAct,
		LayerNormEps:          cfgDefaultLayerNormEps,
		HiddenDropout:         cfgDefaultDropout,
		AttentionDropout:      cfgDefaultDropout,
		InitializerRange:      cfgDefaultInitializerRange,
		TypeVocabSize:         cfgDefaultTypeVocabSize,
		PositionEmbeddingType: cfgPositionAbsolute,
	}
	// A null value would silently keep the default: reject it instead.
	for k, raw := range keys {
		if string(bytes.TrimSpace(raw)) == "null" && cfgKnownKey(k) {
			return fmt.Errorf("key %q is null", k)
		}
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = Config(p)
	if c.NumLabels == 0 && len(c.ID2Label) > 0 {
		c.NumLabels = len(c.ID2Label)
	}
	return nil
}

// cfgKnownKey reports whether k is one of the keys Config decodes.
func cfgKnownKey(k string) bool {
	switch k {
	case "model_type", "vocab_size", "hidden_size", "num_hidden_layers",
		"num_attention_heads", "intermediate_size", "max_position_embeddings",
		"type_vocab_size", "hidden_act", "layer_norm_eps", "hidden_dropout_prob",
		"attention_probs_dropout_prob", "initializer_range",
		"position_embedding_type", "num_labels":
		return true
	}
	return false
}

// ParseConfig decodes and validates a config.json document.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfig reads and validates the config.json at path, a regular file
// of at most 1 MiB (safefile.MaxJSON). Errors name the file.
func LoadConfig(path string) (Config, error) {
	data, err := safefile.ReadFile(path, safefile.MaxJSON, "config.json")
	if err != nil {
		return Config{}, fmt.Errorf("bert: reading config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	return c, nil
}

// Validate checks that the configuration describes a model petl can build:
// positive sizes within sane bounds, a hidden size divisible by the number
// of heads, a positive finite layer-norm epsilon, dropout probabilities in
// [0, 1), hidden_act "gelu", absolute position embeddings, and labels that
// agree with each other.
func (c Config) Validate() error {
	if c.ModelType != "" && c.ModelType != "bert" {
		return fmt.Errorf("model_type %q is not supported (only \"bert\")", c.ModelType)
	}
	sizes := []struct {
		key string
		v   int
	}{
		{"vocab_size", c.VocabSize},
		{"hidden_size", c.HiddenSize},
		{"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads},
		{"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositions},
		{"type_vocab_size", c.TypeVocabSize},
	}
	for _, s := range sizes {
		if s.v <= 0 || s.v > cfgMaxDim {
			return fmt.Errorf("%s = %d, want 1..%d", s.key, s.v, cfgMaxDim)
		}
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumHeads)
	}
	if c.NumLayers > 1024 {
		return fmt.Errorf("num_hidden_layers = %d, want at most 1024", c.NumLayers)
	}
	switch c.HiddenAct {
	case "gelu":
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return fmt.Errorf("hidden_act %q (tanh approximation) is not supported: petl computes the exact erf GELU (\"gelu\")", c.HiddenAct)
	default:
		return fmt.Errorf("hidden_act %q is not supported (only \"gelu\")", c.HiddenAct)
	}
	eps := float64(c.LayerNormEps)
	if !(eps > 0) || math.IsInf(eps, 0) || eps >= 1 {
		return fmt.Errorf("layer_norm_eps = %g, want a small positive number", eps)
	}
	for _, d := range []struct {
		key string
		v   float32
	}{{"hidden_dropout_prob", c.HiddenDropout}, {"attention_probs_dropout_prob", c.AttentionDropout}} {
		if !(d.v >= 0 && d.v < 1) {
			return fmt.Errorf("%s = %g, want a probability in [0, 1)", d.key, d.v)
		}
	}
	if r := float64(c.InitializerRange); math.IsNaN(r) || r < 0 || math.IsInf(r, 0) {
		return fmt.Errorf("initializer_range = %g, want a non-negative number", r)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != cfgPositionAbsolute {
		return fmt.Errorf("position_embedding_type %q is not supported (only \"absolute\")", c.PositionEmbeddingType)
	}
	if c.NumLabels < 0 || c.NumLabels > cfgMaxDim {
		return fmt.Errorf("num_labels = %d, want 0..%d", c.NumLabels, cfgMaxDim)
	}
	if len(c.ID2Label) > 0 {
		if len(c.ID2Label) != c.NumLabels {
			return fmt.Errorf("num_labels = %d but id2label has %d entries", c.NumLabels, len(c.ID2Label))
		}
		for i := 0; i < c.NumLabels; i++ {
			if _, ok := c.ID2Label[fmt.Sprint(i)]; !ok {
				return fmt.Errorf("id2label has no entry for class %d (want keys \"0\"..\"%d\")", i, c.NumLabels-1)
			}
		}
	}
	for label, id := range c.Label2ID {
		if id < 0 || (c.NumLabels > 0 && id >= c.NumLabels) {
			return fmt.Errorf("label2id[%q] = %d, out of range for %d labels", label, id, c.NumLabels)
		}
	}
	return nil
}

// TinyConfig is BERT-tiny's shape (L2 H128 A2 I512, Turc et al. 2019) over
// a vocabulary of vocab tokens, with BERT's dropout and initialisation: the
// shape of the shipped model, of petl pretrain's default and of the random
// base the CLI builds for --model random-tiny.
func TinyConfig(vocab int) Config {
	return Config{
		ModelType: "bert", VocabSize: vocab, HiddenSize: 128, NumLayers: 2, NumHeads: 2,
		IntermediateSize: 512, MaxPositions: 512, TypeVocabSize: 2, HiddenAct: "gelu",
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02,
		PositionEmbeddingType: cfgPositionAbsolute,
	}
}

// HeadDim is the size of one attention head, HiddenSize / NumHeads.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumHeads }

// MarshalIndent returns the config.json text of c (model_type "bert" when
// unset), indented, with a trailing newline.
func (c Config) MarshalIndent() ([]byte, error) {
	if c.ModelType == "" {
		c.ModelType = "bert"
	}
	if c.PositionEmbeddingType == "" {
		c.PositionEmbeddingType = cfgPositionAbsolute
	}
	type plain Config
	b, err := json.MarshalIndent(plain(c), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteFile validates c and writes it as a config.json at path, atomically:
// the file at path is either the old one or the complete new one, never a
// partial write.
func (c Config) WriteFile(path string) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("bert: writing config %s: %w", path, err)
	}
	b, err := c.MarshalIndent()
	if err != nil {
		return fmt.Errorf("bert: writing config %s: %w", path, err)
	}
	return safefile.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// ExpectedTensor is the name and shape of one tensor that a Config implies.
type ExpectedTensor struct {
	Name  string
	Shape []int
}

// BaseTensors lists, in a fixed order, every tensor of the base BertModel
// that the config implies, with its canonical Hugging Face name (no "bert."
// prefix, layer norms as weight/bias) and its shape. Linear weights are
// [out, in] as in PyTorch's nn.Linear.
func (c Config) BaseTensors() []ExpectedTensor {
	H, I := c.HiddenSize, c.IntermediateSize
	t := []ExpectedTensor{
		{"embeddings.word_embeddings.weight", []int{c.VocabSize, H}},
		{"embeddings.position_embeddings.weight", []int{c.MaxPositions, H}},
		{"embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, H}},
		{"embeddings.LayerNorm.weight", []int{H}},
		{"embeddings.LayerNorm.bias", []int{H}},
	}
	for l := 0; l < c.NumLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		t = append(t,
			ExpectedTensor{p + "attention.self.query.weight", []int{H, H}},
			ExpectedTensor{p + "attention.self.query.bias", []int{H}},
			ExpectedTensor{p + "attention.self.key.weight", []int{H, H}},
			ExpectedTensor{p + "attention.self.key.bias", []int{H}},
			ExpectedTensor{p + "attention.self.value.weight", []int{H, H}},
			ExpectedTensor{p + "attention.self.value.bias", []int{H}},
			ExpectedTensor{p + "attention.output.dense.weight", []int{H, H}},
			ExpectedTensor{p + "attention.output.dense.bias", []int{H}},
			ExpectedTensor{p + "attention.output.LayerNorm.weight", []int{H}},
			ExpectedTensor{p + "attention.output.LayerNorm.bias", []int{H}},
			ExpectedTensor{p + "intermediate.dense.weight", []int{I, H}},
			ExpectedTensor{p + "intermediate.dense.bias", []int{I}},
			ExpectedTensor{p + "output.dense.weight", []int{H, I}},
			ExpectedTensor{p + "output.dense.bias", []int{H}},
			ExpectedTensor{p + "output.LayerNorm.weight", []int{H}},
			ExpectedTensor{p + "output.LayerNorm.bias", []int{H}},
		)
	}
	t = append(t,
		ExpectedTensor{"pooler.dense.weight", []int{H, H}},
		ExpectedTensor{"pooler.dense.bias", []int{H}},
	)
	return t
}

// HeadTensors lists the tensors of the optional heads, by head: the masked
// language model head ("cls.predictions", decoder weight left out since it
// is normally tied to the word embeddings), next-sentence prediction
// ("cls.seq_relationship") and sequence classification ("classifier", with
// NumLabels rows, or -1 rows when NumLabels is 0 meaning any count).
func (c Config) HeadTensors() map[string][]ExpectedTensor {
	H, V := c.HiddenSize, c.VocabSize
	L := c.NumLabels
	if L == 0 {
		L = -1
	}
	return map[string][]ExpectedTensor{
		"cls.predictions": {
			{"cls.predictions.transform.dense.weight", []int{H, H}},
			{"cls.predictions.transform.dense.bias", []int{H}},
			{"cls.predictions.transform.LayerNorm.weight", []int{H}},
			{"cls.predictions.transform.LayerNorm.bias", []int{H}},
			{"cls.predictions.bias", []int{V}},
		},
		"cls.seq_relationship": {
			{"cls.seq_relationship.weight", []int{2, H}},
			{"cls.seq_relationship.bias", []int{2}},
		},
		"classifier": {
			{"classifier.weight", []int{L, H}},
			{"classifier.bias", []int{L}},
		},
	}
}
