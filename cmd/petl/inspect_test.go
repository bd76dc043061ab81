package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func inspectTestCheckpoint(t *testing.T, drop string) (string, bert.Config) {
	cfg := bert.Config{
		VocabSize: 13, HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 12,
		MaxPositions: 16, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12, NumLabels: 3,
	}
	var ts []safetensors.Tensor
	add := func(e bert.ExpectedTensor) {
		if e.Name == drop {
			return
		}
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		ts = append(ts, safetensors.F32Tensor(e.Name, e.Shape, make([]float32, n)))
	}
	for _, e := range cfg.BaseTensors() {
		add(e)
	}
	for _, e := range cfg.HeadTensors()["classifier"] {
		add(e)
	}
	dir := filepath.Join(t.TempDir(), "m")
	require.NoError(t, bert.WriteCheckpoint(dir, cfg, ts))
	return dir, cfg
}

// inspectField returns the numbers on the line of the parameter table that
// starts with label.
func inspectField(t *testing.T, out, label string) string {
	m := regexp.MustCompile(`(?m)^\s*` + label + `\s+([\d,]+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q line in\n%s", label, out)
	return strings.ReplaceAll(m[1], ",", "")
}

func TestInspect(t *testing.T) {
	dir, _ := inspectTestCheckpoint(t, "")
	var out bytes.Buffer
	require.NoError(t, inspect(&out, []string{"--model", dir}))
	s := out.String()
	t.Log("\n" + s)

	H, I, V, P, T, L := 8, 12, 13, 16, 2, 2
	emb := V*H + P*H + T*H + 2*H
	enc := L * (4*(H*H+H) + 2*H + I*H + I + H*I + H + 2*H)
	pool := H*H + H
	heads := 3*H + 3
	assert.Equal(t, strconv.Itoa(emb), inspectField(t, s, "embeddings"))
	assert.Equal(t, strconv.Itoa(enc), inspectField(t, s, "encoder"))
	assert.Equal(t, strconv.Itoa(pool), inspectField(t, s, "pooler"))
	assert.Equal(t, strconv.Itoa(heads), inspectField(t, s, "heads"))
	assert.Equal(t, strconv.Itoa(emb+enc+pool+heads), inspectField(t, s, "total"))
	assert.Contains(t, s, "layers 2, hidden 8, heads 2 (head size 4), intermediate 12")
	assert.Contains(t, s, "F32 41 tensors")
	assert.Regexp(t, `(?m)^heads\s+classifier$`, s)
	assert.Regexp(t, `(?m)^verify\s+ok`, s)
	assert.Regexp(t, `fingerprint\s+sha256:[0-9a-f]{64} \(weights and config\)`, s)
	assert.Regexp(t, `(?m)^base\s+(none: .*vocab\.txt.*|v2:sha256:[0-9a-f]{64} .*)$`, s)
	assert.Contains(t, s, "mapped read-only and shared: 41 of 41 float tensors are slices over the mapping")
}

func TestInspectFails(t *testing.T) {
	dir, _ := inspectTestCheckpoint(t, "encoder.layer.1.intermediate.dense.bias")
	var out bytes.Buffer
	err := inspect(&out, []string{"--model", dir})
	require.Error(t, err)
	assert.ErrorContains(t, err, `tensor "encoder.layer.1.intermediate.dense.bias" is missing (config says [12])`)
	assert.Regexp(t, `(?m)^verify\s+FAILED$`, out.String())
	assert.Contains(t, out.String(), "layers 2", "what could be read is printed first")

	err = inspect(&out, []string{"--model", t.TempDir()})
	assert.ErrorContains(t, err, "has no config.json")
	err = inspect(&out, nil)
	assert.ErrorContains(t, err, "--model DIR is required")
}
