package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// qgemmContract computes Qgemm's result for x [m, k] and w [n, k] straight
// from the contract in qgemm.go, with no layout, no offset and no tiles: the
// independent reference every variant must equal bit for bit.
func qgemmContract(x, w []float32, m, n, k int) []float32 {
	w8 := make([]int32, n*k)
	sw := make([]float32, n)
	for j := range n {
		var amax float32
		for p := range k {
			amax = max(amax, float32(math.Abs(float64(w[j*k+p]))))
		}
		if amax == 0 {
			continue
		}
		inv := float32(127) / amax
		sw[j] = amax / 127
		for p := range k {
			w8[j*k+p] = int32(max(-127, min(127, math.RoundToEven(float64(w[j*k+p]*inv)))))
		}
	}
	c := make([]float32, m*n)
	for i := range m {
		var lo, hi float32
		bad := false
		for p := range k {
			v := x[i*k+p]
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bad = true
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		q := make([]int32, k)
		var sa float32
		switch {
		case bad:
			sa = float32(math.NaN())
		case hi > lo:
			inv := float32(127) / (hi - lo)
			sa = (hi - lo) / 127
			zp := int32(max(0, min(127, math.RoundToEven(float64(-lo*inv)))))
			for p := range k {
				q[p] = int32(max(0, min(127, math.RoundToEven(float64(x[i*k+p]*inv))+float64(zp)))) - zp
			}
		}
		for j := range n {
			var acc int32
			for p := range k {
				acc += q[p] * w8[j*k+p]
			}
			c[i*n+j] = float32(acc) * (sa * sw[j])
		}
	}
	return c
}

// qRandom returns n values, normal with standard deviation sd.
func qRandom(rng *rand.Rand, n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * sd)
	}
	return v
}

// qFirstDiff reports the first index where got and want differ as bits
// (NaN equal to NaN of any payload), or -1.
func qFirstDiff(got, want []float32) int {
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			return i
		}
	}
	return -1
}

// TestQgemmVariants checks every int8 variant this machine runs, at 1, 2
// and 3 threads, on odd shapes (partial slivers, k not a multiple of 4, row
// counts around the tile height), bitwise against the contract.
func TestQgemmVariants(t *testing.T) {
	saved, savedThreads := Active(), Threads()
	defer func() { SetVariant(saved); SetThreads(savedThreads) }()
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][3]int{{1, 1, 1}, {1, 16, 4}, {3, 17, 5}, {4, 15, 3}, {5, 33, 7}, {9, 48, 64}, {17, 31, 129}, {13, 40, 768}, {64, 96, 300}}
	for _, v := range Supported() {
		require.NoError(t, SetVariant(v))
		if !qgemmOp.has[v] {
			t.Logf("qgemm: no %s implementation (generic code runs)", v)
		}
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			x := qRandom(rng, m*k, 1)
			w := qRandom(rng, n*k, 0.05)
			x[0] = 0 // rows and channels with zeros, and a row of zeros
			if m > 2 {
				for p := range k {
					x[2*k+p] = 0
				}
			}
			for p := range k {
				w[p] = 0
			}
			want := qgemmContract(x, w, m, n, k)
			qb, err := QuantizeB(nil, w, n, k)
			require.NoError(t, err)
			for _, th := range []int{1, 2, 3} {
				SetThreads(th)
				c := make([]float32, m*n)
				Qgemm(m, x, k, qb, c, n)
				i := qFirstDiff(c, want)
				require.Equal(t, -1, i, "%s %dx%dx%d threads %d: first difference at %d", v, m, n, k, th, i)
			}
		}
	}
}

