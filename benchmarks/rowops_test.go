package benchmarks

import (
	"math/rand/v2"
	"testing"

	"github.com/petl-go/petl/kernels"
)

// The non-transcendental row kernels (layer norm, bias, vector ops, AdamW) on
// BERT-base shapes, one goroutine, for every kernel variant this machine
// supports (generic is the pure-Go reference). GB/s counts the bytes each
// call must move, as benchmarks/torch_rowops.py does (small per-row and
// per-column vectors are not counted):
//
//	LayerNorm          x in, y out                      8 bytes per element
//	LayerNormBackward  dy, x in, dx out                12 (dx is also read: +4)
//	AddLayerNorm       a, b in, sum, y out             16
//	AdamW              p, g, m, v in, p, m, v out      28 per parameter
//	BiasGrad           dy in                            4
//	AddBias            x in and out                     8
//	Add                a, b in, dst out                12
//	Axpy               x, y in, y out                  12
//	Dot                x, y in                          8
//	Sum, Max           x in                             4
//
// Compare with
//
//	/usr/bin/python3 benchmarks/torch_rowops.py --ops layer_norm,adamw
//	go test -run '^$' -bench 'RowOps' -count 6 ./benchmarks/ | benchstat -col /variant -

// rowVariants runs f as a sub-benchmark per supported variant, on one
// goroutine, restoring the active variant and thread count afterwards.
func rowVariants(b *testing.B, f func(b *testing.B)) {
	old, oldThreads := kernels.Active(), kernels.Threads()
	defer func() {
		if err := kernels.SetVariant(old); err != nil {
			b.Fatal(err)
		}
		kernels.SetThreads(oldThreads)
	}()
	kernels.SetThreads(1)
	for _, v := range kernels.Supported() {
		b.Run("variant="+v.String(), func(b *testing.B) {
			if err := kernels.SetVariant(v); err != nil {
				b.Fatal(err)
			}
			f(b)
		})
	}
}

// rowReport reports GB/s and ns per row (wall clock) for the b.N calls of a
// b.Loop that each move bytes bytes over rows rows, and cpu-ns/row from the
// process CPU time since cpu0 (tokCPUSeconds): on a shared machine the wall
// clock also counts the time spent waiting for a core.
func rowReport(b *testing.B, bytes float64, rows int, cpu0 float64) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(bytes*float64(b.N)/s/1e9, "GB/s")
	b.ReportMetric(s*1e9/float64(b.N)/float64(rows), "ns/row")
	if c := tokCPUSeconds() - cpu0; cpu0 > 0 && c > 0 {
		b.ReportMetric(c*1e9/float64(b.N)/float64(rows), "cpu-ns/row")
	}
}

// rowRand returns n normal samples with the given mean and deviation.
func rowRand(n int, mean, sd float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(mean + rng.NormFloat64()*sd)
	}
	return x
}

