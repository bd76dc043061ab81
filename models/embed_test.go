package models

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTinyDir: the embedded copy of the shipped model is written once into
// the cache folder and is the same checkpoint as the folder in the
// repository (same fingerprint, same vocabulary, same casing).
func TestTinyDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := TinyDir()
	require.NoError(t, err)
	tinyOnce.dir = "" // make the next call look at the disk again
	again, err := TinyDir()
	require.NoError(t, err)
	assert.Equal(t, dir, again)

	got, err := bert.OpenCheckpoint(dir)
	require.NoError(t, err)
	defer got.Close()
	want := openTiny(t)
	assert.Equal(t, want.Fingerprint(), got.Fingerprint())
	for _, f := range tinyFiles {
		a, err := os.ReadFile(filepath.Join(tinyDir, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, a, b, f)
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary folder left behind")
	tinyOnce.dir = ""
}