// TestQgemmStrides checks lda > K and ldc > N: the gaps are neither read
// into the result nor written.
func TestQgemmStrides(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, n, k, lda, ldc := 6, 20, 10, 13, 23
	x := qRandom(rng, m*lda, 1)
	w := qRandom(rng, n*k, 0.1)
	dense := make([]float32, m*k)
	for i := range m {
		copy(dense[i*k:(i+1)*k], x[i*lda:i*lda+k])
	}
	want := qgemmContract(dense, w, m, n, k)
	qb, err := QuantizeB(nil, w, n, k)
	require.NoError(t, err)
	c := make([]float32, m*ldc)
	for i := range c {
		c[i] = -7
	}
	Qgemm(m, x, lda, qb, c, ldc)
	for i := range m {
		require.Equal(t, -1, qFirstDiff(c[i*ldc:i*ldc+n], want[i*n:(i+1)*n]), "row %d", i)
		for j := n; j < ldc && i*ldc+j < len(c); j++ {
			require.Equal(t, float32(-7), c[i*ldc+j], "gap (%d, %d) written", i, j)
		}
	}
}

// TestQgemmNonFinite: a row holding an infinity or NaN gives NaN across its
// output row and leaves the other rows exact.
func TestQgemmNonFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 3, 18, 9
	x := qRandom(rng, m*k, 1)
	x[k+4] = float32(math.Inf(1))
	w := qRandom(rng, n*k, 0.1)
	qb, err := QuantizeB(nil, w, n, k)
	require.NoError(t, err)
	c := make([]float32, m*n)
	Qgemm(m, x, k, qb, c, n)
	want := qgemmContract(x, w, m, n, k)
	require.Equal(t, -1, qFirstDiff(c, want))
	for j := range n {
		require.True(t, math.IsNaN(float64(c[n+j])), "row 1 col %d: %v", j, c[n+j])
	}
	w[5] = float32(math.NaN())
	_, err = QuantizeB(nil, w, n, k)
	require.ErrorContains(t, err, "NaN")
}

// TestQgemmAccuracy: against the float64 product, the int8 result is off by
// at most a few per cent of the output's scale (7-bit activations, 8-bit
// weights), on shapes of BERT's products.
func TestQgemmAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 8, 64, 768
	x := qRandom(rng, m*k, 1)
	w := qRandom(rng, n*k, 0.03)
	qb, err := QuantizeB(nil, w, n, k)
	require.NoError(t, err)
	c := make([]float32, m*n)
	Qgemm(m, x, k, qb, c, n)
	var worst, scale float64
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += float64(x[i*k+p]) * float64(w[j*k+p])
			}
			worst = max(worst, math.Abs(float64(c[i*n+j])-s))
			scale = max(scale, math.Abs(s))
		}
	}
	t.Logf("max |int8 - exact| = %.4g, max |exact| = %.4g (%.2f%%)", worst, scale, 100*worst/scale)
	require.Less(t, worst, 0.03*scale)
}

// TestQuantizedBFrom rebuilds an operand from its bytes and scales, as a
// mapped file gives them, and refuses wrong sizes and non-zero padding.
func TestQuantizedBFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	n, k := 19, 6
	w := qRandom(rng, n*k, 0.2)
	qb, err := QuantizeB(nil, w, n, k)
	require.NoError(t, err)
	again, err := QuantizedBFrom(qb.Data, qb.Scale, n, k)
	require.NoError(t, err)
	require.Equal(t, qb.sum, again.sum)
	for j := range n {
		for p := range k {
			require.Equal(t, qb.At(j, p), again.At(j, p))
		}
	}
	_, err = QuantizedBFrom(qb.Data[1:], qb.Scale, n, k)
	require.Error(t, err)
	bad := append([]int8(nil), qb.Data...)
	bad[len(bad)-1] = 1 // channel 31 of the last sliver: padding
	_, err = QuantizedBFrom(bad, qb.Scale, n, k)
	require.ErrorContains(t, err, "padding")
	_, err = QuantizedBFrom(qb.Data, append([]float32{-1}, qb.Scale[1:]...), n, k)
	require.ErrorContains(t, err, "scale")
}

// TestQgemmNoAllocs: a call in steady state allocates nothing.
func TestQgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	m, n, k := 4, 32, 64
	x := qRandom(rng, m*k, 1)
	qb, err := QuantizeB(nil, qRandom(rng, n*k, 0.1), n, k)
	require.NoError(t, err)
	c := make([]float32, m*n)
	Qgemm(m, x, k, qb, c, n)
	require.Zero(t, testing.AllocsPerRun(20, func() { Qgemm(m, x, k, qb, c, n) }))
}
