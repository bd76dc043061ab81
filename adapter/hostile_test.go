package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/nohang"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// savedPair saves the seed-1 adapter in a fresh folder under a parent that
// also holds a secret file, and returns the adapter's path and JSON as a
// map to edit.
func savedPair(t *testing.T) (dir, path string, obj map[string]any, secret string) {
	t.Helper()
	top := t.TempDir()
	dir = filepath.Join(top, "adapters")
	require.NoError(t, os.Mkdir(dir, 0o755))
	path = filepath.Join(dir, "task")
	cfg, params := seededAdapter(t, 1)
	require.NoError(t, Save(path, cfg, params))
	secret = filepath.Join(top, "secret.safetensors")
	require.NoError(t, os.WriteFile(secret, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644))
	_, c := Paths(path)
	raw, err := os.ReadFile(c)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &obj))
	return dir, path, obj, secret
}

// rewrite writes obj, edited by fn, as the adapter's configuration.
func rewrite(t *testing.T, path string, obj map[string]any, fn func(o map[string]any)) {
	t.Helper()
	var c map[string]any
	raw, _ := json.Marshal(obj)
	require.NoError(t, json.Unmarshal(raw, &c))
	fn(c)
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	_, cp := Paths(path)
	require.NoError(t, os.WriteFile(cp, raw, 0o644))
}

// TestReadWeightsConfined checks the weights name an adapter configuration
// gives: a path out of the folder, a symbolic link out of it, a named
// pipe, a device, a folder or a file larger than the tensors imply are
// refused at once, and no error shows the SHA-256 of a file outside the
// folder. (The name used to be joined to the folder: "../" escaped it,
// /dev/zero ran out of memory, a FIFO hung, /etc/passwd's hash was
// printed.)
func TestReadWeightsConfined(t *testing.T) {
	dir, path, obj, secret := savedPair(t)
	raw, err := os.ReadFile(secret)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	secretHash := hex.EncodeToString(sum[:])

	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "abs-link.safetensors")))
	require.NoError(t, os.Symlink("../secret.safetensors", filepath.Join(dir, "rel-link.safetensors")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.safetensors")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.safetensors"), 0o755))
	big := filepath.Join(dir, "big.safetensors")
	require.NoError(t, os.WriteFile(big, make([]byte, 1<<20), 0o644))
	names := []string{"../secret.safetensors", secret, "abs-link.safetensors", "rel-link.safetensors",
		"zero.safetensors", "sub.safetensors", "big.safetensors", "/dev/zero", "../../../../../../dev/zero", "", ".safetensors", "a\\b.safetensors"}
	if runtime.GOOS != "windows" {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.safetensors"), 0o644))
		names = append(names, "fifo.safetensors")
	}
	for _, name := range names {
		rewrite(t, path, obj, func(o map[string]any) { o["weights"] = name })
		err := nohang.Run(t, func() error { _, err := Read(path); return err })
		require.Error(t, err, "weights %q", name)
		require.NotContains(t, err.Error(), secretHash, "weights %q", name)
		require.NotContains(t, err.Error(), "root:x", "weights %q", name)
		t.Logf("%-28q %v", name, err)
	}
	rewrite(t, path, obj, func(o map[string]any) { o["weights"] = "big.safetensors" })
	_, err = Read(path)
	require.ErrorIs(t, err, safefile.ErrTooLarge)
	if runtime.GOOS != "windows" {
		rewrite(t, path, obj, func(o map[string]any) { o["weights"] = "fifo.safetensors" })
		_, err = Read(path)
		require.ErrorIs(t, err, safefile.ErrNotRegular)
	}

	// The configuration itself: a named pipe or a device is refused.
	if runtime.GOOS != "windows" {
		fifo := filepath.Join(dir, "pipe.json")
		require.NoError(t, syscall.Mkfifo(fifo, 0o644))
		err = nohang.Run(t, func() error { _, err := Read(fifo); return err })
		require.ErrorIs(t, err, safefile.ErrNotRegular)
		require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.json")))
		err = nohang.Run(t, func() error { _, err := Read(filepath.Join(dir, "zero.json")); return err })
		require.ErrorIs(t, err, safefile.ErrNotRegular)
	}
}

