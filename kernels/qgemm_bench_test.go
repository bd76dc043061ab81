package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQgemm measures Qgemm at BERT-base's products (1024 tokens:
// batch 8 x 128; hidden 768, FFN 3072) on every SIMD variant and path,
// 1 and 2 threads, beside the fp32 product of the same shape with a
// packed B (SgemmPacked, what a frozen layer runs), each reporting GOPS
// (2*m*n*k operations per second, a multiply-add counting two). Read with
// benchstat; sub-benchmarks are named shape/threads/variant/product.
func BenchmarkQgemm(b *testing.B) {
	saved, savedThreads := Active(), Threads()
	defer func() { SetVariant(saved); SetThreads(savedThreads) }()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []struct{ m, k, n int }{{1024, 768, 768}, {1024, 768, 3072}, {1024, 3072, 768}} {
		m, k, n := sh.m, sh.k, sh.n
		x := qRandom(rng, m*k, 1)
		w := qRandom(rng, n*k, 0.03)
		qb, err := QuantizeB(nil, w, n, k)
		if err != nil {
			b.Fatal(err)
		}
		c := make([]float32, m*n)
		ops := 2 * float64(m) * float64(n) * float64(k)
		report := func(b *testing.B) {
			b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
		}
		for _, th := range []int{1, 2} {
			for _, v := range Supported() {
				if v == Generic && len(Supported()) > 1 {
					continue // the pure-Go reference is not what this compares
				}
				prefix := fmt.Sprintf("m%d_k%d_n%d/threads=%d/%s", m, k, n, th, v)
				for _, p := range qPathsOf(v) {
					b.Run(prefix+"/int8-"+p.name, func(b *testing.B) {
						SetVariant(v)
						SetThreads(th)
						withQPath(v, p.v, func() {
							for b.Loop() {
								Qgemm(m, x, k, qb, c, n)
							}
						})
						report(b)
					})
				}
				b.Run(prefix+"/fp32-packed", func(b *testing.B) {
					SetVariant(v)
					SetThreads(th)
					_, shape := PackedBLayout(k, n)
					var dst []float32
					if size := packedSize(shape); size > 0 {
						dst = make([]float32, size)
					}
					pb := PackB(dst, true, k, n, w, k)
					for b.Loop() {
						SgemmPacked(false, m, 1, x, k, pb, 0, c, n)
					}
					report(b)
				})
			}
		}
	}
}

// BenchmarkQgemmTile measures each tile alone, its operands in L1 (k =
// 768: a sliver is 12 KiB), reporting GOPS: the ceiling of Qgemm, which
// adds the quantization of the rows and the traffic of the operands.
func BenchmarkQgemmTile(b *testing.B) {
	saved := Active()
	defer SetVariant(saved)
	const kp = 768
	for _, v := range Supported() {
		for _, p := range qPathsOf(v) {
			b.Run(fmt.Sprintf("%s/%s", v, p.name), func(b *testing.B) {
				c := make([]float32, p.v.mr*QNR)
				a := make([]byte, p.v.mr*kp)
				w := make([]int8, QNR*kp)
				zp, sa := make([]int32, p.v.mr), make([]float32, p.v.mr)
				sum, scale := make([]int32, QNR), make([]float32, QNR)
				for b.Loop() {
					p.v.tile(c, QNR, a, kp, w, kp, zp, sa, sum, scale)
				}
				ops := 2 * float64(p.v.mr*QNR*kp)
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			})
		}
	}
}
