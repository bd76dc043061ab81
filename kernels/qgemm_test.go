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
		if math.IsInf(float64(hi-lo), 0) {
			bad = true // the range overflows float32
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

// qPath is one way a variant computes its tiles, where it has several
// (AVX-512: VNNI or BW; NEON: SDOT or the plain fallback).
type qPath struct {
	name string
	v    qVariant
}

// qgemmPaths lists, per variant, every path this machine can run, whichever
// init chose; the architecture's tests fill it. A variant without an entry
// is tested with the tile it registered.
var qgemmPaths = map[Variant][]qPath{}

// qPathsOf returns the paths of v to test.
func qPathsOf(v Variant) []qPath {
	if p := qgemmPaths[v]; len(p) > 0 {
		return p
	}
	return []qPath{{"registered", qgemmOp.impl[v]}}
}

// withQPath runs f with p registered as v's qgemm tile (the test hook that
// runs a path init did not choose, such as NEON's fallback on a CPU with
// SDOT).
func withQPath(v Variant, p qVariant, f func()) {
	saved := qgemmOp.impl[v]
	defer func() { qgemmOp.impl[v] = saved }()
	qgemmOp.impl[v] = p
	f()
}

// forEachQPath runs f for every variant (forEachVariant: an expected
// variant without a qgemm tile fails) and every path of it, with the
// variant active and the path registered.
func forEachQPath(t *testing.T, f func(t *testing.T, v Variant, p qPath)) {
	saved, savedThreads := Active(), Threads()
	defer func() { SetVariant(saved); SetThreads(savedThreads) }()
	forEachVariant(t, qgemmOp, func(t *testing.T, v Variant, _ qVariant) {
		require.NoError(t, SetVariant(v))
		for _, p := range qPathsOf(v) {
			t.Run(p.name, func(t *testing.T) { withQPath(v, p.v, func() { f(t, v, p) }) })
		}
	})
}

// TestQgemmVariants checks every int8 variant and path this machine runs,
// at 1, 2 and 3 threads, on odd shapes (partial slivers, k not a multiple
// of 4, row counts around every tile height, k up to 3072, rows in several
// chunks), bitwise against the contract.
func TestQgemmVariants(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 16, 4}, {3, 17, 5}, {4, 15, 3}, {5, 33, 7}, {9, 48, 64}, {17, 31, 129},
		{13, 40, 768}, {64, 96, 300}, {11, 18, 6}, {12, 16, 8}, {25, 50, 770}, {7, 20, 3072}, {26, 47, 1023},
		{101, 33, 3072}} // the last: several chunks of row blocks (qChunkBytes), the last partial
	forEachQPath(t, func(t *testing.T, v Variant, p qPath) {
		rng := rand.New(rand.NewPCG(7, 8))
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
				require.Equal(t, -1, i, "%s %s %dx%dx%d threads %d: first difference at %d", v, p.name, m, n, k, th, i)
			}
		}
	})
}

// TestQgemmExtremes: the largest sums the contract allows (activations
// all 127 or all 0, so -64 stored signed; weights all ±127; k = 3072)
// come out exact in every variant: nothing saturates or wraps.
func TestQgemmExtremes(t *testing.T) {
	const m, n, k = 6, 21, 3072
	rng := rand.New(rand.NewPCG(13, 14))
	x := make([]float32, m*k)
	w := make([]float32, n*k)
	for p := range k {
		x[0*k+p] = 1                  // q = 127, zp = 0
		x[1*k+p] = -1                 // q = 0, zp = 127
		x[2*k+p] = float32(p%2)*2 - 1 // q = 0 or 127 alternately
		x[3*k+p] = float32(rng.IntN(2))
		x[4*k+p] = -float32(rng.IntN(2))
		x[5*k+p] = float32(rng.NormFloat64())
		for j := range n {
			s := float32(0.5)
			switch {
			case j == 1:
				s = -0.5
			case j == 2 && p%2 == 1, j == 3 && (p/2)%2 == 1:
				s = -0.5
			case j >= 4 && rng.IntN(2) == 0:
				s = -0.5
			}
			w[j*k+p] = s
		}
	}
	want := qgemmContract(x, w, m, n, k)
	require.InDelta(t, float64(k)*0.5, want[0], 1e-3*float64(k))
	require.InDelta(t, -float64(k)*0.5, want[1], 1e-3*float64(k))
	qb, err := QuantizeB(nil, w, n, k)
	require.NoError(t, err)
	forEachQPath(t, func(t *testing.T, v Variant, p qPath) {
		for _, th := range []int{1, 2} {
			SetThreads(th)
			c := make([]float32, m*n)
			Qgemm(m, x, k, qb, c, n)
			i := qFirstDiff(c, want)
			require.Equal(t, -1, i, "%s %s threads %d: first difference at %d", v, p.name, th, i)
		}
	})
}

