// Package gen holds the generators of every assembly file in asm/: avo
// programs for amd64 (AVX2+FMA, AVX-512) and a small emitter of Go arm64
// assembly for NEON. `make generate` runs them all.
package gen
