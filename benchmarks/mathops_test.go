package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/petl-go/petl/kernels"
)

// The transcendental row kernels on BERT-base shapes, one goroutine, for
// every kernel variant this machine supports (the generic one is the pure-Go
// reference). Bytes follow benchmarks/torch_rowops.py: a forward pass moves
// x in and y out (8 bytes per element), a backward pass two inputs and dx out
// (12 bytes per element). Compare with
//
//	OMP_NUM_THREADS=1 /usr/bin/python3 benchmarks/torch_rowops.py --ops softmax,gelu

// mathVariants runs f as a sub-benchmark per supported variant, on one
// goroutine, restoring the active variant and thread count afterwards.
func mathVariants(b *testing.B, f func(b *testing.B)) {
	old, oldThreads := kernels.Active(), kernels.Threads()
	defer func() {
		if err := kernels.SetVariant(old); err != nil {
			b.Fatal(err)
		}
		kernels.SetThreads(oldThreads)
	}()
	kernels.SetThreads(1)
	for _, v := range kernels.Supported() {
		b.Run(v.String(), func(b *testing.B) {
			if err := kernels.SetVariant(v); err != nil {
				b.Fatal(err)
			}
			f(b)
		})
	}
}

// mathReport reports GB/s and ns per row for a loop of b.N calls that each
// move bytes bytes over rows rows, and the same from the process CPU time
// since cpu0 (tokCPUSeconds; 0 where unavailable): on a shared machine the
// wall-clock figures are low bounds, the CPU-time ones what one core does.
func mathReport(b *testing.B, bytes float64, rows int, cpu0 float64) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(bytes*float64(b.N)/s/1e9, "GB/s")
	b.ReportMetric(s*1e9/float64(b.N)/float64(rows), "ns/row")
	if c := tokCPUSeconds() - cpu0; cpu0 > 0 && c > 0 {
		b.ReportMetric(bytes*float64(b.N)/c/1e9, "cpu-GB/s")
		b.ReportMetric(c*1e9/float64(b.N)/float64(rows), "cpu-ns/row")
	}
}

func mathRand(n int, sd float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sd)
	}
	return x
}

// BenchmarkSoftmax: attention softmax over 8x12x128x128 scores (batch x heads
// x T x T), rows of 128; fwd without and with an additive mask, and bwd.
func BenchmarkSoftmax(b *testing.B) {
	const rows, cols = 8 * 12 * 128, 128
	n := rows * cols
	x := mathRand(n, 3, 1)
	dy := mathRand(n, 1, 2)
	y := make([]float32, n)
	dx := make([]float32, n)
	mask := make([]float32, cols)
	for c := cols - 20; c < cols; c++ {
		mask[c] = -10000 // padding positions, as BERT's attention mask
	}
	shape := "8x12x128x128"
	b.Run("fwd/"+shape, func(b *testing.B) {
		mathVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				kernels.SoftmaxRows(y, x, rows, cols, 1, nil)
			}
			mathReport(b, 8*float64(n), rows, cpu0)
		})
	})
	b.Run("fwd-mask/"+shape, func(b *testing.B) {
		mathVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				kernels.SoftmaxRows(y, x, rows, cols, 0.125, mask)
			}
			mathReport(b, 8*float64(n), rows, cpu0)
		})
	})
	kernels.SoftmaxRows(y, x, rows, cols, 1, nil)
	b.Run("bwd/"+shape, func(b *testing.B) {
		mathVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				kernels.SoftmaxRowsBackward(dx, y, dy, rows, cols, 1)
			}
			mathReport(b, 12*float64(n), rows, cpu0)
		})
	})
}

// BenchmarkGELU: the FFN activation (exact, erf) on 1024x3072, forward and
// backward, and the fused bias + GELU epilogue (which also
// writes pre back: 12 bytes per element).
func BenchmarkGELU(b *testing.B) {
	const rows, cols = 1024, 3072
	n := rows * cols
	x := mathRand(n, 1.5, 3)
	dy := mathRand(n, 1, 4)
	y := make([]float32, n)
	bias := mathRand(cols, 0.1, 5)
	shape := fmt.Sprintf("%dx%d", rows, cols)
	for _, c := range []struct {
		name  string
		bytes float64
		f     func()
	}{
		{"fwd", 8, func() { kernels.GELU(y, x) }},
		{"bwd", 12, func() { kernels.GELUBackward(y, dy, x) }},
		{"bias-fwd", 12, func() { kernels.AddBiasGELU(y, dy, bias, rows, cols) }},
	} {
		b.Run(c.name+"/"+shape, func(b *testing.B) {
			mathVariants(b, func(b *testing.B) {
				cpu0 := tokCPUSeconds()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.f()
				}
				mathReport(b, c.bytes*float64(n), rows, cpu0)
			})
		})
	}
}

// BenchmarkTanh: tanh over a 4M-element vector (16 MB in, 16 MB out).
// ns/row is per 1024 elements.
func BenchmarkTanh(b *testing.B) {
	const n = 1 << 22
	x := mathRand(n, 10, 6)
	y := make([]float32, n)
	b.Run("4M", func(b *testing.B) {
		mathVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				kernels.Tanh(y, x)
			}
			mathReport(b, 8*float64(n), n/1024, cpu0)
		})
	})
}
