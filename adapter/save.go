package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
)

// Saving is one atomic commit, under a lock:
//
//  1. Lock: .STEM.lock in the folder, locked with flock (released by the
//     system when the process dies, however it dies); another writer of
//     the same adapter waits for it (Save) or is refused (Lock).
//  2. Refuse to replace what is not an adapter: an existing STEM.json
//     must be a petl adapter configuration and an existing
//     STEM.safetensors a petl adapter's weights (a mistyped path must not
//     overwrite a model's weights or config).
//  3. Clean the leftovers of a killed save: .STEM.*.tmp* files.
//  4. Write the weights to STEM.<hash>.safetensors, a name no committed
//     configuration uses (the first 16 hex digits of their SHA-256),
//     through a synced temporary file renamed into place.
//  5. Commit: write STEM.json naming STEM.<hash>.safetensors, through a
//     synced temporary file renamed over the old configuration. Before
//     this rename a reader finds the old pair, after it the new one.
//  6. Give the weights their usual name: hard-link them to a temporary
//     name renamed over STEM.safetensors, then rewrite STEM.json naming
//     STEM.safetensors (the same adapter: a reader finds the new pair in
//     both), then remove STEM.<hash>.safetensors. Where hard links fail
//     the adapter stays committed under STEM.<hash>.safetensors.
//  7. Remove every STEM.<16 hex>.safetensors that the configuration does
//     not name (older commits, killed saves) and that is not an adapter's
//     own STEM.<16 hex>.json pair.
//
// A save killed at any point leaves the old adapter or the new one, and
// what it leaves besides is cleaned by the next save of the same adapter.
// A reader racing with a save reads the configuration again when the
// weights it names have just been replaced (Read).

// lockWait is how long Save waits for another process's save of the same
// adapter.
const lockWait = time.Minute

// saveHook, when set (by tests), is called at each step of a save with the
// step's name; an error stops the save there, as if the process had died.
var saveHook func(step string) error

func step(name string) error {
	if saveHook != nil {
		return saveHook(name)
	}
	return nil
}

// Save writes the adapter file at path (see Paths) from cfg and the
// trained parameters params (normally Setup.Trainable), as one atomic
// commit (see above): a reader, and a process that restarts after a
// crash at any point, finds either the adapter that was there before or
// the complete new one, never a mix. Concurrent saves of the same path,
// in this process or others, are serialised. cfg's Format,
// FormatVersion, Weights, WeightsSHA256 and Tensors are filled in here;
// the rest must pass FileConfig.Validate (nothing is written otherwise).
// Save refuses to replace files that are not a petl adapter's.
func Save(path string, cfg FileConfig, params []*nn.Param) error {
	wPath, cPath := Paths(path)
	tensors := make([]safetensors.Tensor, 0, len(params))
	cfg.Tensors = cfg.Tensors[:0:0]
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("adapter: saving %s: parameter %q given twice", wPath, p.Name)
		}
		seen[p.Name] = true
		tensors = append(tensors, safetensors.F32Tensor(p.Name, slices.Clone(p.Shape), p.W))
		cfg.Tensors = append(cfg.Tensors, p.Name)
	}
	slices.Sort(cfg.Tensors)
	cfg.Format, cfg.FormatVersion = FormatName, FormatVersion
	data, err := safetensors.Encode(tensors, map[string]string{
		"format":           FormatName,
		"format_version":   strconv.Itoa(FormatVersion),
		"base_fingerprint": cfg.Base.Fingerprint,
		"task":             cfg.Task,
		"method":           string(cfg.Method),
		settingsKey:        settingsJSON(&cfg),
	})
	if err != nil {
		return fmt.Errorf("adapter: saving %s: %w", wPath, err)
	}
	sum := sha256.Sum256(data)
	cfg.WeightsSHA256 = hex.EncodeToString(sum[:])
	cfg.Weights = filepath.Base(wPath)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("adapter: not saving %s: %w", cPath, err)
	}
	want, _ := cfg.ExpectedTensors()
	for _, t := range want {
		i := slices.IndexFunc(params, func(p *nn.Param) bool { return p.Name == t.Name })
		if !slices.Equal(params[i].Shape, t.Shape) {
			return fmt.Errorf("adapter: not saving %s: parameter %q has shape %v, method %s on the recorded base trains %v", cPath, t.Name, params[i].Shape, cfg.Method, t.Shape)
		}
	}
	return withLock(cPath, func() error { return commit(cPath, cfg, data) })
}

