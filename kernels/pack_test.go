package kernels

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// forEachPackRows is forEachVariant for packRowsOp, which has no NEON
// implementation (the NEON SGEMM packs with the Go loops): a NEON named in
// PETL_EXPECT_KERNELS is not required of it, every other expected variant
// is (AVX-512 runs the AVX2 pack, registered for it).
func forEachPackRows(t *testing.T, f func(t *testing.T, v Variant, pack packRowsFunc)) {
	t.Helper()
	for _, v := range expectedVariants(t) {
		if v != NEON && IsSupported(v) && !packRowsOp.has[v] {
			t.Errorf("packRows: variant %s expected on this machine but has no implementation", v)
		}
	}
	for _, v := range Supported() {
		if !packRowsOp.has[v] {
			t.Logf("packRows: no %s implementation (the Go loops run)", v)
			continue
		}
		pack := packRowsOp.impl[v]
		t.Run(v.String(), func(t *testing.T) { f(t, v, pack) })
	}
}

// packRowsCase is one call of a packRowsFunc.
type packRowsCase struct {
	rows, kc, ld, stride, off int
}

func (c packRowsCase) String() string {
	return fmt.Sprintf("rows=%d/kc=%d/ld=%d/stride=%d/off=%d", c.rows, c.kc, c.ld, c.stride, c.off)
}

// packRowsCases sweeps the shapes the blocked SGEMM packs with (stride = mr
// or nr of the AVX2, AVX-512 and NEON tiles: 6, 8, 12, 16, 32) and others:
// every row count up to a few past 16 (8-row and 6-row blocks, then single
// rows), kc (>= 1, as in SGEMM) below, at and around multiples of 8 and the
// block depths,
// leading dimensions equal to kc, longer, and shorter (rows that overlap),
// and offsets into a.
func packRowsCases() []packRowsCase {
	var cases []packRowsCase
	kcs := []int{1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 33, 64, 100, 160, 256, 300}
	for rows := 1; rows <= 20; rows++ {
		strides := []int{rows, rows + 3}
		for _, s := range []int{6, 8, 12, 16, 32} {
			if s > rows {
				strides = append(strides, s)
			}
		}
		for i, kc := range kcs {
			lds := []int{kc, kc + 1 + i%5}
			if kc > 3 {
				lds = append(lds, kc/2) // overlapping rows
			}
			if rows < 10 {
				lds = append(lds, 0) // every row the same
			}
			for j, ld := range lds {
				stride := strides[(i+j)%len(strides)]
				cases = append(cases, packRowsCase{rows, kc, ld, stride, (i + j) % 4})
			}
		}
		// Every stride at one deep, odd shape.
		for _, stride := range strides {
			cases = append(cases, packRowsCase{rows, 259, 263, stride, 1})
		}
	}
	return cases
}

// packRowsInput returns a (off + (rows-1)*ld + kc floats, every one distinct
// and among them NaN, infinities, -0 and subnormals, which must be moved
// bit for bit) and a destination of (kc-1)*stride+rows floats inside a
// larger buffer of guards (guardBits, guardN on each side).
func packRowsInput(c packRowsCase) (a, d, buf []float32, lo int) {
	a = make([]float32, c.off+(c.rows-1)*c.ld+c.kc)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32}
	for x := range a {
		a[x] = float32(x) + 0.5
		if x%37 == 3 {
			a[x] = special[x%len(special)]
		}
	}
	size := (c.kc-1)*c.stride + c.rows
	// d is all guards too: the floats between its packed columns must keep them.
	g := newGuarded(size, 0, func(int) float32 { return math.Float32frombits(guardBits) })
	return a, g.s(), g.all, g.off
}

