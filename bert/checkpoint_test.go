package bert

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petl-go/petl/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checkpoint reader must satisfy the model builder's TensorSource.
var _ TensorSource = (*Checkpoint)(nil)

// ckptTestConfig is a small config with every size distinct, so that a
// transposed or swapped tensor cannot pass for the right one.
func ckptTestConfig() Config {
	return Config{
		ModelType: "bert", VocabSize: 13, HiddenSize: 8, NumLayers: 2, NumHeads: 2,
		IntermediateSize: 12, MaxPositions: 16, TypeVocabSize: 3, HiddenAct: "gelu",
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02,
		PositionEmbeddingType: "absolute", NumLabels: 3,
	}
}

// ckptValues returns n deterministic values that differ per tensor name.
func ckptValues(name string, n int, seed uint64) []float32 {
	var h uint64 = seed
	for _, c := range name {
		h = h*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(h, seed))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// ckptBase returns F32 tensors for every base tensor of cfg.
func ckptBase(cfg Config, seed uint64) []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, e := range cfg.BaseTensors() {
		ts = append(ts, safetensors.F32Tensor(e.Name, e.Shape, ckptValues(e.Name, ckptElements(e.Shape), seed)))
	}
	return ts
}

// ckptHeads returns F32 tensors for the three heads of cfg.
func ckptHeads(cfg Config, seed uint64) []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, head := range cfg.HeadTensors() {
		for _, e := range head {
			ts = append(ts, safetensors.F32Tensor(e.Name, e.Shape, ckptValues(e.Name, ckptElements(e.Shape), seed)))
		}
	}
	return ts
}

func ckptPositionIDs(n int) safetensors.Tensor {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	return safetensors.I64Tensor("embeddings.position_ids", []int{1, n}, ids)
}

// ckptRename applies f to every tensor name.
func ckptRename(ts []safetensors.Tensor, f func(string) string) []safetensors.Tensor {
	out := make([]safetensors.Tensor, len(ts))
	for i, t := range ts {
		t.Name = f(t.Name)
		out[i] = t
	}
	return out
}

func ckptWrite(t *testing.T, cfg Config, ts []safetensors.Tensor) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, WriteCheckpoint(dir, cfg, ts))
	return dir
}

func TestCheckpointRoundTrip(t *testing.T) {
	cfg := ckptTestConfig()
	ts := append(ckptBase(cfg, 1), ckptHeads(cfg, 1)...)
	ts = append(ts, ckptPositionIDs(cfg.MaxPositions))
	dir := ckptWrite(t, cfg, ts)

	c, err := OpenCheckpoint(dir)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, cfg, c.Config())
	assert.Equal(t, dir, c.Dir())
	assert.Equal(t, map[string]string{"format": "pt"}, c.Weights().Metadata())
	assert.Empty(t, c.Unexpected())
	assert.Equal(t, []string{"embeddings.position_ids"}, c.Skipped())
	assert.Len(t, c.Names(), len(ts)-1)
	for _, want := range ts[:len(ts)-1] {
		got, err := c.Tensor(want.Name, want.Shape...)
		require.NoError(t, err, want.Name)
		assert.Equal(t, want.F32, got, want.Name)
		info, ok := c.Info(want.Name)
		require.True(t, ok)
		assert.Equal(t, c.Weights().Mapped(), info.ZeroCopy, "%s is a slice over the mapping", want.Name)
		assert.True(t, c.Has(want.Name))
	}
	assert.False(t, c.Has("cls.predictions.decoder.weight"), "tied decoder absent")
	assert.True(t, strings.HasPrefix(c.Fingerprint(), "sha256:"))
	assert.Len(t, c.Fingerprint(), len("sha256:")+64)

	require.NoError(t, c.Close())
	_, err = c.Tensor("pooler.dense.bias")
	assert.ErrorContains(t, err, "closed")
	require.NoError(t, c.Close())
}