// CheckOutput checks, before any work, that an adapter can be saved at
// path (see Paths): its folder exists and takes new files, and neither
// STEM.json nor STEM.safetensors is a file that Save would refuse to
// replace (one that is not a petl adapter's). A training run calls it
// before its first step, so that a mistyped, missing or read-only output
// is found at once rather than after the work (take TryLock too, to keep
// other writers off while it runs).
func CheckOutput(path string) error {
	_, cPath := Paths(path)
	dir, cName := filepath.Dir(cPath), filepath.Base(cPath)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("adapter: output %s: %w", cPath, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("adapter: output %s: %s is not a folder", cPath, dir)
	}
	if err := refuseForeign(dir, cName, strings.TrimSuffix(cName, ".json")+".safetensors"); err != nil {
		return err
	}
	probe, err := os.CreateTemp(dir, "."+cName+".tmp*")
	if err != nil {
		return fmt.Errorf("adapter: output %s: the folder does not take new files: %w", cPath, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// Rebase records base as the identity of the base model of the adapter
// at path, rewriting only its configuration (one atomic commit, as Save;
// the weights file and its SHA-256 stay as they are). It is how an
// adapter that records its base by the weights alone (written before a
// base's identity covered the vocabulary: see File.ApplyTo) is tied to a
// base and vocabulary that the caller knows it was trained with: base's
// weights must be the recorded ones (Base.SameWeights), and its
// architecture the recorded one.
func Rebase(path string, base Base) error {
	_, cPath := Paths(path)
	return withLock(cPath, func() error {
		f, err := Read(cPath)
		if err != nil {
			return err
		}
		cfg := f.Config
		if !cfg.Base.SameWeights(base.WeightsFingerprint) && cfg.Base.Fingerprint != base.Fingerprint {
			return fmt.Errorf("adapter: %s was trained on weights %s, not the given base's %s: not recording it", cPath, cfg.Base.Fingerprint, base.WeightsFingerprint)
		}
		if d := sameArchitecture(cfg.Base.Config, base.Config); d != "" {
			return fmt.Errorf("adapter: %s records a base of %s", cPath, d)
		}
		if base.Name == "" {
			base.Name = cfg.Base.Name
		}
		base.Seed = cfg.Base.Seed
		cfg.Base = base
		cfg.FormatVersion = FormatVersion
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("adapter: not rebasing %s: %w", cPath, err)
		}
		js, err := marshalConfig(cfg)
		if err != nil {
			return err
		}
		return writeAtomic(filepath.Dir(cPath), filepath.Base(cPath), js, "config")
	})
}

// commit writes the pair (steps 2 to 7), holding the lock.
func commit(cPath string, cfg FileConfig, data []byte) error {
	dir, cName := filepath.Dir(cPath), filepath.Base(cPath)
	stem := strings.TrimSuffix(cName, ".json")
	canon := stem + ".safetensors"
	if err := refuseForeign(dir, cName, canon); err != nil {
		return err
	}
	cleanTemps(dir, stem)
	if err := step("weights"); err != nil {
		return err
	}
	unique := stem + "." + cfg.WeightsSHA256[:16] + ".safetensors"
	if err := writeAtomic(dir, unique, data, "weights"); err != nil {
		return err
	}
	cfg.Weights = unique
	js, err := marshalConfig(cfg)
	if err != nil {
		return err
	}
	if err := writeAtomic(dir, cName, js, "commit"); err != nil {
		return err
	}
	// Committed. What follows renames the weights and tidies up; a
	// failure leaves the new adapter in place, under its unique name.
	if err := step("link"); err != nil {
		return err
	}
	if linkOver(dir, unique, canon) {
		if err := step("canonical"); err != nil {
			return err
		}
		cfg.Weights = canon
		if js, err = marshalConfig(cfg); err != nil {
			return err
		}
		if err := writeAtomic(dir, cName, js, "config"); err != nil {
			return err
		}
	}
	if err := step("cleanup"); err != nil {
		return err
	}
	cleanOrphans(dir, stem, cfg.Weights)
	safefile.SyncDir(dir)
	return nil
}

// marshalConfig is the configuration's JSON text.
func marshalConfig(cfg FileConfig) ([]byte, error) {
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	return append(js, '\n'), nil
}

// writeAtomic writes data to dir/name through a synced temporary file
// .name.tmp<digits> renamed into place (safefile.WriteAtomicStep); what
// names the step before the rename for saveHook.
func writeAtomic(dir, name string, data []byte, what string) error {
	err := safefile.WriteAtomicStep(filepath.Join(dir, name),
		func(w io.Writer) error { _, err := w.Write(data); return err },
		func() error { return step(what + "-temp") })
	if err != nil && !errors.Is(err, errStopped) {
		return fmt.Errorf("adapter: %w", err)
	}
	return err
}

// errStopped is what a test's saveHook returns to stop a save as a crash
// would: nothing is cleaned up.
var errStopped = errors.New("save stopped")

// linkOver makes dir/dst a hard link to dir/src, replacing dst
// atomically; false where hard links fail.
func linkOver(dir, src, dst string) bool {
	tmp := filepath.Join(dir, "."+dst+".tmp"+strconv.FormatInt(time.Now().UnixNano()%1e12, 10))
	if err := os.Link(filepath.Join(dir, src), tmp); err != nil {
		return false
	}
	if err := os.Rename(tmp, filepath.Join(dir, dst)); err != nil {
		os.Remove(tmp)
		return false
	}
	// Renaming a link over another link to the same file does nothing:
	// the temporary name may remain.
	os.Remove(tmp)
	return true
}

// refuseForeign refuses to replace files that are not a petl adapter's:
// the configuration cName and the weights canon in dir, when they exist.
func refuseForeign(dir, cName, canon string) error {
	cPath := filepath.Join(dir, cName)
	data, err := safefile.ReadFile(cPath, safefile.MaxAdapterJSON, "an adapter configuration")
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("adapter: not saving over %s: %w", cPath, err)
	default:
		var head struct {
			Format string `json:"format"`
		}
		if json.Unmarshal(data, &head) != nil || head.Format != FormatName {
			return fmt.Errorf("adapter: not saving over %s: it exists and is not a petl adapter configuration (choose another output name)", cPath)
		}
	}
	wPath := filepath.Join(dir, canon)
	format, err := weightsFormat(wPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("adapter: not saving over %s: %w (choose another output name)", wPath, err)
	case format != FormatName:
		return fmt.Errorf("adapter: not saving over %s: it exists and is not a petl adapter's weights (its format is %q; choose another output name)", wPath, format)
	}
	return nil
}

// weightsFormat reads the "format" metadata of the safetensors file at
// path from its header alone.
func weightsFormat(path string) (string, error) {
	md, err := safetensors.ReadMetadata(path)
	if err != nil {
		return "", err
	}
	return md["format"], nil
}

// cleanTemps removes the temporary files of earlier saves of stem that
// were killed before renaming them: .STEM.json.tmp<digits>,
// .STEM.safetensors.tmp<digits>, .STEM.<16 hex>.safetensors.tmp<digits>.
// Only a save holding the lock calls it, so none of them is being written.
func cleanTemps(dir, stem string) {
	re := regexp.MustCompile(`^\.` + regexp.QuoteMeta(stem) + `\.(json|safetensors|[0-9a-f]{16}\.safetensors)\.tmp[0-9]+$`)
	removeMatching(dir, func(name string) bool { return re.MatchString(name) })
}

// cleanOrphans removes the weights files STEM.<16 hex>.safetensors of
// stem other than keep, unless STEM.<16 hex>.json exists (then it is
// another adapter's), and the temporary files cleanTemps removes.
func cleanOrphans(dir, stem, keep string) {
	cleanTemps(dir, stem)
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(stem) + `\.[0-9a-f]{16}\.safetensors$`)
	removeMatching(dir, func(name string) bool {
		if name == keep || !re.MatchString(name) {
			return false
		}
		_, err := os.Lstat(filepath.Join(dir, strings.TrimSuffix(name, ".safetensors")+".json"))
		return errors.Is(err, fs.ErrNotExist)
	})
}

// removeMatching removes the regular files of dir whose names match.
func removeMatching(dir string, match func(string) bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && match(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
