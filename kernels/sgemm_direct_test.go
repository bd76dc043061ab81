package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemmDirect compares, on one thread, the blocked SGEMM of each
// variant that has a direct micro-kernel with and without it (packA: every
// block of A packed, as before direct kernels), on the products of BERT
// inference: the linear layers Y = X W^T of BERT-tiny (H 128, I 512) and
// BERT-base (H 768, I 3072) at 128 and 1024 rows, and one head's attention
// products (Q K^T with Q rows C apart, P V). Read the pairs with benchstat.
func BenchmarkSgemmDirect(b *testing.B) {
	defer SetThreads(0)
	SetThreads(1)
	shapes := []struct {
		name         string
		m, n, k, lda int
		transB       bool
	}{
		{"tiny-qkvo/m=1024", 1024, 128, 128, 128, true},
		{"tiny-ffn1/m=1024", 1024, 512, 128, 128, true},
		{"tiny-ffn2/m=1024", 1024, 128, 512, 512, true},
		{"tiny-ffn1/m=128", 128, 512, 128, 128, true},
		{"tiny-qk", 128, 128, 64, 128, true},
		{"base-qk", 128, 128, 64, 768, true},
		{"pv", 128, 64, 128, 128, false},
		{"base-qkvo/m=128", 128, 768, 768, 768, true},
		{"base-ffn2/m=128", 128, 768, 3072, 3072, true},
		{"base-qkvo/m=1024", 1024, 768, 768, 768, true},
		{"base-ffn1/m=1024", 1024, 3072, 768, 768, true},
		{"base-ffn2/m=1024", 1024, 768, 3072, 3072, true},
	}
	for v, g := range sgemmBlockings {
		if g == nil || g.direct == nil || !IsSupported(Variant(v)) {
			continue
		}
		packing, inPlace := *g, *g
		packing.direct = nil
		inPlace.directMaxN = 1 << 30 // at every width, to compare
		for _, sh := range shapes {
			rng := rand.New(rand.NewPCG(1, 2))
			a := testInput(rng, sh.m*sh.lda, 1)
			bm := testInput(rng, sh.k*sh.n, 1)
			c := make([]float32, sh.m*sh.n)
			ldb := sh.n
			if sh.transB {
				ldb = sh.k
			}
			for _, impl := range []struct {
				name string
				g    *sgemmBlocking
			}{{"packA", &packing}, {"direct", &inPlace}} {
				b.Run(fmt.Sprintf("%s/%v/%s", sh.name, Variant(v), impl.name), func(b *testing.B) {
					for b.Loop() {
						impl.g.sgemm(false, sh.transB, sh.m, sh.n, sh.k, 1, a, sh.lda, bm, ldb, 0, c, sh.n)
					}
					b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkSgemmMicroKernel measures the micro-kernel of each variant with a
// blocked driver alone, on panels that stay in L1 (8 slivers of B against
// one panel of A, C in L1), at the depths BERT's products use: the ceiling
// of what the driver can reach, and what a short k costs in prologue and
// epilogue.
func BenchmarkSgemmMicroKernel(b *testing.B) {
	for v, g := range sgemmBlockings {
		if g == nil || !IsSupported(Variant(v)) {
			continue
		}
		for _, k := range []int{64, 128, 256, 512} {
			const slivers = 8
			rng := rand.New(rand.NewPCG(1, 2))
			a := testInput(rng, g.mr*k, 1)
			bp := testInput(rng, slivers*g.nr*k, 1)
			c := make([]float32, slivers*g.mr*g.nr)
			b.Run(fmt.Sprintf("%v/k=%d", Variant(v), k), func(b *testing.B) {
				for b.Loop() {
					for s := range slivers {
						g.kernel(k, &a[0], &bp[s*g.nr*k], &c[s*g.mr*g.nr], g.nr, 1, 0, &bp[s*g.nr*k])
					}
				}
				b.ReportMetric(2*float64(g.mr*g.nr*k*slivers)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
