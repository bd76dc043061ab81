package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteAtomicKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keep")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
	err := WriteAtomic(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	})
	assert.ErrorContains(t, err, "disk full")
	got, _ := os.ReadFile(p)
	assert.Equal(t, "old", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "temporary file removed")

	require.NoError(t, WriteAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }))
	got, _ = os.ReadFile(p)
	assert.Equal(t, "new", string(got))
}
