package adapter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/stretchr/testify/require"
)

// testBatch is a padded batch of three sequences over the tiny vocabulary.
func testBatch() *bert.Batch {
	return &bert.Batch{
		B: 3, T: 5,
		IDs:     []int32{2, 7, 9, 3, 0, 2, 11, 12, 13, 3, 2, 4, 3, 5, 3},
		TypeIDs: []int32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1},
		Mask:    []float32{1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	}
}

func logits(t *testing.T, m *bert.Model) []float32 {
	t.Helper()
	var st bert.State
	require.NoError(t, m.Forward(&st, testBatch()))
	return append([]float32(nil), st.Logits...)
}

// perturb stands for training: it moves every trainable parameter.
func perturb(ps []*nn.Param, seed uint64) {
	rng := nn.NewRNG(seed)
	for _, p := range ps {
		for i := range p.W {
			p.W[i] += float32(0.05 * rng.Normal())
		}
	}
}

func fileConfig(m *bert.Model, s *Setup, fp string) FileConfig {
	c := FileConfig{
		Task: "sst2", TaskName: "SST-2", Labels: []string{"0", "1"}, MaxLen: 16, Lowercase: true,
		Training:      Training{Epochs: 1, LR: 1e-3, Batch: 4, Seed: 9},
		Base:          Base{Fingerprint: fp, Name: "random-tiny", Seed: 11, Config: m.Config},
		TrainedParams: s.Trained, BaseParams: s.Base,
	}
	c.SetPlan(s.Plan)
	return c
}

// TestSaveApplyBitIdentical trains (perturbs) a model under every method,
// saves the adapter, puts it onto a fresh copy of the base and checks that
// the logits are bit-identical, that only the trained tensors were stored
// and that both files came out.
func TestSaveApplyBitIdentical(t *testing.T) {
	plans := []Plan{
		{Method: MethodAdapter, Adapter: Config{Size: 3}},
		{Method: MethodAdapter, Adapter: Config{Size: 2, Placement: Pfeiffer, Activation: Tanh}, TrainPooler: true},
		{Method: MethodFull},
		{Method: MethodTopK, TopK: 2},
		{Method: MethodLNHead},
	}
	for _, plan := range plans {
		t.Run(string(plan.Method), func(t *testing.T) {
			m := tinyModel(t, 2)
			fp := m.Fingerprint()
			s, err := Prepare(m, plan, 3)
			require.NoError(t, err)
			perturb(s.Trainable, 4)
			want := logits(t, m)

			path := filepath.Join(t.TempDir(), "task.safetensors")
			require.NoError(t, Save(path, fileConfig(m, s, fp), s.Trainable))
			w, c := Paths(path)
			require.FileExists(t, w)
			require.FileExists(t, c)

			f, err := Read(c)
			require.NoError(t, err)
			require.Len(t, f.Tensors, len(s.Trainable))
			require.Equal(t, plan.Method, f.Config.Method)

			fresh := tinyModel(t, 0)
			require.Equal(t, fp, fresh.Fingerprint())
			s2, err := f.Apply(fresh, fp, false)
			require.NoError(t, err)
			require.Equal(t, s.Trained, s2.Trained)
			require.Equal(t, want, logits(t, fresh), "reloaded adapter must give bit-identical logits")
			for _, p := range fresh.Params() {
				require.False(t, p.Trainable(), "%s: inference Apply leaves nothing trainable", p.Name)
			}
		})
	}
}

// TestApplyOtherBase checks that an adapter refuses a base with another
// fingerprint, naming both.
func TestApplyOtherBase(t *testing.T) {
	m := tinyModel(t, 2)
	fp := m.Fingerprint()
	s, err := Prepare(m, Plan{Method: MethodAdapter, Adapter: Config{Size: 2}}, 1)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "a")
	require.NoError(t, Save(path, fileConfig(m, s, fp), s.Trainable))
	f, err := Read(path)
	require.NoError(t, err)

	other, err := bert.NewRandom(tinyConfig(), 0, 12)
	require.NoError(t, err)
	ofp := other.Fingerprint()
	require.NotEqual(t, fp, ofp)
	_, err = f.Apply(other, ofp, false)
	require.ErrorContains(t, err, fp)
	require.ErrorContains(t, err, ofp)
}