// TestReadRangeChecks edits every number and name of an adapter
// configuration out of range: each is an error naming the file and the
// field, before anything is allocated from it; a valid value other than
// the one saved (activation, max_len, casing, label order) is caught
// against the settings recorded in the weights file. (adapter.Size 2^40
// used to panic in makeslice, 2^33 ran out of memory, and activation and
// max_len edits were accepted.)
func TestReadRangeChecks(t *testing.T) {
	_, path, obj, _ := savedPair(t)
	adapterObj := func(o map[string]any) map[string]any { return o["adapter"].(map[string]any) }
	baseCfg := func(o map[string]any) map[string]any { return o["base"].(map[string]any)["config"].(map[string]any) }
	cases := []struct {
		name string
		edit func(o map[string]any)
		want string
	}{
		{"size 2^40", func(o map[string]any) { adapterObj(o)["Size"] = 1 << 40 }, "adapter size 1099511627776, want 1..16"},
		{"size 2^33", func(o map[string]any) { adapterObj(o)["Size"] = 1 << 33 }, "adapter size"},
		{"size 0", func(o map[string]any) { adapterObj(o)["Size"] = 0 }, "adapter size 0"},
		{"size -3", func(o map[string]any) { adapterObj(o)["Size"] = -3 }, "adapter size -3"},
		{"size above hidden", func(o map[string]any) { adapterObj(o)["Size"] = 17 }, "want 1..16"},
		{"size other", func(o map[string]any) { adapterObj(o)["Size"] = 4 }, "trained_params"},
		{"activation", func(o map[string]any) { adapterObj(o)["Activation"] = "swish" }, "swish"},
		{"activation changed", func(o map[string]any) { adapterObj(o)["Activation"] = "relu" }, `activation "relu" (saved with "gelu")`},
		{"max_len changed", func(o map[string]any) { o["max_len"] = 8 }, "max_len 8 (saved with 16)"},
		{"casing changed", func(o map[string]any) { o["lowercase"] = false }, "lowercase false (saved with true)"},
		{"labels swapped", func(o map[string]any) { o["labels"] = []string{"1", "0"} }, `labels ["1","0"] (saved with ["0","1"])`},
		{"task changed", func(o map[string]any) { o["task"] = "cola" }, `task "cola", its weights were saved for "sst2"`},
		{"placement", func(o map[string]any) { adapterObj(o)["Placement"] = "everywhere" }, "everywhere"},
		{"placement changed", func(o map[string]any) { adapterObj(o)["Placement"] = "pfeiffer" }, "tensors"},
		{"init std", func(o map[string]any) { adapterObj(o)["InitStd"] = 1e300 }, "InitStd"},
		{"no adapter object", func(o map[string]any) { delete(o, "adapter") }, "without an \"adapter\""},
		{"method", func(o map[string]any) { o["method"] = "lora" }, "lora"},
		{"top_layers", func(o map[string]any) { o["method"] = "top-k"; delete(o, "adapter"); o["top_layers"] = 99 }, "top_layers 99"},
		{"max_len 1", func(o map[string]any) { o["max_len"] = 1 }, "max_len 1, want 3..32"},
		{"max_len 2", func(o map[string]any) { o["max_len"] = 2 }, "max_len 2, want 3..32"},
		{"max_len big", func(o map[string]any) { o["max_len"] = 100000 }, "max_len 100000"},
		{"no labels", func(o map[string]any) { o["labels"] = []string{} }, "0 labels"},
		{"many labels", func(o map[string]any) {
			ls := make([]string, MaxLabels+1)
			for i := range ls {
				ls[i] = fmt.Sprint(i)
			}
			o["labels"] = ls
		}, "65537 labels"},
		{"three labels", func(o map[string]any) { o["labels"] = []string{"a", "b", "c"} }, "trained_params"},
		{"duplicate label", func(o map[string]any) { o["labels"] = []string{"a", "a"} }, "both class 0 and class 1"},
		{"label with tab", func(o map[string]any) { o["labels"] = []string{"a\tb", "c"} }, "tab"},
		{"regression with labels", func(o map[string]any) { o["regression"] = true }, "regression"},
		{"task", func(o map[string]any) { o["task"] = "" }, "no task"},
		{"vocab 0", func(o map[string]any) { baseCfg(o)["vocab_size"] = 0 }, "vocab_size = 0"},
		{"hidden 2^30", func(o map[string]any) { baseCfg(o)["hidden_size"] = 1 << 30 }, "hidden_size"},
		{"layers 2^20", func(o map[string]any) { baseCfg(o)["num_hidden_layers"] = 1 << 20 }, "num_hidden_layers"},
		{"act", func(o map[string]any) { baseCfg(o)["hidden_act"] = "relu" }, "hidden_act"},
		{"hidden other", func(o map[string]any) { baseCfg(o)["hidden_size"] = 32 }, "trained_params"},
		{"fingerprint", func(o map[string]any) { o["base"].(map[string]any)["fingerprint"] = "md5:1234" }, "base fingerprint"},
		{"vocab tokens", func(o map[string]any) { o["base"].(map[string]any)["vocab_tokens"] = 1 << 40 }, "vocab_tokens"},
		{"trained_params", func(o map[string]any) { o["trained_params"] = 5 }, "trained_params 5"},
		{"base_params", func(o map[string]any) { o["base_params"] = -1 }, "base_params -1"},
		{"sha", func(o map[string]any) { o["weights_sha256"] = "../../x" }, "weights_sha256"},
		{"tensors", func(o map[string]any) { o["tensors"] = []string{"classifier.bias"} }, "the list has 1"},
		{"epochs", func(o map[string]any) { o["training"].(map[string]any)["epochs"] = -1 }, "training.epochs"},
		{"unknown field", func(o map[string]any) { o["weights_path"] = "/etc/passwd" }, "unknown field"},
		{"version", func(o map[string]any) { o["format_version"] = 99 }, "version 99"},
		{"format", func(o map[string]any) { o["format"] = "other" }, "format \"other\""},
	}
	for _, c := range cases {
		rewrite(t, path, obj, c.edit)
		var err error
		require.NotPanics(t, func() { err = nohang.Run(t, func() error { _, err := Read(path); return err }) }, c.name)
		require.Error(t, err, c.name)
		require.ErrorContains(t, err, "task.json", c.name)
		require.ErrorContains(t, err, c.want, c.name)
	}
}

