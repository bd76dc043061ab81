//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// The paths of the amd64 variants: AVX-512 has a VNNI tile (where the CPU
// has AVX512VNNI) and a BW tile (wherever AVX512 runs), tested both.
func init() {
	qgemmPaths[AVX2] = []qPath{{"avx2", qgemmAVX2}}
	qgemmPaths[AVX512] = []qPath{{"bw", qgemmAVX512BW}}
	if cpu.X86.HasAVX512VNNI {
		qgemmPaths[AVX512] = append(qgemmPaths[AVX512], qPath{"vnni", qgemmAVX512VNNI})
	}
}