// TestModelFingerprintMatchesCheckpoint checks that the Fingerprint of an
// in-memory model equals the checkpoint fingerprint of the same weights
// written to disk, and that an adapter trained on the in-memory model loads
// onto the checkpoint (whose weights are mapped read-only) with identical
// predictions.
func TestModelFingerprintMatchesCheckpoint(t *testing.T) {
	m, fp, ck := tinyCheckpoint(t)
	require.Equal(t, fp, ck.Fingerprint())

	for _, plan := range []Plan{{Method: MethodAdapter, Adapter: Config{Size: 4}}, {Method: MethodFull}} {
		m.InitClassifier(2, 5)
		s, err := Prepare(m, plan, 2)
		require.NoError(t, err)
		perturb(s.Trainable, 6)
		want := logits(t, m)
		path := filepath.Join(t.TempDir(), "x.json")
		require.NoError(t, Save(path, fileConfig(m, s, fp), s.Trainable))
		f, err := Read(path)
		require.NoError(t, err)
		mapped, err := bert.New(ck.Config(), ck)
		require.NoError(t, err)
		_, err = f.Apply(mapped, ck.Fingerprint(), false)
		require.NoError(t, err)
		require.Equal(t, want, logits(t, mapped))
		// The trained base weights of m must not have leaked into the
		// checkpoint's mapped memory: the fingerprint is unchanged.
		require.Equal(t, fp, tinyModelFrom(t, ck).Fingerprint())
	}
}

// TestTwoTasksOneCheckpoint serves two tasks from one mapped checkpoint: two
// models over it, each with its own adapter file applied, give the logits
// their adapters gave when trained, and hold the frozen weights once between
// them (the same mapped memory), while the trained tensors are their own.
func TestTwoTasksOneCheckpoint(t *testing.T) {
	_, fp, ck := tinyCheckpoint(t)

	plans := []Plan{{Method: MethodAdapter, Adapter: Config{Size: 4}}, {Method: MethodAdapter, Adapter: Config{Size: 2, Placement: Pfeiffer}}}
	var want [][]float32
	var files []*File
	for i, plan := range plans {
		trained := tinyModelFrom(t, ck)
		trained.InitClassifier(2, uint64(5+i))
		s, err := Prepare(trained, plan, uint64(2+i))
		require.NoError(t, err)
		perturb(s.Trainable, uint64(6+i))
		want = append(want, logits(t, trained))
		path := filepath.Join(t.TempDir(), "task.json")
		require.NoError(t, Save(path, fileConfig(trained, s, fp), s.Trainable))
		f, err := Read(path)
		require.NoError(t, err)
		files = append(files, f)
	}
	require.NotEqual(t, want[0], want[1])

	served := make([]*bert.Model, len(files))
	for i, f := range files {
		served[i] = tinyModelFrom(t, ck)
		_, err := f.Apply(served[i], ck.Fingerprint(), false)
		require.NoError(t, err)
	}
	for i, m := range served {
		require.Equal(t, want[i], logits(t, m), "task %d", i)
	}
	shared, own := 0, 0
	byName := func(m *bert.Model) map[string]*nn.Param {
		ps := map[string]*nn.Param{}
		for _, p := range m.Params() {
			ps[p.Name] = p
		}
		return ps
	}
	ps0, ps1 := byName(served[0]), byName(served[1])
	for name, p0 := range ps0 {
		p1, ok := ps1[name]
		_, inFile0 := files[0].Tensors[name]
		_, inFile1 := files[1].Tensors[name]
		if !ok || inFile0 || inFile1 {
			if ok && len(p0.W) > 0 {
				require.NotSame(t, &p0.W[0], &p1.W[0], "%s: a trained tensor must be the task's own", name)
			}
			own++
			continue
		}
		mapped, err := ck.Tensor(name)
		require.NoError(t, err)
		require.Same(t, &mapped[0], &p0.W[0], "%s: frozen weights must be the mapped file", name)
		require.Same(t, &mapped[0], &p1.W[0], "%s: frozen weights must be the mapped file", name)
		shared++
	}
	require.Positive(t, own)
	require.Greater(t, shared, own, "most of the base is shared")
}