// TestApplyVocabulary checks that the base's identity covers its
// vocabulary: an adapter refuses the same weights with another vocabulary,
// saying so; an adapter that records the weights alone (written before)
// is refused with the way to proceed, which Rebase takes.
func TestApplyVocabulary(t *testing.T) {
	m := tinyModel(t, 2)
	weights := m.Fingerprint()
	tokens := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	for i := len(tokens); i < 40; i++ {
		tokens = append(tokens, fmt.Sprintf("w%d", i))
	}
	v, err := wordpiece.NewVocab(tokens)
	require.NoError(t, err)
	v2, err := wordpiece.NewVocab(append(append([]string{}, tokens[:39]...), "other"))
	require.NoError(t, err)
	short, err := wordpiece.NewVocab(tokens[:30])
	require.NoError(t, err)
	id := Identify("tiny", m.Config, weights, v)
	require.NotEqual(t, id.Fingerprint, Identify("tiny", m.Config, weights, v2).Fingerprint)
	require.NotEqual(t, id.Fingerprint, Identify("tiny", m.Config, weights, short).Fingerprint)
	require.Equal(t, id.Fingerprint, Identify("elsewhere", m.Config, weights, v).Fingerprint)

	s, err := Prepare(m, Plan{Method: MethodAdapter, Adapter: Config{Size: 2}}, 1)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	cfg := fileConfig(m, s, "")
	cfg.Base = id
	require.NoError(t, Save(path, cfg, s.Trainable))
	f, err := Read(path)
	require.NoError(t, err)
	_, err = f.ApplyTo(tinyModel(t, 0), id, false)
	require.NoError(t, err)
	for _, other := range []*wordpiece.Vocab{v2, short} {
		_, err = f.ApplyTo(tinyModel(t, 0), Identify("tiny", m.Config, weights, other), false)
		require.ErrorContains(t, err, "another vocabulary")
		require.ErrorContains(t, err, fmt.Sprintf("the base given has %d", other.Size()))
	}

	// An adapter recording the weights alone.
	old := filepath.Join(dir, "old")
	cfg.Base = Base{Fingerprint: weights, Name: "tiny", Config: m.Config}
	require.NoError(t, Save(old, cfg, s.Trainable))
	f, err = Read(old)
	require.NoError(t, err)
	_, err = f.ApplyTo(tinyModel(t, 0), id, false)
	require.ErrorContains(t, err, "by the weights alone")
	require.ErrorContains(t, err, id.Fingerprint, "the error gives the fingerprint to record")
	require.ErrorContains(t, err, "Rebase")
	_, err = f.Apply(tinyModel(t, 0), weights, false)
	require.NoError(t, err, "the weights alone still match an adapter that records them alone")

	require.Error(t, Rebase(old, Identify("tiny", m.Config, tinyModelSeed(t, 12).Fingerprint(), v)), "other weights are not recorded")
	require.NoError(t, Rebase(old, id))
	f, err = Read(old)
	require.NoError(t, err)
	_, err = f.ApplyTo(tinyModel(t, 0), id, false)
	require.NoError(t, err)
	require.True(t, f.Config.Base.SameWeights(weights))
}

func tinyModelSeed(t *testing.T, seed uint64) *bert.Model {
	m, err := bert.NewRandom(tinyConfig(), 0, seed)
	require.NoError(t, err)
	return m
}

// TestExpectedTensorsMatchPrepare checks that the tensors a configuration
// implies (what Read checks a weights file against) are exactly what
// Prepare trains, for every method.
func TestExpectedTensorsMatchPrepare(t *testing.T) {
	plans := []Plan{
		{Method: MethodAdapter, Adapter: Config{Size: 3}},
		{Method: MethodAdapter, Adapter: Config{Size: 2, Placement: Pfeiffer, Activation: Tanh}, TrainPooler: true},
		{Method: MethodFull},
		{Method: MethodTopK, TopK: 2},
		{Method: MethodTopK, TopK: 0},
		{Method: MethodLNHead},
	}
	for _, plan := range plans {
		for _, labels := range []int{1, 3} {
			m := tinyModel(t, labels)
			s, err := Prepare(m, plan, 1)
			require.NoError(t, err)
			cfg := fileConfig(m, s, m.Fingerprint())
			cfg.Labels = []string{"a", "b", "c"}[:labels]
			want, err := cfg.ExpectedTensors()
			require.NoError(t, err)
			got := map[string][]int{}
			for _, p := range s.Trainable {
				got[p.Name] = p.Shape
			}
			require.Len(t, want, len(got), "%+v", plan)
			for _, e := range want {
				require.Equal(t, got[e.Name], e.Shape, "%+v: %s", plan, e.Name)
			}
		}
	}
}
