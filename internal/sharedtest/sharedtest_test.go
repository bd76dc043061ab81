package sharedtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDirFromEnv(t *testing.T) {
	d := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(d, "data"), 0o755))
	t.Setenv(EnvVar, d)
	got, err := Dir()
	require.NoError(t, err)
	require.Equal(t, d, got)
	require.Equal(t, filepath.Join(d, "data"), Path(t, "data"))

	t.Setenv(EnvVar, filepath.Join(d, "missing"))
	_, err = Dir()
	require.ErrorContains(t, err, "is not a folder")
}

func TestDirBesideRepository(t *testing.T) {
	t.Setenv(EnvVar, "")
	got, err := Dir()
	if err != nil {
		require.Contains(t, err.Error(), "beside the repository")
		return
	}
	root, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	require.NoError(t, err)
	abs, err := filepath.Abs(got)
	require.NoError(t, err)
	require.Equal(t, root, abs)
}