// tinyCheckpoint writes the tiny model's weights as a checkpoint and opens
// it (closed when the test ends): the in-memory model, its fingerprint and
// the mapped checkpoint.
func tinyCheckpoint(t *testing.T) (*bert.Model, string, *bert.Checkpoint) {
	t.Helper()
	m := tinyModel(t, 0)
	dir := t.TempDir()
	require.NoError(t, bert.WriteCheckpoint(dir, m.Config, m.Tensors()))
	ck, err := bert.OpenCheckpoint(dir)
	require.NoError(t, err)
	t.Cleanup(func() { ck.Close() })
	return m, m.Fingerprint(), ck
}

func tinyModelFrom(t *testing.T, ck *bert.Checkpoint) *bert.Model {
	m, err := bert.New(ck.Config(), ck)
	require.NoError(t, err)
	return m
}

// TestReadRejects checks the errors on broken adapter files: a torn pair,
// a configuration listing other tensors, a wrong format or version, a
// missing file, and NaN weights.
func TestReadRejects(t *testing.T) {
	m := tinyModel(t, 2)
	fp := m.Fingerprint()
	s, err := Prepare(m, Plan{Method: MethodLNHead}, 1)
	require.NoError(t, err)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, Save(a, fileConfig(m, s, fp), s.Trainable))
	perturb(s.Trainable, 1)
	require.NoError(t, Save(b, fileConfig(m, s, fp), s.Trainable))
	aw, ac := Paths(a)
	bw, bc := Paths(b)

	// Torn pair: b's config with a's weights.
	data, err := os.ReadFile(aw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bw, data, 0o644))
	_, err = Read(b)
	require.ErrorContains(t, err, "does not belong")

	edit := func(fn func(map[string]any)) {
		raw, err := os.ReadFile(ac)
		require.NoError(t, err)
		var obj map[string]any
		require.NoError(t, json.Unmarshal(raw, &obj))
		fn(obj)
		raw, err = json.Marshal(obj)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(bc, raw, 0o644))
		require.NoError(t, os.WriteFile(bw, data, 0o644))
	}
	edit(func(o map[string]any) { o["format_version"] = 99 })
	_, err = Read(b)
	require.ErrorContains(t, err, "version 99")
	edit(func(o map[string]any) { o["format"] = "other" })
	_, err = Read(b)
	require.ErrorContains(t, err, "format")
	edit(func(o map[string]any) { o["tensors"] = []string{"classifier.bias"} })
	_, err = Read(b)
	require.ErrorContains(t, err, "trains 16 tensors, the list has 1")
	edit(func(o map[string]any) { o["weights"] = "missing.safetensors" })
	_, err = Read(b)
	require.ErrorIs(t, err, os.ErrNotExist)
	edit(func(o map[string]any) { o["method"] = "lora" })
	_, err = Read(b)
	require.ErrorContains(t, err, "lora")

	_, err = Read(filepath.Join(dir, "nothing"))
	require.ErrorIs(t, err, os.ErrNotExist)

	s.Trainable[0].W[0] = float32(nanValue())
	require.NoError(t, Save(b, fileConfig(m, s, fp), s.Trainable))
	_, err = Read(b)
	require.ErrorContains(t, err, "NaN")
}

func nanValue() float64 {
	var z float64
	return z / z
}

func TestPaths(t *testing.T) {
	for in, want := range map[string][2]string{
		"out/sst2":             {"out/sst2.safetensors", "out/sst2.json"},
		"out/sst2.safetensors": {"out/sst2.safetensors", "out/sst2.json"},
		"sst2.json":            {"sst2.safetensors", "sst2.json"},
		"a.b":                  {"a.b.safetensors", "a.b.json"},
	} {
		w, c := Paths(in)
		require.Equal(t, want, [2]string{w, c}, in)
	}
}
