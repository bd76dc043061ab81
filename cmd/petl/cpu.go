package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/petl-go/petl/kernels"
)

func init() {
	commands["cpu"] = command{"print CPU features and kernel variants, self-check them, measure SGEMM", runCPU}
}

func runCPU(ctx context.Context, args []string) error {
	fs := newFlagSet("cpu")
	check := fs.Bool("check", true, "check every supported variant against the pure-Go reference")
	bench := fs.Bool("bench", true, "measure SGEMM GFLOP/s on BERT-base shapes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Print(kernels.Describe())
	if *check {
		if err := selfCheck(); err != nil {
			return err
		}
	}
	if *bench {
		return sgemmBench(ctx)
	}
	return nil
}

// selfCheck runs Sgemm in every supported variant on awkward shapes and
// compares with the generic reference.
func selfCheck() error {
	active := kernels.Active()
	defer kernels.SetVariant(active)
	rng := rand.New(rand.NewPCG(1, 2))
	type shape struct {
		ta, tb  bool
		m, n, k int
	}
	shapes := []shape{{false, true, 37, 61, 129}, {false, false, 64, 768, 96}, {true, false, 33, 17, 300}, {true, true, 5, 130, 7}}
	fmt.Println("self-check (SGEMM vs the pure-Go reference):")
	for _, v := range kernels.Supported() {
		var worst float64
		for _, s := range shapes {
			a := randSlice(rng, s.m*s.k)
			b := randSlice(rng, s.k*s.n)
			lda, ldb := s.k, s.n
			if s.ta {
				lda = s.m
			}
			if s.tb {
				ldb = s.k
			}
			want := make([]float32, s.m*s.n)
			got := make([]float32, s.m*s.n)
			kernels.SetVariant(kernels.Generic)
			kernels.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, want, s.n)
			if err := kernels.SetVariant(v); err != nil {
				return err
			}
			kernels.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, got, s.n)
			for i := range want {
				worst = max(worst, math.Abs(float64(want[i]-got[i]))/(1+math.Abs(float64(want[i]))))
			}
		}
		status := "ok"
		if worst > 1e-4 {
			status = "MISMATCH"
		}
		fmt.Printf("  %-8s max relative difference %.2e  %s\n", v, worst, status)
		if status != "ok" {
			return fmt.Errorf("variant %s disagrees with the reference (max relative difference %.2e)", v, worst)
		}
	}
	return int8Check(rng)
}

// int8Check runs the int8 product (--precision int8) in every supported
// variant on awkward shapes: integer sums are exact, so every variant must
// give the reference's bits.
func int8Check(rng *rand.Rand) error {
	fmt.Println("self-check (int8 product, bitwise vs the pure-Go reference):")
	shapes := [][3]int{{37, 61, 129}, {5, 16, 768}, {130, 33, 7}}
	for _, v := range kernels.Supported() {
		diff := 0
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			x := randSlice(rng, m*k)
			qb, err := kernels.QuantizeB(nil, randSlice(rng, n*k), n, k)
			if err != nil {
				return err
			}
			want := make([]float32, m*n)
			got := make([]float32, m*n)
			kernels.SetVariant(kernels.Generic)
			kernels.Qgemm(m, x, k, qb, want, n)
			if err := kernels.SetVariant(v); err != nil {
				return err
			}
			kernels.Qgemm(m, x, k, qb, got, n)
			for i := range want {
				if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					diff++
				}
			}
		}
		if diff > 0 {
			fmt.Printf("  %-8s %d outputs differ  MISMATCH\n", v, diff)
			return fmt.Errorf("variant %s: %d int8 outputs differ from the reference", v, diff)
		}
		fmt.Printf("  %-8s identical  ok\n", v)
	}
	return nil
}

// sgemmBench measures the active variant on BERT-base shapes (1024 tokens).
func sgemmBench(ctx context.Context) error {
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"qkvo   1024x768 * 768x768", false, false, 1024, 768, 768},
		{"ffn1   1024x768 * 768x3072", false, false, 1024, 3072, 768},
		{"ffn2   1024x3072 * 3072x768", false, false, 1024, 768, 3072},
		{"dX     dY * W^T", false, true, 1024, 768, 3072},
		{"dW     X^T * dY", true, false, 768, 3072, 1024},
	}
	fmt.Printf("SGEMM, variant %s, %d threads (median of 5):\n", kernels.Active(), kernels.Threads())
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := randSlice(rng, s.m*s.k)
		b := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		run := func() { kernels.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n) }
		run()
		var rates []float64
		for range 5 {
			t0 := time.Now()
			run()
			rates = append(rates, 2*float64(s.m)*float64(s.n)*float64(s.k)/time.Since(t0).Seconds()/1e9)
		}
		fmt.Printf("  %-30s %7.1f GFLOP/s\n", s.name, median(rates))
	}
	return nil
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}