// TestPackRows checks every variant's packRows against its definition, bit
// for bit: each packed value is the element of a it should be, every other
// float of the destination (between columns and around the slice) keeps its
// guard, and a is unchanged.
func TestPackRows(t *testing.T) {
	cases := packRowsCases()
	forEachPackRows(t, func(t *testing.T, v Variant, pack packRowsFunc) {
		for _, c := range cases {
			a, d, buf, lo := packRowsInput(c)
			orig := slices.Clone(a)
			pack(d, c.stride, a, c.off, c.ld, c.rows, c.kc)

			want := make([]uint32, len(buf))
			for x := range want {
				want[x] = guardBits
			}
			for i := 0; i < c.rows; i++ {
				for p := 0; p < c.kc; p++ {
					want[lo+p*c.stride+i] = math.Float32bits(a[c.off+i*c.ld+p])
				}
			}
			for x := range buf {
				if got := math.Float32bits(buf[x]); got != want[x] {
					t.Fatalf("%v: destination float %d (offset %d from d) = %#08x, want %#08x", c, x, x-lo, got, want[x])
				}
			}
			for x := range a {
				if math.Float32bits(a[x]) != math.Float32bits(orig[x]) {
					t.Fatalf("%v: a[%d] changed from %v to %v", c, x, orig[x], a[x])
				}
			}
		}
	})
}

// TestPackRowsBounds checks that every variant panics, as the Go loops do,
// rather than read or write past its slices.
func TestPackRowsBounds(t *testing.T) {
	forEachPackRows(t, func(t *testing.T, v Variant, pack packRowsFunc) {
		for _, rows := range []int{6, 8, 16} {
			c := packRowsCase{rows: rows, kc: 24, ld: 30, stride: 16}
			a, d, _, _ := packRowsInput(c)
			require.NotPanics(t, func() { pack(d, c.stride, a, 0, c.ld, rows, c.kc) }, "%v", c)
			short := func(s []float32) []float32 { return s[: len(s)-1 : len(s)-1] }
			require.Panics(t, func() { pack(short(d), c.stride, a, 0, c.ld, rows, c.kc) }, "%v: d one short", c)
			require.Panics(t, func() { pack(d, c.stride, short(a), 0, c.ld, rows, c.kc) }, "%v: a one short", c)
			require.Panics(t, func() { pack(d, c.stride, a, 1, c.ld, rows, c.kc) }, "%v: offset past a", c)
		}
	})
}

// BenchmarkPackRows measures packRows of each variant on the blocks the
// blocked SGEMM packs in a BERT-base linear layer (Y = X W^T, ld = 768):
// 16-column slivers of W (stride nr = 16, AVX2) and 6-row slivers of X
// (stride mr = 6), kc = 256, from cache. a has 32 rows more than are packed,
// as the rest of the matrix would be (the 8-row pack prefetches ahead).
func BenchmarkPackRows(b *testing.B) {
	for _, c := range []packRowsCase{
		{rows: 16, kc: 256, ld: 768, stride: 16},
		{rows: 6, kc: 256, ld: 768, stride: 6},
	} {
		big := c
		big.rows += 32
		a, _, _, _ := packRowsInput(big)
		_, d, _, _ := packRowsInput(c)
		for _, v := range Supported() {
			if !packRowsOp.has[v] {
				continue
			}
			pack := packRowsOp.impl[v]
			b.Run(fmt.Sprintf("rows=%d/stride=%d/%s", c.rows, c.stride, v), func(b *testing.B) {
				b.SetBytes(int64(4 * c.rows * c.kc))
				for b.Loop() {
					pack(d, c.stride, a, 0, c.ld, c.rows, c.kc)
				}
			})
		}
	}
}

// BenchmarkPackBTransposed measures packB of each variant on transposed
// weights that come from memory rather than cache, as in a linear layer at
// batch 1 (Y = X W^T, W [768 x 768] row-major, each weight read once per
// forward pass): every iteration packs all of one W from a pool of 96 MiB,
// 16-column slivers, kc = 256, as the AVX2 SGEMM does.
func BenchmarkPackBTransposed(b *testing.B) {
	const n, k, kc, nr = 768, 768, 256, 16
	pool := make([][]float32, 96<<20/(4*n*k))
	for q := range pool {
		pool[q] = make([]float32, n*k)
		for x := range pool[q] {
			pool[q][x] = float32(x % 1000)
		}
	}
	dst := make([]float32, n*kc)
	defer SetVariant(Active())
	for _, v := range Supported() {
		if !packRowsOp.has[v] {
			continue
		}
		b.Run(v.String(), func(b *testing.B) {
			require.NoError(b, SetVariant(v))
			b.SetBytes(4 * n * k)
			q := 0
			for b.Loop() {
				w := pool[q%len(pool)]
				q++
				for pc := 0; pc < k; pc += kc {
					packB(dst, nr*kc, nr, true, w, k, pc, kc, 0, n)
				}
			}
		})
	}
}
