// Package asm holds the generated SIMD micro-kernels (AVX2, AVX-512, NEON)
// and their Go declarations. Every file but this one is written by the
// generators in internal/gen (`make generate`); edit those, never the output.
//
// Nothing here checks its arguments: lengths, strides and alignment are the
// caller's contract, and package kernels, the only importer, enforces them
// before it calls in. That is why the package is internal to kernels.
package asm
