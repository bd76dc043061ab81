package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/petl-go/petl/internal/nohang"
	"github.com/stretchr/testify/require"
)

func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	require.NoError(t, os.WriteFile(ok, []byte(`{"a":1}`), 0o644))
	data, err := ReadFile(ok, MaxJSON, "config.json")
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(data))

	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, make([]byte, 100), 0o644))
	_, err = ReadFile(big, 99, "config.json")
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, big)
	data, err = ReadFile(big, 100, "config.json")
	require.NoError(t, err)
	require.Len(t, data, 100)

	_, err = ReadFile(dir, MaxJSON, "config.json")
	require.ErrorIs(t, err, ErrNotRegular)
	require.ErrorContains(t, err, "directory")

	_, err = ReadFile(filepath.Join(dir, "none"), MaxJSON, "config.json")
	require.ErrorIs(t, err, fs.ErrNotExist)

	if runtime.GOOS != "windows" {
		fifo := filepath.Join(dir, "fifo")
		require.NoError(t, syscall.Mkfifo(fifo, 0o644))
		err = nohang.Run(t, func() error { _, err := ReadFile(fifo, MaxJSON, "config.json"); return err })
		require.ErrorIs(t, err, ErrNotRegular)
		require.ErrorContains(t, err, "named pipe")
		require.ErrorContains(t, err, fifo)

		err = nohang.Run(t, func() error { _, err := ReadFile("/dev/zero", MaxVocab, "vocabulary"); return err })
		require.ErrorIs(t, err, ErrNotRegular)
		require.ErrorContains(t, err, "device")
	}
}

func TestOpenInConfined(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "adapters")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w.safetensors"), []byte("inside"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(top, "secret"), []byte("outside"), 0o644))
	require.NoError(t, os.Symlink("w.safetensors", filepath.Join(dir, "in-link")))
	require.NoError(t, os.Symlink("../secret", filepath.Join(dir, "out-link")))
	require.NoError(t, os.Symlink(filepath.Join(top, "secret"), filepath.Join(dir, "abs-link")))

	data, err := ReadFileIn(dir, "w.safetensors", 100, "weights")
	require.NoError(t, err)
	require.Equal(t, "inside", string(data))
	data, err = ReadFileIn(dir, "in-link", 100, "weights")
	require.NoError(t, err, "a link that stays in the folder is followed")
	require.Equal(t, "inside", string(data))

	for _, name := range []string{"../secret", filepath.Join(top, "secret"), "", ".", "..", "sub/x", "a\x00b"} {
		_, err := ReadFileIn(dir, name, 100, "weights")
		require.Error(t, err, "%q", name)
		require.NotContains(t, err.Error(), "outside")
	}
	for _, name := range []string{"out-link", "abs-link"} {
		_, err := ReadFileIn(dir, name, 100, "weights")
		require.Error(t, err, "%q: a link out of the folder is refused", name)
	}
	_, err = ReadFileIn(dir, "w.safetensors", 3, "weights")
	require.True(t, errors.Is(err, ErrTooLarge))

	if runtime.GOOS != "windows" {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
		err = nohang.Run(t, func() error { _, err := ReadFileIn(dir, "fifo", 100, "weights"); return err })
		require.ErrorIs(t, err, ErrNotRegular)
		require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero")))
		_, err = ReadFileIn(dir, "zero", 100, "weights")
		require.Error(t, err)
	}
}