// TestQgemmTiles checks every tile directly against its contract on
// random and extreme bytes (activations over the whole stored range,
// weights over -127..127), rows lda > kp apart, random zero points and
// scales (a NaN scale among them), and that it writes the mr x 16 floats of
// c ldc apart and nothing else (guards around and between the rows).
func TestQgemmTiles(t *testing.T) {
	forEachQPath(t, func(t *testing.T, v Variant, p qPath) {
		rng := rand.New(rand.NewPCG(15, 16))
		mr := p.v.mr
		lo, hi := 0, 127 // the stored activations
		if p.v.signed {
			lo, hi = -64, 63
		}
		for _, kp := range []int{4, 8, 12, 16, 20, 28, 60, 64, 68, 124, 768, 3072} {
			for _, fill := range []string{"random", "max", "min"} {
				lda, ldc := kp+5, QNR+3
				a := make([]byte, (mr-1)*lda+kp)
				b := make([]int8, QNR*kp)
				for i := range a {
					switch fill {
					case "random":
						a[i] = byte(int8(lo + rng.IntN(hi-lo+1)))
					case "max":
						a[i] = byte(int8(hi))
					default:
						a[i] = byte(int8(lo))
					}
				}
				for i := range b {
					switch fill {
					case "random":
						b[i] = int8(rng.IntN(255) - 127)
					case "max":
						b[i] = int8(127 - 254*((i/QKG)%2)) // channels alternately +127 and -127
					default:
						b[i] = -127
					}
				}
				zp, sa := make([]int32, mr), make([]float32, mr)
				for r := range mr {
					zp[r] = int32(rng.IntN(128)) - 64
					sa[r] = rng.Float32() / 64
				}
				sa[mr-1] = float32(math.NaN())
				sum, scale := make([]int32, QNR), make([]float32, QNR)
				for j := range QNR {
					sum[j] = int32(rng.IntN(2*127*kp+1) - 127*kp)
					scale[j] = rng.Float32() / 127
				}
				cb := newGuarded((mr-1)*ldc+QNR, 3, fillUnwritten)
				for r := range mr - 1 { // guards between the rows too
					for j := QNR; j < ldc; j++ {
						cb.s()[r*ldc+j] = math.Float32frombits(guardBits)
					}
				}
				p.v.tile(cb.s(), ldc, a, lda, b, kp, zp, sa, sum, scale)
				c := cb.s()
				for r := range mr {
					for j := range QNR {
						var s int32
						for q := range kp {
							av := int32(a[r*lda+q])
							if p.v.signed {
								av = int32(int8(a[r*lda+q]))
							}
							s += av * int32(b[(q/QKG)*QNR*QKG+j*QKG+q%QKG])
						}
						want := float32(s-zp[r]*sum[j]) * (sa[r] * scale[j])
						require.Equal(t, -1, qFirstDiff(c[r*ldc+j:][:1], []float32{want}),
							"%s %s kp=%d %s: row %d channel %d: %v, want %v (sum %d)", v, p.name, kp, fill, r, j, c[r*ldc+j], want, s)
					}
					if r < mr-1 {
						for j := QNR; j < ldc; j++ {
							require.True(t, isGuard(c[r*ldc+j]), "%s %s kp=%d: c[%d] between rows written", v, p.name, kp, r*ldc+j)
						}
					}
				}
				for i, x := range cb.all {
					if i < cb.off || i >= cb.off+cb.n {
						require.True(t, isGuard(x), "%s %s kp=%d: guard %d written", v, p.name, kp, i)
					}
				}
			}
		}
	})
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

// TestQuantizeRowRounding checks the rounding of quantizeRow against
// math.RoundToEven on every float32 product that lands within the
// quantized range, in steps, and on exact halves.
func TestQuantizeRowRounding(t *testing.T) {
	for _, tv := range []float32{0.5, 1.5, 2.5, -0.5, -1.5, 126.5, -126.5, 63.49999, 63.50001, 0, -0} {
		got := math.Float32bits(tv+roundMagic)&(1<<23-1) - 1<<22
		require.Equal(t, int32(math.RoundToEven(float64(tv))), int32(got), "%v", tv)
	}
	for bits := math.Float32bits(-130); bits > math.Float32bits(-0.0001); bits -= 97 {
		tv := math.Float32frombits(bits)
		got := int32(math.Float32bits(tv+roundMagic)&(1<<23-1)) - 1<<22
		require.Equal(t, int32(math.RoundToEven(float64(tv))), got, "%v", tv)
	}
	for bits := uint32(0); bits < math.Float32bits(130); bits += 97 {
		tv := math.Float32frombits(bits)
		got := int32(math.Float32bits(tv+roundMagic)&(1<<23-1)) - 1<<22
		require.Equal(t, int32(math.RoundToEven(float64(tv))), got, "%v", tv)
	}
}

// TestQgemmRangeOverflow: a row whose range overflows float32 gives NaN.
func TestQgemmRangeOverflow(t *testing.T) {
	x := []float32{3e38, -3e38, 1, 2}
	qb, err := QuantizeB(nil, []float32{1, 1, 1, 1}, 1, 4)
	require.NoError(t, err)
	c := []float32{0}
	Qgemm(1, x, 4, qb, c, 1)
	require.True(t, math.IsNaN(float64(c[0])), "%v", c[0])
}
