//go:build !purego

package kernels

// The paths of the amd64 variants.
func init() {
	qgemmPaths[AVX2] = []qPath{{"avx2", qgemmAVX2}}
}