// TestCheckpointNameVariants stores the same weights under every spelling
// real checkpoints use; all must read back the same, with one fingerprint.
func TestCheckpointNameVariants(t *testing.T) {
	cfg := ckptTestConfig()
	gammaBeta := func(n string) string {
		n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
		return strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
	}
	bertPrefix := func(n string) string {
		if strings.HasPrefix(n, "cls.") || strings.HasPrefix(n, "classifier.") {
			return n // heads sit next to "bert.", not under it
		}
		return "bert." + n
	}
	tests := []struct {
		name   string
		rename func(string) string
	}{
		{"canonical", func(n string) string { return n }},
		{"bert prefix", bertPrefix},
		{"gamma/beta", gammaBeta},
		{"bert prefix and gamma/beta", func(n string) string { return gammaBeta(bertPrefix(n)) }},
		{"decoder bias alias", func(n string) string {
			return strings.Replace(n, "cls.predictions.bias", "cls.predictions.decoder.bias", 1)
		}},
	}
	ref := append(ckptBase(cfg, 2), ckptHeads(cfg, 2)...)
	var fingerprint string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := ckptRename(ref, tt.rename)
			ts = append(ts, ckptPositionIDs(cfg.MaxPositions))
			ts[len(ts)-1].Name = tt.rename(ts[len(ts)-1].Name)
			c, err := OpenCheckpoint(ckptWrite(t, cfg, ts))
			require.NoError(t, err)
			defer c.Close()
			assert.Empty(t, c.Unexpected())
			assert.Len(t, c.Names(), len(ref))
			for _, want := range ref {
				got, err := c.Tensor(want.Name, want.Shape...)
				require.NoError(t, err, want.Name)
				assert.Equal(t, want.F32, got, want.Name)
				// The stored spelling is accepted too.
				stored, ok := c.StoredName(want.Name)
				require.True(t, ok)
				assert.Equal(t, tt.rename(want.Name), stored)
				assert.True(t, c.Has(stored))
			}
			if fingerprint == "" {
				fingerprint = c.Fingerprint()
			}
			assert.Equal(t, fingerprint, c.Fingerprint())
		})
	}
}

// TestCheckpointHalfPrecision stores the weights as F16 and BF16: they
// read back converted exactly, and the fingerprint equals that of an F32
// checkpoint holding the same (rounded) values.
func TestCheckpointHalfPrecision(t *testing.T) {
	cfg := ckptTestConfig()
	for _, dt := range []safetensors.DType{safetensors.F16, safetensors.BF16} {
		t.Run(string(dt), func(t *testing.T) {
			var half, exact []safetensors.Tensor
			for _, e := range ckptBase(cfg, 3) {
				b := make([]byte, 2*len(e.F32))
				v := make([]float32, len(e.F32))
				for i, x := range e.F32 {
					var h uint16
					if dt == safetensors.F16 {
						h = safetensors.Float32ToF16(x)
						v[i] = safetensors.F16ToFloat32(h)
					} else {
						h = safetensors.Float32ToBF16(x)
						v[i] = safetensors.BF16ToFloat32(h)
					}
					b[2*i], b[2*i+1] = byte(h), byte(h>>8)
				}
				half = append(half, safetensors.Tensor{Name: e.Name, DType: dt, Shape: e.Shape, Data: b})
				exact = append(exact, safetensors.F32Tensor(e.Name, e.Shape, v))
			}
			ch, err := OpenCheckpoint(ckptWrite(t, cfg, half))
			require.NoError(t, err)
			defer ch.Close()
			cf, err := OpenCheckpoint(ckptWrite(t, cfg, exact))
			require.NoError(t, err)
			defer cf.Close()
			for _, e := range exact {
				got, err := ch.Tensor(e.Name, e.Shape...)
				require.NoError(t, err)
				assert.Equal(t, e.F32, got, e.Name)
				info, _ := ch.Info(e.Name)
				assert.Equal(t, dt, info.DType)
				assert.False(t, info.ZeroCopy)
			}
			assert.Equal(t, cf.Fingerprint(), ch.Fingerprint())
		})
	}
}

func TestCheckpointFingerprint(t *testing.T) {
	cfg := ckptTestConfig()
	base := ckptBase(cfg, 4)
	fp := func(t *testing.T, cfg Config, ts []safetensors.Tensor) string {
		c, err := OpenCheckpointUnverified(ckptWrite(t, cfg, ts))
		require.NoError(t, err)
		defer c.Close()
		return c.Fingerprint()
	}
	ref := fp(t, cfg, base)

	// Unchanged by heads, buffers, dropout and tensor order.
	withHeads := append(append([]safetensors.Tensor{ckptPositionIDs(cfg.MaxPositions)}, ckptHeads(cfg, 9)...), base...)
	drop := cfg
	drop.HiddenDropout, drop.AttentionDropout = 0, 0.3
	assert.Equal(t, ref, fp(t, drop, withHeads))

	// Changed by one bit of one weight.
	flipped := ckptBase(cfg, 4)
	w := flipped[len(flipped)-3].F32 // a weight of the last layer
	w[5] = math.Float32frombits(math.Float32bits(w[5]) ^ 1)
	assert.NotEqual(t, ref, fp(t, cfg, flipped))

	// Changed by the layer-norm epsilon, which changes the function.
	eps := cfg
	eps.LayerNormEps = 1e-5
	assert.NotEqual(t, ref, fp(t, eps, base))

	// A missing tensor gives a different fingerprint, not a crash.
	assert.NotEqual(t, ref, fp(t, cfg, base[1:]))
}

