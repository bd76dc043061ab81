package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSgemmPackedBitwise checks that a product by a B packed ahead of time
// gives, bit for bit, what Sgemm gives on the source, for every variant and
// thread count, whatever C's surroundings: the guard values around and
// between C's rows stay untouched.
func TestSgemmPackedBitwise(t *testing.T) {
	defer SetThreads(0)
	defer SetVariant(Active())
	shapes := []sgemmCase{
		{m: 128, n: 768, k: 768, alpha: 1, beta: 0, tB: true},         // a BERT-base projection, batch 1
		{m: 37, n: 200, k: 96, alpha: 1, beta: 0, tB: true, padA: 3},  // odd shape, edge tiles
		{m: 301, n: 257, k: 531, alpha: 0.5, beta: 2, padC: 5},        // k blocks of unequal use, beta
		{m: 5, n: 900, k: 300, alpha: -1, beta: 1, tB: true, padB: 1}, // few rows: column split
		{m: 700, n: 9, k: 70, alpha: 1, beta: 0, tA: true},            // transposed A
		{m: 2, n: 3, k: 4, alpha: 1, beta: 0},                         // small: no packing
	}
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		require.NoError(t, SetVariant(v))
		rng := rand.New(rand.NewPCG(9, uint64(v)))
		for _, cs := range shapes {
			in := newSgemmInputs(cs, rng)
			_, shape := PackedBLayout(cs.k, cs.n)
			var dst []float32
			if shape != nil {
				dst = make([]float32, packedSize(shape))
			}
			pb := PackB(dst, cs.tB, cs.k, cs.n, in.b.data, in.b.ld)
			require.Equal(t, v != Generic, pb.Packed(), "%v", cs)
			SetThreads(1)
			want := in.call(impl)
			for _, th := range []int{1, 2, 3} {
				SetThreads(th)
				got := in.call(func(tA, _ bool, m, _, _ int, alpha float32, a []float32, lda int, _ []float32, _ int, beta float32, c []float32, ldc int) {
					SgemmPacked(tA, m, alpha, a, lda, pb, beta, c, ldc)
				})
				for x := range got {
					if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
						t.Fatalf("%v, threads=%d: C buffer index %d = %v, Sgemm gives %v", cs, th, x-guardN, got[x], want[x])
					}
				}
			}
			in.checkAB(t)
		}
	})
}

// TestPackedBOtherVariant checks that an operand packed for one variant is
// not used by another (the product falls back to the source, with that
// variant's result), and that PackedBFrom refuses a layout that does not fit.
func TestPackedBOtherVariant(t *testing.T) {
	defer SetVariant(Active())
	cs := sgemmCase{m: 50, n: 70, k: 300, alpha: 1, tB: true}
	in := newSgemmInputs(cs, rand.New(rand.NewPCG(10, 0)))
	v, shape := PackedBLayout(cs.k, cs.n)
	size := packedSize(shape)
	if size == 0 {
		t.Skipf("variant %v has no packed layout", v)
	}
	data := make([]float32, size)
	pb := PackB(data, true, cs.k, cs.n, in.b.data, in.b.ld)

	again, err := PackedBFrom(slices.Clone(data), v, true, cs.k, cs.n, in.b.data, in.b.ld)
	require.NoError(t, err)
	require.True(t, again.Packed())
	_, err = PackedBFrom(data[:size-1], v, true, cs.k, cs.n, in.b.data, in.b.ld)
	require.ErrorContains(t, err, "packed floats")
	_, err = PackedBFrom(data, v, true, cs.k+1, cs.n, make([]float32, cs.n*(cs.k+1)), cs.k+1)
	require.Error(t, err)

	require.NoError(t, SetVariant(Generic))
	_, err = PackedBFrom(data, v, true, cs.k, cs.n, in.b.data, in.b.ld)
	require.ErrorContains(t, err, "active variant is generic")
	require.False(t, pb.Packed())
	want := in.call(sgemmOp.get(Generic))
	got := in.call(func(tA, _ bool, m, _, _ int, alpha float32, a []float32, lda int, _ []float32, _ int, beta float32, c []float32, ldc int) {
		SgemmPacked(tA, m, alpha, a, lda, pb, beta, c, ldc)
	})
	requireSameBits(t, "C buffer", got, want)
}

// TestSgemmPackedNoAllocs checks that a steady-state product by a packed B
// allocates nothing.
func TestSgemmPackedNoAllocs(t *testing.T) {
	defer SetThreads(0)
	cs := sgemmCase{m: 100, n: 120, k: 130, alpha: 1, tB: true}
	in := newSgemmInputs(cs, rand.New(rand.NewPCG(11, 0)))
	_, shape := PackedBLayout(cs.k, cs.n)
	pb := PackB(make([]float32, packedSize(shape)), true, cs.k, cs.n, in.b.data, in.b.ld)
	c := make([]float32, cs.m*cs.n)
	for _, th := range []int{1, 2} {
		SetThreads(th)
		allocs := testing.AllocsPerRun(20, func() {
			SgemmPacked(false, cs.m, 1, in.a.data, in.a.ld, pb, 0, c, cs.n)
		})
		require.Zero(t, allocs, "threads=%d", th)
	}
}

// TestPackedBVerify checks the layout PackB writes against its description,
// element by element (Verify with a sample at every float), and that
// Verify notices a changed float, in the data or in the source.
func TestPackedBVerify(t *testing.T) {
	for _, cs := range []sgemmCase{
		{n: 200, k: 531, tB: true}, // three k blocks of 177, a partial sliver
		{n: 33, k: 300},            // B not transposed, two k blocks of 150
		{n: 768, k: 768, tB: true, padB: 4},
	} {
		in := newSgemmInputs(sgemmCase{m: 1, n: cs.n, k: cs.k, tB: cs.tB, padB: cs.padB}, rand.New(rand.NewPCG(12, uint64(cs.k))))
		_, shape := PackedBLayout(cs.k, cs.n)
		if shape == nil {
			t.Skip("the active variant has no packed layout")
		}
		data := make([]float32, packedSize(shape))
		pb := PackB(data, cs.tB, cs.k, cs.n, in.b.data, in.b.ld)
		require.NoError(t, pb.Verify(len(data)), "%v", cs)
		require.NoError(t, pb.Verify(1), "%v", cs)

		x := len(data) / 3
		data[x] = math.Nextafter32(data[x], 10)
		err := pb.Verify(len(data))
		require.ErrorContains(t, err, fmt.Sprintf("float %d ", x), "%v", cs)
		data[x] = math.Nextafter32(data[x], -10)

		in.b.data[0]++ // element (0, 0), the first float of the packing
		require.Error(t, pb.Verify(2), "%v", cs)
		in.b.data[0]--
	}
}
