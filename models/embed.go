package models

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// TinyName is the shipped base model's name, the folder beside this file.
const TinyName = "petl-bert-tiny"

// tinyFiles are the files of the shipped model that make a checkpoint.
var tinyFiles = []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}

//go:embed petl-bert-tiny/config.json petl-bert-tiny/model.safetensors petl-bert-tiny/vocab.txt petl-bert-tiny/tokenizer_config.json
var tiny embed.FS

// tinyOnce remembers the folder TinyDir made or found, so that later calls
// skip hashing the embedded files.
var tinyOnce struct {
	sync.Mutex
	dir string
}

// TinyDir returns a checkpoint folder holding the shipped BERT-tiny, so that
// a petl binary finds its default model wherever it runs: the model is
// embedded in the binary (17 MiB) and written, on first use, into the user's
// cache directory ($XDG_CACHE_HOME or ~/.cache on Linux) as
// petl/models/petl-bert-tiny-<hash>/, named by a hash of its contents so
// that another version never reuses it. The folder is made atomically (a
// temporary folder renamed into place); later calls and other processes
// reuse it.
func TinyDir() (string, error) {
	tinyOnce.Lock()
	defer tinyOnce.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("models: no cache directory for the shipped model: %w", err)
	}
	if d := tinyOnce.dir; d != "" && filepath.Dir(filepath.Dir(filepath.Dir(d))) == cache && complete(d) {
		return d, nil
	}
	h := sha256.New()
	for _, f := range tinyFiles {
		data, err := tiny.ReadFile(path.Join(TinyName, f))
		if err != nil {
			return "", fmt.Errorf("models: embedded %s: %w", f, err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	parent := filepath.Join(cache, "petl", "models")
	dir := filepath.Join(parent, TinyName+"-"+hex.EncodeToString(h.Sum(nil)[:6]))
	if complete(dir) {
		tinyOnce.dir = dir
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+TinyName+"-")
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left
	for _, f := range tinyFiles {
		if err := extract(path.Join(TinyName, f), filepath.Join(tmp, f)); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have made it meanwhile.
		if !complete(dir) {
			return "", fmt.Errorf("models: writing the shipped model to %s: %w", dir, err)
		}
	}
	tinyOnce.dir = dir
	return dir, nil
}

// complete reports whether dir holds every file of the shipped model at
// its embedded size.
func complete(dir string) bool {
	for _, f := range tinyFiles {
		want, err := fs.Stat(tiny, path.Join(TinyName, f))
		if err != nil {
			return false
		}
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !st.Mode().IsRegular() || st.Size() != want.Size() {
			return false
		}
	}
	return true
}

// extract copies the embedded file name to dst and syncs it.
func extract(name, dst string) (err error) {
	src, err := tiny.Open(name)
	if err != nil {
		return fmt.Errorf("models: embedded %s: %w", name, err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("models: %w", cerr)
		}
	}()
	if _, err := io.Copy(out, src); err != nil {
		return fmt.Errorf("models: writing %s: %w", dst, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("models: writing %s: %w", dst, err)
	}
	return nil
}
