package benchmarks

import (
	"fmt"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/petl-go/petl/kernels"
)

// sgemmShape is one product C = op(A) * op(B), op(A) m x k, op(B) k x n.
type sgemmShape struct {
	name           string
	m, n, k        int
	transA, transB bool
}

// sgemmShapes are the shapes of ../shared/anchors/sgemm_openblas.c, in its
// order and with its transpose cases (names shortened for benchstat).
var sgemmShapes = []sgemmShape{
	{name: "sq128", m: 128, n: 128, k: 128},
	{name: "sq256", m: 256, n: 256, k: 256},
	{name: "sq512", m: 512, n: 512, k: 512},
	{name: "sq1024", m: 1024, n: 1024, k: 1024},
	{name: "sq2048", m: 2048, n: 2048, k: 2048},
	{name: "qkvo", m: 1024, n: 768, k: 768},              // 1024x768 * 768x768
	{name: "ffn1", m: 1024, n: 3072, k: 768},             // 1024x768 * 768x3072
	{name: "ffn2", m: 1024, n: 768, k: 3072},             // 1024x3072 * 3072x768
	{name: "dX", m: 1024, n: 768, k: 3072, transB: true}, // dY * W^T, 1024x3072 * (768x3072)^T
	{name: "dW", m: 768, n: 3072, k: 1024, transA: true}, // X^T * dY, (1024x768)^T * 1024x3072
}

// BenchmarkSgemm measures kernels.Sgemm (C = A*B, alpha 1, beta 0) per shape,
// kernel variant and thread count, and gonum's pure-Go Sgemm on the same
// shapes, in GFLOP/s (2mnk per product). Sub-benchmarks are named
// shape/impl/threads=N; the generic variant only runs on the small squares.
// Read with benchstat; benchmarks/compare-sgemm.sh sets these against
// OpenBLAS in one run.
func BenchmarkSgemm(b *testing.B) {
	oldVariant, oldThreads := kernels.Active(), kernels.Threads()
	defer func() {
		if err := kernels.SetVariant(oldVariant); err != nil {
			b.Fatal(err)
		}
		kernels.SetThreads(oldThreads)
	}()
	for _, sh := range sgemmShapes {
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
		// GFLOP/s is wall clock; cpu-GFLOP/s divides by the process CPU time
		// (all threads), which on a shared machine shows what the cores did
		// when they ran this process.
		report := func(b *testing.B, cpu0 float64) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if c := tokCPUSeconds() - cpu0; cpu0 > 0 && c > 0 {
				b.ReportMetric(flops*float64(b.N)/c/1e9, "cpu-GFLOP/s")
			}
		}
		b.Run(sh.name, func(b *testing.B) {
			a, bm, c := sgemmOperands(sh)
			for _, v := range kernels.Supported() {
				if v == kernels.Generic && sh.m > 256 {
					continue
				}
				for _, th := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/threads=%d", v, th), func(b *testing.B) {
						if err := kernels.SetVariant(v); err != nil {
							b.Fatal(err)
						}
						kernels.SetThreads(th)
						cpu0 := tokCPUSeconds()
						for b.Loop() {
							kernels.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
						}
						report(b, cpu0)
					})
				}
			}
			// gonum splits work over GOMAXPROCS goroutines.
			impl := gonum.Implementation{}
			tA, tB := blas.NoTrans, blas.NoTrans
			if sh.transA {
				tA = blas.Trans
			}
			if sh.transB {
				tB = blas.Trans
			}
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("gonum/threads=%d", th), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(th))
					cpu0 := tokCPUSeconds()
					for b.Loop() {
						impl.Sgemm(tA, tB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
					}
					report(b, cpu0)
				})
			}
		})
	}
}

// sgemmOperands returns A, B and C for sh, filled like the OpenBLAS program.
func sgemmOperands(sh sgemmShape) (a, b, c []float32) {
	a = make([]float32, sh.m*sh.k)
	b = make([]float32, sh.k*sh.n)
	c = make([]float32, sh.m*sh.n)
	for i := range a {
		a[i] = float32(i%13) * 0.01
	}
	for i := range b {
		b[i] = float32(i%7) * 0.01
	}
	return a, b, c
}
