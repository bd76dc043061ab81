package safetensors

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/petl-go/petl/internal/procstatus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvict checks that an evicted tensor keeps its values and, on Linux,
// leaves the process's resident file-backed memory.
func TestEvict(t *testing.T) {
	const n = 4 << 20 // 16 MiB of floats
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(i%1000) - 500
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	require.NoError(t, WriteFile(path, []Tensor{F32Tensor("w", []int{n}, vals), F32Tensor("b", []int{3}, []float32{1, 2, 3})}, nil))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := f.Float32("w")
	require.NoError(t, err)
	require.Equal(t, vals, w) // every page touched
	before := rssFileKiB()

	require.NoError(t, f.Evict("w"))
	require.NoError(t, f.Evict("b")) // smaller than a page: nothing to do
	require.ErrorContains(t, f.Evict("nope"), `no tensor "nope"`)
	after := rssFileKiB()
	if runtime.GOOS == "linux" && f.Mapped() {
		assert.Greater(t, before-after, float64(12<<10), "resident file-backed KiB: %d before, %d after", before, after)
	}
	require.Equal(t, vals, w, "values read back after eviction")
}

// rssFileKiB is RssFile from /proc/self/status (0 where there is none).
func rssFileKiB() float64 {
	kib, _ := procstatus.KiB("RssFile")
	return kib
}
