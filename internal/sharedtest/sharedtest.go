// Package sharedtest finds the shared folder that tests and benchmarks
// read (GLUE data, the vocabulary, golden tokenizer outputs):
// $PETL_SHARED, else the folder "shared" beside the repository root.
package sharedtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the shared folder when set.
const EnvVar = "PETL_SHARED"

// Dir returns the shared folder, or an error saying where it looked.
func Dir() (string, error) {
	if s := os.Getenv(EnvVar); s != "" {
		if st, err := os.Stat(s); err != nil || !st.IsDir() {
			return "", fmt.Errorf("$%s=%s is not a folder", EnvVar, s)
		}
		return s, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if st, err := os.Stat(shared); err != nil || !st.IsDir() {
				return "", fmt.Errorf("no shared folder at %s beside the repository (set $%s)", shared, EnvVar)
			}
			return shared, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above " + wd + " (set $" + EnvVar + ")")
		}
	}
}

// Path returns the path of parts inside the shared folder, skipping the
// test or benchmark when the folder or that path is absent.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	p := filepath.Join(append([]string{dir}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	return p
}