// BenchmarkRowOps times every op on its BERT-base shape: layer norm on the
// hidden states (1024 tokens x 768), bias gradient on the FFN activations
// (1024 x 3072), AdamW over 2.4M parameters (the adapters of BERT-base), and
// the vector ops over 1024 x 768 floats.
func BenchmarkRowOps(b *testing.B) {
	const rows, cols = 1024, 768
	const n = rows * cols
	x, a := rowRand(n, 0.5, 2, 1), rowRand(n, 0, 1, 2)
	dy := rowRand(n, 0, 1, 3)
	gamma, beta := rowRand(cols, 1, 0.1, 4), rowRand(cols, 0, 0.1, 5)
	y, sum, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	dg, db := make([]float32, cols), make([]float32, cols)
	kernels.LayerNorm(y, mean, rstd, x, gamma, beta, rows, cols, 1e-12)

	b.Run("op=LayerNorm/shape=1024x768", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				kernels.LayerNorm(y, mean, rstd, x, gamma, beta, rows, cols, 1e-12)
			}
			rowReport(b, 8*n, rows, cpu0)
		})
	})
	b.Run("op=LayerNormBackward/shape=1024x768", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				kernels.LayerNormBackward(dx, dg, db, dy, x, mean, rstd, gamma, rows, cols)
			}
			rowReport(b, 12*n, rows, cpu0)
		})
	})
	b.Run("op=AddLayerNorm/shape=1024x768", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				kernels.AddLayerNorm(y, sum, mean, rstd, x, a, gamma, beta, rows, cols, 1e-12)
			}
			rowReport(b, 16*n, rows, cpu0)
		})
	})

	const frows, fcols = 1024, 3072
	h := rowRand(frows*fcols, 0, 1, 6)
	bias := rowRand(fcols, 0, 0.1, 7)
	dbias := make([]float32, fcols)
	b.Run("op=BiasGrad/shape=1024x3072", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				kernels.BiasGrad(dbias, h, frows, fcols)
			}
			rowReport(b, 4*frows*fcols, frows, cpu0)
		})
	})
	b.Run("op=AddBias/shape=1024x3072", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				kernels.AddBias(h, bias, frows, fcols)
			}
			rowReport(b, 8*frows*fcols, frows, cpu0)
		})
	})

	const np = 2_400_000
	p, g := rowRand(np, 0, 0.05, 8), rowRand(np, 0, 1e-3, 9)
	m, v := make([]float32, np), make([]float32, np)
	b.Run("op=AdamW/shape=2400000", func(b *testing.B) {
		rowVariants(b, func(b *testing.B) {
			par := kernels.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
			cpu0 := tokCPUSeconds()
			for b.Loop() {
				par.Step++
				kernels.AdamW(p, g, m, v, par)
			}
			rowReport(b, 28*np, 1, cpu0)
		})
	})

	vec := []struct {
		name  string
		bytes float64
		f     func()
	}{
		{"Add", 12, func() { kernels.Add(y, x, a) }},
		{"Axpy", 12, func() { kernels.Axpy(0.5, x, y) }},
		{"Scale", 8, func() { kernels.Scale(0.999, y) }},
		{"Dot", 8, func() { kernels.Dot(x, a) }},
		{"Sum", 4, func() { kernels.Sum(x) }},
		{"Max", 4, func() { kernels.Max(x) }},
	}
	for _, o := range vec {
		b.Run("op="+o.name+"/shape=786432", func(b *testing.B) {
			rowVariants(b, func(b *testing.B) {
				cpu0 := tokCPUSeconds()
				for b.Loop() {
					o.f()
				}
				rowReport(b, o.bytes*n, rows, cpu0)
			})
		})
	}
}

// BenchmarkRowOpsInCache times the memory-bound ops on data that fits in L2
// (32 rows of 768, 96 KiB per operand; AdamW on 24576 parameters), where
// they are limited by the core rather than by memory bandwidth.
func BenchmarkRowOpsInCache(b *testing.B) {
	const rows, cols = 32, 768
	const n = rows * cols
	x, a, y := rowRand(n, 0, 1, 10), rowRand(n, 0, 1, 11), make([]float32, n)
	bias, db := rowRand(cols, 0, 0.1, 12), make([]float32, cols)
	p, m, v := rowRand(n, 0, 0.05, 13), make([]float32, n), make([]float32, n)
	par := kernels.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 10}
	for _, o := range []struct {
		name  string
		bytes float64
		f     func()
	}{
		{"Add", 12, func() { kernels.Add(y, x, a) }},
		{"AddBias", 8, func() { kernels.AddBias(y, bias, rows, cols) }},
		{"BiasGrad", 4, func() { kernels.BiasGrad(db, x, rows, cols) }},
		{"AdamW", 28, func() { kernels.AdamW(p, a, m, v, par) }},
	} {
		b.Run("op="+o.name+"/shape=32x768", func(b *testing.B) {
			rowVariants(b, func(b *testing.B) {
				cpu0 := tokCPUSeconds()
				for b.Loop() {
					o.f()
				}
				rowReport(b, o.bytes*n, rows, cpu0)
			})
		})
	}
}
