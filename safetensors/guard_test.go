package safetensors

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/petl-go/petl/internal/nohang"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/stretchr/testify/require"
)

// bigFile writes a file of one F32 tensor "w" of n values (several pages)
// and a small "b", and opens it.
func bigFile(t *testing.T, n int) (string, *File, []float32) {
	t.Helper()
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	require.NoError(t, WriteFile(path, []Tensor{F32Tensor("w", []int{n}, vals), F32Tensor("b", []int{2}, []float32{1, 2})}, nil))
	f, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return path, f, vals
}

// TestOpenRefusesIrregular checks that a named pipe, a device and a
// folder are refused at once (a named pipe used to hang Open for good).
func TestOpenRefusesIrregular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.safetensors")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, path := range []string{fifo, "/dev/zero", dir} {
		err := nohang.Run(t, func() error { _, err := Open(path); return err })
		require.ErrorIs(t, err, safefile.ErrNotRegular, path)
		require.ErrorContains(t, err, path)
	}
}

// TestCheckTruncated truncates a mapped file: Check says so, naming the
// file, and reading the lost part under Guard is an error, not a crash.
func TestCheckTruncated(t *testing.T) {
	path, f, _ := bigFile(t, 1<<16)
	if !f.Mapped() {
		t.Skip("files are not mapped here")
	}
	require.NoError(t, f.Check())
	w, err := f.Float32("w")
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, 4096))

	err = f.Check()
	require.ErrorIs(t, err, ErrChanged)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "renaming it over the old")

	var sum float32
	err = Guard(func() error {
		for _, v := range w {
			sum += v
		}
		return nil
	})
	require.ErrorIs(t, err, ErrChanged)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "truncated")

	// The goroutine's fault setting is restored.
	require.NotPanics(t, func() { require.NoError(t, Guard(func() error { return nil })) })
}

// TestCheckRewrittenInPlace rewrites a mapped file in place with the same
// size: Check reports it.
func TestCheckRewrittenInPlace(t *testing.T) {
	path, f, _ := bigFile(t, 1<<12)
	if !f.Mapped() {
		t.Skip("files are not mapped here")
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)-1] ^= 0x40
	time.Sleep(10 * time.Millisecond) // a modification time that differs on coarse clocks too
	require.NoError(t, os.WriteFile(path, data, 0o644))
	err = f.Check()
	require.ErrorIs(t, err, ErrChanged)
	require.ErrorContains(t, err, path)

	// Same size, same bytes sampled differently, modification time put
	// back: the sample catches it when it covers the change (the last
	// window does: it covers the file's end).
	require.NoError(t, os.Chtimes(path, f.opened.mtime, f.opened.mtime))
	err = f.Check()
	require.ErrorIs(t, err, ErrChanged)
	require.ErrorContains(t, err, "bytes differ")
}

// TestCheckRenamedOver replaces a mapped file by a rename: the mapping
// keeps the old file, which Check accepts.
func TestCheckRenamedOver(t *testing.T) {
	path, f, vals := bigFile(t, 1<<12)
	other := make([]float32, len(vals))
	require.NoError(t, WriteFile(path, []Tensor{F32Tensor("w", []int{len(other)}, other), F32Tensor("b", []int{2}, []float32{3, 4})}, nil))
	require.NoError(t, f.Check())
	w, err := f.Float32("w")
	require.NoError(t, err)
	require.Equal(t, vals, w)
}

// TestGuardPassesOtherPanics checks that Guard does not swallow panics
// that are not faults on a mapped file.
func TestGuardPassesOtherPanics(t *testing.T) {
	require.PanicsWithValue(t, "boom", func() { Guard(func() error { panic("boom") }) })
	var p *[4]int
	require.Panics(t, func() { Guard(func() error { _ = p[1]; return nil }) })
}

// TestParse checks that Parse reads a file from memory as Open does.
func TestParse(t *testing.T) {
	data := sampleFile(t)
	f, err := Parse("mem", data)
	require.NoError(t, err)
	readAll(t, f)
	require.NoError(t, f.Check())
	_, err = Parse("mem", data[:5])
	require.ErrorContains(t, err, "mem")
}