func TestCheckpointErrors(t *testing.T) {
	cfg := ckptTestConfig()
	base := ckptBase(cfg, 5)
	replace := func(name string, nt safetensors.Tensor) []safetensors.Tensor {
		var out []safetensors.Tensor
		for _, t := range base {
			if t.Name == name {
				if nt.Name == "" {
					continue
				}
				t = nt
			}
			out = append(out, t)
		}
		return out
	}
	extra := func(ts ...safetensors.Tensor) []safetensors.Tensor {
		return append(append([]safetensors.Tensor(nil), base...), ts...)
	}
	f32 := func(name string, shape ...int) safetensors.Tensor {
		return safetensors.F32Tensor(name, shape, make([]float32, ckptElements(shape)))
	}
	tests := []struct {
		name    string
		tensors []safetensors.Tensor
		atOpen  bool // fails in OpenCheckpointUnverified already
		want    []string
	}{
		{"missing tensor", replace("encoder.layer.1.output.LayerNorm.bias", safetensors.Tensor{}), false,
			[]string{`tensor "encoder.layer.1.output.LayerNorm.bias" is missing (config says [8])`}},
		{"transposed weight", replace("encoder.layer.1.output.dense.weight", f32("encoder.layer.1.output.dense.weight", 12, 8)), false,
			[]string{`model.safetensors: tensor "encoder.layer.1.output.dense.weight" has shape [12 8], config says [8 12]`}},
		{"stored name in message", replace("embeddings.LayerNorm.weight", f32("bert.embeddings.LayerNorm.gamma", 9)), false,
			[]string{`tensor "embeddings.LayerNorm.weight" (stored as "bert.embeddings.LayerNorm.gamma") has shape [9], config says [8]`}},
		{"integer weight", replace("pooler.dense.bias", safetensors.I64Tensor("pooler.dense.bias", []int{8}, make([]int64, 8))), false,
			[]string{`tensor "pooler.dense.bias" has dtype I64`}},
		{"two problems reported", replace("pooler.dense.bias", f32("pooler.dense.bias", 7))[1:], false,
			[]string{`"embeddings.word_embeddings.weight" is missing`, `"pooler.dense.bias" has shape [7]`}},
		{"extra layer", extra(f32("encoder.layer.2.output.dense.bias", 8)), false,
			[]string{`unexpected tensors for a BERT with this config.json (2 layers): ["encoder.layer.2.output.dense.bias"]`}},
		{"unknown embedding", extra(f32("bert.embeddings.rotary.weight", 8)), false,
			[]string{`unexpected tensors`, `"bert.embeddings.rotary.weight"`}},
		{"partial head", extra(f32("cls.seq_relationship.weight", 2, 8)), false,
			[]string{`tensor "cls.seq_relationship.bias" is missing (config says [2])`}},
		{"classifier rows", extra(f32("classifier.weight", 2, 8), f32("classifier.bias", 2)), false,
			[]string{`"classifier.weight" has shape [2 8], config says [3 8]`, `"classifier.bias" has shape [2], config says [3]`}},
		{"tied decoder of wrong shape", extra(f32("cls.predictions.decoder.weight", 8, 13)), false,
			[]string{`"cls.predictions.decoder.weight" has shape [8 13], config says [13 8]`}},
		{"position_ids not a range", extra(safetensors.I64Tensor("embeddings.position_ids", []int{1, 16}, make([]int64, 16))), false,
			[]string{`buffer "embeddings.position_ids" holds 0 at position 1`}},
		{"position_ids short", extra(safetensors.I64Tensor("bert.embeddings.position_ids", []int{1, 4}, []int64{0, 1, 2, 3})), false,
			[]string{`buffer "bert.embeddings.position_ids" has shape [1 4], config says [1 16]`}},
		{"duplicate spelling", extra(f32("bert.pooler.dense.bias", 8)), true,
			[]string{`tensors "bert.pooler.dense.bias" and "pooler.dense.bias" are both "pooler.dense.bias"`}},
		{"decoder bias alias disagrees", extra(f32("cls.predictions.bias", 13), safetensors.F32Tensor("cls.predictions.decoder.bias", []int{13}, ckptValues("x", 13, 1))), true,
			[]string{`"cls.predictions.bias" and "cls.predictions.decoder.bias" are aliases but differ at element 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ckptWrite(t, cfg, tt.tensors)
			c, err := OpenCheckpointUnverified(dir)
			if tt.atOpen {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				err = c.Verify()
				require.Error(t, err)
				c.Close()
				_, err2 := OpenCheckpoint(dir)
				assert.EqualError(t, err2, err.Error(), "OpenCheckpoint verifies")
			}
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestCheckpointTolerated covers what is accepted: tensors outside the
// model's namespaces (reported, not fatal), an untied decoder, both bias
// aliases when they agree, a classifier when num_labels is unset.
func TestCheckpointTolerated(t *testing.T) {
	cfg := ckptTestConfig()
	base := ckptBase(cfg, 6)
	bias := ckptValues("cls.predictions.bias", 13, 6)
	heads := ckptHeads(cfg, 6)
	for i := range heads {
		if heads[i].Name == "cls.predictions.bias" {
			heads[i].F32 = bias
		}
	}
	ts := append(append([]safetensors.Tensor(nil), base...), heads...)
	ts = append(ts,
		safetensors.F32Tensor("qa_outputs.weight", []int{2, 8}, make([]float32, 16)),
		safetensors.F32Tensor("cls.predictions.decoder.weight", []int{13, 8}, make([]float32, 104)),
		safetensors.F32Tensor("cls.predictions.decoder.bias", []int{13}, bias),
		safetensors.I64Tensor("bert.embeddings.token_type_ids", []int{1, 16}, make([]int64, 16)),
	)
	c, err := OpenCheckpoint(ckptWrite(t, cfg, ts))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, []string{"qa_outputs.weight"}, c.Unexpected())
	assert.Equal(t, []string{"bert.embeddings.token_type_ids", "cls.predictions.decoder.bias"}, c.Skipped())
	assert.True(t, c.Has("cls.predictions.decoder.weight"))
	got, err := c.Tensor("cls.predictions.decoder.bias", 13)
	require.NoError(t, err, "the alias resolves to the kept bias")
	assert.Equal(t, bias, got)
	_, err = c.Tensor("qa_outputs.weight")
	assert.ErrorContains(t, err, "missing", "unexpected tensors are not served")

	// num_labels unset: any classifier size, as long as weight and bias agree.
	free := cfg
	free.NumLabels = 0
	cls := append(append([]safetensors.Tensor(nil), base...),
		safetensors.F32Tensor("classifier.weight", []int{5, 8}, make([]float32, 40)),
		safetensors.F32Tensor("classifier.bias", []int{5}, make([]float32, 5)))
	c2, err := OpenCheckpoint(ckptWrite(t, free, cls))
	require.NoError(t, err)
	c2.Close()
	cls[len(cls)-1] = safetensors.F32Tensor("classifier.bias", []int{4}, make([]float32, 4))
	_, err = OpenCheckpoint(ckptWrite(t, free, cls))
	assert.ErrorContains(t, err, `"classifier.bias" has shape [4], config says [5]`)
}

func TestCheckpointFiles(t *testing.T) {
	cfg := ckptTestConfig()
	dir := ckptWrite(t, cfg, ckptBase(cfg, 7))

	noWeights := t.TempDir()
	require.NoError(t, cfg.WriteFile(filepath.Join(noWeights, "config.json")))
	_, err := OpenCheckpoint(noWeights)
	assert.ErrorContains(t, err, "checkpoint "+noWeights+" has no model.safetensors")
	assert.ErrorIs(t, err, os.ErrNotExist)

	noConfig := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(noConfig, "model.safetensors"), raw, 0o644))
	_, err = OpenCheckpoint(noConfig)
	assert.ErrorContains(t, err, "checkpoint "+noConfig+" has no config.json")

	badConfig := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(badConfig, "model.safetensors"), raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(badConfig, "config.json"), []byte(`{"hidden_act": "relu"}`), 0o644))
	_, err = OpenCheckpoint(badConfig)
	assert.ErrorContains(t, err, filepath.Join(badConfig, "config.json"))

	badWeights := t.TempDir()
	require.NoError(t, cfg.WriteFile(filepath.Join(badWeights, "config.json")))
	require.NoError(t, os.WriteFile(filepath.Join(badWeights, "model.safetensors"), raw[:len(raw)-1], 0o644))
	_, err = OpenCheckpoint(badWeights)
	assert.ErrorContains(t, err, filepath.Join(badWeights, "model.safetensors"))
	assert.ErrorContains(t, err, "data section")

	bad := cfg
	bad.NumHeads = 3
	assert.ErrorContains(t, WriteCheckpoint(t.TempDir(), bad, nil), "not divisible")
}
