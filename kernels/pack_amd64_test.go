//go:build !purego

package kernels

import "testing"

// TestPackRowsAMD64Variants checks that both amd64 SIMD variants pack with
// the AVX2 code: an op table falls back to the Go loops, not to AVX2, for a
// variant without an entry, and the AVX-512 path cannot run on every
// machine that runs these tests.
func TestPackRowsAMD64Variants(t *testing.T) {
	for _, v := range []Variant{AVX2, AVX512} {
		if !packRowsOp.has[v] {
			t.Errorf("packRows has no %s implementation", v)
		}
	}
}
