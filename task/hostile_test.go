package task

import (
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petl-go/petl/internal/safefile"
	"github.com/stretchr/testify/require"
)

// TestReadFileNotRegular checks that a named pipe, a device or a folder
// given as a data file is an immediate error that says how to read a
// stream, and that a stream is bounded.
func TestReadFileNotRegular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes")
	}
	spec, err := Lookup("sst2")
	require.NoError(t, err)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "dev.tsv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, path := range []string{fifo, "/dev/zero", dir} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(spec, path, Options{}); done <- err }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, safefile.ErrNotRegular, path)
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, "standard input")
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) blocks", path)
		}
	}
	_, err = Read(spec, strings.NewReader("sentence\tlabel\na b\t1\n"), "stdin", Options{})
	require.NoError(t, err)
}
