package kernels

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Tolerance. An implementation that sums the k products of a dot product in
// float32 in any order (one FMA or one multiply and one add per product, with
// k blocks merged through C), then multiplies by alpha and adds beta*c,
// rounds at most 2k+4 times along any path, so its result differs from the
// exact value by at most (2k+4)*u*(|alpha|*S + |beta*c|) to first order,
// where u = 2^-24 is float32's unit roundoff and S = sum_p |a_ip*b_pj|
// (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1). Two such
// implementations differ by at most twice that. The summation order differs
// between the reference and the blocked, vectorised kernels, so results may
// differ by that much but no more.
//
// sgemmTol returns that bound, with a floor for results in the subnormal
// range. s may be S itself (checks against the exact value) or its
// Cauchy-Schwarz bound |a_i|*|b_j| (checks against the reference, where
// computing S for every element would cost as much as the product): on these
// random inputs the two are within a factor of about 1.5, and the bound stays
// far below the error of a single wrong or missing product for the k tested.
func sgemmTol(k int, alpha, beta float32, s, c float64) float64 {
	const u = 1.0 / (1 << 24)
	return 2*float64(2*k+4)*u*(math.Abs(float64(alpha))*s+math.Abs(float64(beta)*c)) + 1e-37
}

// sgemmCase is one product to check.
type sgemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	padA, padB  int // leading dimension minus row width
	padC        int
}

func (cs sgemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%g beta=%g pad=%d,%d,%d", t(cs.tA), t(cs.tB), cs.m, cs.n, cs.k, cs.alpha, cs.beta, cs.padA, cs.padB, cs.padC)
}

// matrix is a rows x cols row-major matrix with leading dimension ld inside a
// buffer with guard values (guardBits) before, after and between the rows.
type matrix struct {
	rows, cols, ld int
	buf            []float32
	data           []float32 // buf[guardN:], exactly as long as needed
}

func newMatrix(rows, cols, pad int, rng *rand.Rand) matrix {
	ld := max(1, cols+pad)
	need := 0
	if rows > 0 && cols > 0 {
		need = (rows-1)*ld + cols
	}
	buf := make([]float32, need+2*guardN)
	for i := range buf {
		buf[i] = math.Float32frombits(guardBits)
	}
	mt := matrix{rows: rows, cols: cols, ld: ld, buf: buf, data: buf[guardN : guardN+need]}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			mt.data[i*ld+j] = rng.Float32()*2 - 1
		}
	}
	return mt
}

func (mt matrix) at(i, j int) float32 { return mt.data[i*mt.ld+j] }

// inside reports whether buffer index x holds an element of the matrix.
func (mt matrix) inside(x int) bool {
	x -= guardN
	if x < 0 || x >= len(mt.data) {
		return false
	}
	return x%mt.ld < mt.cols
}

// sgemmInputs holds the operands of one case.
type sgemmInputs struct {
	sgemmCase
	a, b, c matrix
	c0      []float32 // c.buf before the call
	a0, b0  []float32 // a.buf and b.buf as made (poisoned values included)

	normA, normB []float64 // Euclidean norms of the rows of op(A), columns of op(B)
}

// norms fills normA and normB.
func (in *sgemmInputs) norms() {
	in.normA = make([]float64, in.m)
	in.normB = make([]float64, in.n)
	for p := 0; p < in.k; p++ {
		for i := range in.normA {
			x := float64(in.opA(i, p))
			in.normA[i] += x * x
		}
		for j := range in.normB {
			x := float64(in.opB(p, j))
			in.normB[j] += x * x
		}
	}
	for i := range in.normA {
		in.normA[i] = math.Sqrt(in.normA[i])
	}
	for j := range in.normB {
		in.normB[j] = math.Sqrt(in.normB[j])
	}
}

func newSgemmInputs(cs sgemmCase, rng *rand.Rand) *sgemmInputs {
	in := &sgemmInputs{sgemmCase: cs}
	ar, ac := cs.m, cs.k
	if cs.tA {
		ar, ac = ac, ar
	}
	br, bc := cs.k, cs.n
	if cs.tB {
		br, bc = bc, br
	}
	in.a = newMatrix(ar, ac, cs.padA, rng)
	in.b = newMatrix(br, bc, cs.padB, rng)
	in.c = newMatrix(cs.m, cs.n, cs.padC, rng)
	in.c0 = slices.Clone(in.c.buf)
	in.a0, in.b0 = slices.Clone(in.a.buf), slices.Clone(in.b.buf)
	return in
}

// opA returns op(A)(i, p).
func (in *sgemmInputs) opA(i, p int) float32 {
	if in.tA {
		return in.a.at(p, i)
	}
	return in.a.at(i, p)
}

// opB returns op(B)(p, j).
func (in *sgemmInputs) opB(p, j int) float32 {
	if in.tB {
		return in.b.at(j, p)
	}
	return in.b.at(p, j)
}

// call runs f on fresh copies of C (A and B are shared and must not change)
// and returns C's buffer.
func (in *sgemmInputs) call(f sgemmFunc) []float32 {
	cbuf := slices.Clone(in.c0)
	c := cbuf[guardN : guardN+len(in.c.data)]
	f(in.tA, in.tB, in.m, in.n, in.k, in.alpha, in.a.data, in.a.ld, in.b.data, in.b.ld, in.beta, c, in.c.ld)
	return cbuf
}

// exact returns alpha*sum_p opA(i,p)*opB(p,j) + beta*c0(i,j) in float64,
// sum_p |opA(i,p)*opB(p,j)| and c0(i, j), following Sgemm's rules for alpha
// == 0 and beta == 0.
func (in *sgemmInputs) exact(i, j int) (val, s, c float64) {
	c = float64(in.c0[guardN+i*in.c.ld+j])
	var dot float64
	if in.alpha != 0 {
		for p := 0; p < in.k; p++ {
			x := float64(in.opA(i, p)) * float64(in.opB(p, j))
			dot += x
			s += math.Abs(x)
		}
	}
	val = float64(in.alpha) * dot
	if in.beta != 0 {
		val += float64(in.beta) * c
	} else {
		c = 0
	}
	return val, s, c
}

// sameClass reports whether x and y are both NaN, or the same infinity, or
// both finite.
func sameClass(x, y float32) bool {
	switch {
	case x != x || y != y:
		return x != x && y != y
	case math.IsInf(float64(x), 0) || math.IsInf(float64(y), 0):
		return x == y
	}
	return true
}

// check compares got (C's buffer after the call) with want (the reference's)
// at the elements that sel selects (nil: all), and checks that nothing
// outside C and nothing in A or B changed. At most exactN of the selected
// elements (spread over C) are also checked against the exact value. It
// stops the test at the first bad element.
func (in *sgemmInputs) check(t *testing.T, got, want []float32, sel func(i, j int) bool, exactN int) {
	t.Helper()
	for x, v := range got {
		if !in.c.inside(x) && math.Float32bits(v) != math.Float32bits(in.c0[x]) {
			t.Fatalf("%v: C buffer index %d outside the matrix changed from %v to %v", in.sgemmCase, x-guardN, in.c0[x], v)
		}
	}
	if in.normA == nil {
		in.norms()
	}
	exactEvery := max(1, in.m*in.n/max(1, exactN))
	for i := 0; i < in.m; i++ {
		for j := 0; j < in.n; j++ {
			if sel != nil && !sel(i, j) {
				continue
			}
			x := guardN + i*in.c.ld + j
			g, w := got[x], want[x]
			if !sameClass(g, w) {
				t.Fatalf("%v: C[%d,%d] = %v, reference %v", in.sgemmCase, i, j, g, w)
			}
			if g != g || math.IsInf(float64(g), 0) {
				continue
			}
			c := float64(in.c0[x])
			tol := sgemmTol(in.k, in.alpha, in.beta, in.normA[i]*in.normB[j], c)
			if d := math.Abs(float64(g) - float64(w)); d > tol {
				t.Fatalf("%v: C[%d,%d] = %v, reference %v: differ by %.3g > tolerance %.3g", in.sgemmCase, i, j, g, w, d, tol)
			}
			if (i*in.n+j)%exactEvery != 0 || exactN == 0 {
				continue
			}
			val, s, c := in.exact(i, j)
			tol = sgemmTol(in.k, in.alpha, in.beta, s, c) / 2 // one implementation against the exact value
			for _, v := range []struct {
				name string
				x    float32
			}{{"result", g}, {"reference", w}} {
				if d := math.Abs(float64(v.x) - val); d > tol {
					t.Fatalf("%v: C[%d,%d]: %s %v, exact %v: differ by %.3g > tolerance %.3g", in.sgemmCase, i, j, v.name, v.x, val, d, tol)
				}
			}
		}
	}
	in.checkAB(t)
}

// checkAB fails if A or B (or their guards) changed.
func (in *sgemmInputs) checkAB(t *testing.T) {
	t.Helper()
	for _, mt := range []struct {
		name      string
		now, then []float32
	}{{"A", in.a.buf, in.a0}, {"B", in.b.buf, in.b0}} {
		for x, v := range mt.now {
			if math.Float32bits(v) != math.Float32bits(mt.then[x]) {
				t.Fatalf("%v: %s buffer index %d changed from %v to %v", in.sgemmCase, mt.name, x-guardN, mt.then[x], v)
			}
		}
	}
}

// runSgemmCase checks f on one case against sgemmGeneric at every element.
func runSgemmCase(t *testing.T, f sgemmFunc, cs sgemmCase, rng *rand.Rand) {
	t.Helper()
	in := newSgemmInputs(cs, rng)
	want := in.call(sgemmGeneric)
	got := in.call(f)
	in.check(t, got, want, nil, 64)
}

var (
	sgemmAlphas = []float32{0, 1, -0.5}
	sgemmBetas  = []float32{0, 1, 2}
	sgemmTrans  = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}
)

// TestSgemmAllSmallShapes checks every m, n, k in 0..33 for the four
// transpose cases. alpha and beta rotate across shapes; every (alpha, beta)
// pair occurs for every transpose case and every k. For each k, the operands
// are one 33 x k op(A), k x 33 op(B) and 33 x 33 C (with padded leading
// dimensions), and the m x n products use their leading rows and columns:
// the reference's result for those is the same sub-block of its 33 x 33
// result, so it runs once per (k, alpha, beta) rather than once per shape.
func TestSgemmAllSmallShapes(t *testing.T) {
	const top = 33
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		if v == Generic {
			t.Skip("the reference itself: checked against float64 in the other tests")
		}
		rng := rand.New(rand.NewPCG(1, uint64(v)))
		for _, tr := range sgemmTrans {
			seen := map[[2]float32]bool{}
			for k := 0; k <= top; k++ {
				in := newSgemmInputs(sgemmCase{tA: tr[0], tB: tr[1], m: top, n: top, k: k, padA: k % 3, padB: 1 + k%2, padC: 2}, rng)
				in.norms()
				var refs [9][]float32
				cbuf := slices.Clone(in.c0)
				for m := 0; m <= top; m++ {
					for n := 0; n <= top; n++ {
						combo := (m*(top+1) + n + k) % 9
						sub := *in // same operands, this shape and combination
						sub.m, sub.n = m, n
						sub.alpha, sub.beta = sgemmAlphas[combo%3], sgemmBetas[combo/3]
						if refs[combo] == nil {
							full := sub
							full.m, full.n = top, top
							refs[combo] = full.call(sgemmGeneric)
							// The reference against the exact value, on a sample.
							full.check(t, refs[combo], refs[combo], nil, 97)
						}
						seen[[2]float32{sub.alpha, sub.beta}] = true
						c := cbuf[guardN:guardN] // exactly as long as needed
						if m > 0 && n > 0 {
							c = cbuf[guardN : guardN+(m-1)*in.c.ld+n]
						}
						impl(sub.tA, sub.tB, m, n, k, sub.alpha, in.a.data, in.a.ld, in.b.data, in.b.ld, sub.beta, c, in.c.ld)
						sub.checkSub(t, cbuf, refs[combo])
					}
				}
				// Stray writes outside the products: C's buffer is only
				// restored inside them, so any write elsewhere is still there.
				for x, g := range cbuf {
					if math.Float32bits(g) != math.Float32bits(in.c0[x]) {
						t.Fatalf("trans=%v k=%d: C buffer index %d outside the products changed from %v to %v", tr, k, x-guardN, in.c0[x], g)
					}
				}
				in.checkAB(t)
			}
			require.Len(t, seen, 9, "alpha/beta pairs covered for trans=%v", tr)
		}
	})
}

// checkSub checks C's buffer got after an in.m x in.n product on the leading
// part of larger operands against want, then restores the product's part of
// got from in.c0.
func (in *sgemmInputs) checkSub(t *testing.T, got, want []float32) {
	t.Helper()
	for i := 0; i < in.m; i++ {
		row := guardN + i*in.c.ld
		for j := 0; j < in.n; j++ {
			g, w, c := got[row+j], want[row+j], in.c0[row+j]
			tol := sgemmTol(in.k, in.alpha, in.beta, in.normA[i]*in.normB[j], float64(c))
			if d := math.Abs(float64(g) - float64(w)); !(d <= tol) {
				t.Fatalf("%v: C[%d,%d] = %v, reference %v: differ by %.3g > tolerance %.3g", in.sgemmCase, i, j, g, w, d, tol)
			}
			got[row+j] = c
		}
	}
}

// bertShapes are the products of a BERT-base layer with 1024 tokens, as in
// ../shared/anchors/sgemm_openblas.c.
var bertShapes = []sgemmCase{
	{m: 1024, n: 768, k: 768},                             // Q, K, V, output projections
	{m: 1024, n: 3072, k: 768},                            // FFN up
	{m: 1024, n: 768, k: 3072},                            // FFN down
	{m: 1024, n: 768, k: 3072, tB: true},                  // backward dX = dY * W^T
	{m: 768, n: 3072, k: 1024, tA: true},                  // backward dW = X^T * dY
	{m: 1024, n: 768, k: 768, tA: true, tB: true},         // both transposed
	{m: 1024, n: 768, k: 768, alpha: -0.5, beta: 2},       // accumulate into C
	{m: 1000, n: 3000, k: 100, padA: 3, padC: 1, beta: 1}, // ragged
	// The MLM decoder's gradient dE += dlogitsᵀ·h: the rows of the
	// transposed A lie farRows and more apart (packed in taller blocks, four
	// rows at a time).
	{m: 4099, n: 128, k: 473, tA: true, padA: 5, beta: 1},
}

// TestSgemmLargeShapes checks BERT-sized and random larger products on
// sampled rows and columns: the reference runs only on those rows, and every
// element in them and in the sampled columns is checked against the exact
// value; everything outside C is checked for stray writes.
func TestSgemmLargeShapes(t *testing.T) {
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		rng := rand.New(rand.NewPCG(2, uint64(v)))
		cases := slices.Clone(bertShapes)
		emulated := sgemmEmulated()
		for i := range cases {
			if cases[i].alpha == 0 {
				cases[i].alpha = 1
			}
			if emulated {
				// Under emulation a BERT-sized product takes half a minute:
				// keep k and n, which drive the blocking, and cut m.
				cases[i].m = 100
			}
		}
		for range 6 {
			cases = append(cases, sgemmCase{
				tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0,
				m: 1 + rng.IntN(600), n: 1 + rng.IntN(600), k: 1 + rng.IntN(1200),
				alpha: sgemmAlphas[1+rng.IntN(2)], beta: sgemmBetas[rng.IntN(3)],
				padA: rng.IntN(9), padB: rng.IntN(9), padC: rng.IntN(9),
			})
		}
		for _, cs := range cases {
			if v == Generic && cs.m*cs.n*cs.k > 1e7 {
				continue // the reference against itself: little to learn, slow under -race
			}
			in := newSgemmInputs(cs, rng)
			rows := sampleIndices(cs.m, rng)
			cols := sampleIndices(cs.n, rng)
			got := in.call(impl)
			// The reference on the sampled rows and columns only: row i of C
			// depends on row i of op(A) alone, column j on column j of op(B).
			want := slices.Clone(in.c0)
			for i := range rows {
				ai := in.a.data[i:] // column i of A
				if !cs.tA {
					ai = in.a.data[i*in.a.ld:] // row i of A
				}
				sgemmGeneric(cs.tA, cs.tB, 1, cs.n, cs.k, cs.alpha, ai, in.a.ld, in.b.data, in.b.ld, cs.beta, want[guardN+i*in.c.ld:], in.c.ld)
			}
			wantCols := slices.Clone(in.c0)
			for j := range cols {
				bj := in.b.data[j:] // column j of B
				if cs.tB {
					bj = in.b.data[j*in.b.ld:] // row j of B
				}
				sgemmGeneric(cs.tA, cs.tB, cs.m, 1, cs.k, cs.alpha, in.a.data, in.a.ld, bj, in.b.ld, cs.beta, wantCols[guardN+j:], in.c.ld)
				for i := 0; i < cs.m; i++ {
					want[guardN+i*in.c.ld+j] = wantCols[guardN+i*in.c.ld+j]
				}
			}
			in.check(t, got, want, func(i, j int) bool { return rows[i] || cols[j] }, 200)
		}
	})
}

// sgemmEmulated reports whether this arm64 test binary runs under user-mode
// emulation (qemu-aarch64 on an x86 host, as `make test-arm64` does): there
// /proc/cpuinfo is the host's, with x86 fields.
func sgemmEmulated() bool {
	if runtime.GOARCH != "arm64" {
		return false
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && bytes.Contains(info, []byte("vendor_id"))
}

// sampleIndices picks the first and last few indices in [0, n) (the edge
// tiles) and a few at random.
func sampleIndices(n int, rng *rand.Rand) map[int]bool {
	sel := map[int]bool{}
	for i := 0; i < min(n, 2); i++ {
		sel[i] = true
		sel[n-1-i] = true
	}
	for range 4 {
		sel[rng.IntN(n)] = true
	}
	return sel
}

// TestSgemmRandomShapes checks random medium shapes at every element.
func TestSgemmRandomShapes(t *testing.T) {
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		rng := rand.New(rand.NewPCG(3, uint64(v)))
		for range 24 {
			cs := sgemmCase{
				tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0,
				m: rng.IntN(150), n: rng.IntN(150), k: rng.IntN(400),
				alpha: sgemmAlphas[rng.IntN(3)], beta: sgemmBetas[rng.IntN(3)],
				padA: rng.IntN(20), padB: rng.IntN(20), padC: rng.IntN(20),
			}
			runSgemmCase(t, impl, cs, rng)
		}
	})
}

// TestSgemmNaNInf checks that NaN and Inf in A and B propagate as in the
// reference, that beta == 0 overwrites NaN in C, that beta != 0 keeps NaN and
// Inf from C, and that alpha == 0 does not read A or B.
func TestSgemmNaNInf(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	type poison struct {
		name        string
		alpha, beta float32
		set         func(in *sgemmInputs, rng *rand.Rand)
		cleanC      bool // C must come out free of NaN
	}
	at := func(mt matrix, rng *rand.Rand, v float32) {
		if mt.rows > 0 && mt.cols > 0 {
			mt.data[rng.IntN(mt.rows)*mt.ld+rng.IntN(mt.cols)] = v
		}
	}
	fillC := func(in *sgemmInputs, v float32) {
		for i := 0; i < in.m; i++ {
			for j := 0; j < in.n; j++ {
				in.c0[guardN+i*in.c.ld+j] = v
			}
		}
	}
	poisons := []poison{
		{"NaN in A", 1, 0, func(in *sgemmInputs, rng *rand.Rand) { at(in.a, rng, nan) }, false},
		{"NaN in B", -0.5, 1, func(in *sgemmInputs, rng *rand.Rand) { at(in.b, rng, nan) }, false},
		{"Inf in A", 1, 2, func(in *sgemmInputs, rng *rand.Rand) { at(in.a, rng, inf) }, false},
		{"-Inf in B", 1, 0, func(in *sgemmInputs, rng *rand.Rand) { at(in.b, rng, -inf) }, false},
		{"Inf in A and B", 1, 0, func(in *sgemmInputs, rng *rand.Rand) { at(in.a, rng, inf); at(in.b, rng, -inf) }, false},
		{"NaN in C, beta 0", 1, 0, func(in *sgemmInputs, rng *rand.Rand) { fillC(in, nan) }, true},
		{"NaN in C, beta 0, alpha 0", 0, 0, func(in *sgemmInputs, rng *rand.Rand) { fillC(in, nan) }, true},
		{"NaN in C, beta 1", -0.5, 1, func(in *sgemmInputs, rng *rand.Rand) { at(in.c, rng, nan); copy(in.c0, in.c.buf) }, false},
		{"Inf in C, beta 2", 1, 2, func(in *sgemmInputs, rng *rand.Rand) { at(in.c, rng, inf); copy(in.c0, in.c.buf) }, false},
		{"NaN in A and B, alpha 0", 0, 2, func(in *sgemmInputs, rng *rand.Rand) { at(in.a, rng, nan); at(in.b, rng, nan) }, false},
	}
	shapes := [][3]int{{1, 1, 1}, {7, 37, 19}, {13, 17, 300}, {40, 50, 270}}
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		rng := rand.New(rand.NewPCG(4, uint64(v)))
		for _, p := range poisons {
			for _, sh := range shapes {
				for _, tr := range sgemmTrans {
					cs := sgemmCase{tA: tr[0], tB: tr[1], m: sh[0], n: sh[1], k: sh[2], alpha: p.alpha, beta: p.beta, padA: 1, padB: 2, padC: 3}
					in := newSgemmInputs(cs, rng)
					p.set(in, rng)
					in.a0, in.b0 = slices.Clone(in.a.buf), slices.Clone(in.b.buf)
					want := in.call(sgemmGeneric)
					got := in.call(impl)
					for x := range got {
						if !sameClass(got[x], want[x]) {
							t.Fatalf("%s, %v: C buffer index %d = %v, reference %v", p.name, cs, x-guardN, got[x], want[x])
						}
					}
					if p.cleanC {
						for i := 0; i < cs.m; i++ {
							for j := 0; j < cs.n; j++ {
								if x := got[guardN+i*in.c.ld+j]; x != x {
									t.Fatalf("%s, %v: C[%d,%d] is NaN; beta == 0 must overwrite C", p.name, cs, i, j)
								}
							}
						}
					}
					in.checkAB(t)
				}
			}
		}
	})
}

// TestSgemmThreadsBitwise checks that results do not depend on the thread
// count, bit for bit.
func TestSgemmThreadsBitwise(t *testing.T) {
	defer SetThreads(0)
	shapes := []sgemmCase{
		{m: 301, n: 257, k: 531, alpha: 1, beta: 2},
		{m: 5, n: 900, k: 200, alpha: -0.5, beta: 0, tB: true}, // few rows: column split
		{m: 700, n: 9, k: 70, alpha: 1, beta: 1, tA: true},
		{m: 200, n: 520, k: 300, alpha: 1, beta: 0},
	}
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		if v == Generic {
			t.Skip("the reference runs on one goroutine")
		}
		rng := rand.New(rand.NewPCG(5, uint64(v)))
		for _, cs := range shapes {
			in := newSgemmInputs(cs, rng)
			SetThreads(1)
			want := in.call(impl)
			for _, th := range []int{2, 3, 4, 7} {
				SetThreads(th)
				got := in.call(impl)
				for x := range got {
					if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
						t.Fatalf("%v: threads=%d: C buffer index %d = %v, with 1 thread %v", cs, th, x-guardN, got[x], want[x])
					}
				}
			}
		}
	})
}

// TestSgemmNoAllocs checks that a steady-state call allocates nothing.
func TestSgemmNoAllocs(t *testing.T) {
	defer SetThreads(0)
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		rng := rand.New(rand.NewPCG(6, uint64(v)))
		for _, cs := range []sgemmCase{{m: 4, n: 5, k: 6, alpha: 1}, {m: 100, n: 120, k: 130, alpha: 1, tB: true}} {
			if v == Generic && cs.m > 4 {
				continue // slow, and the reference has no buffers
			}
			in := newSgemmInputs(cs, rng)
			c := in.c.data
			for _, th := range []int{1, 2} {
				SetThreads(th)
				allocs := testing.AllocsPerRun(20, func() {
					impl(cs.tA, cs.tB, cs.m, cs.n, cs.k, cs.alpha, in.a.data, in.a.ld, in.b.data, in.b.ld, cs.beta, c, in.c.ld)
				})
				if allocs != 0 {
					t.Errorf("%v, threads=%d: %v allocations per call", cs, th, allocs)
				}
			}
		}
	})
}

func TestSgemmPanics(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 12)
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2) }, "m=-1"},
		{"negative k", func() { Sgemm(false, false, 2, 2, -3, 1, a, 2, b, 2, 0, c, 2) }, "k=-3"},
		{"lda", func() { Sgemm(false, false, 3, 4, 4, 1, a, 3, b, 4, 0, c, 4) }, "lda=3"},
		{"lda transposed", func() { Sgemm(true, false, 3, 4, 2, 1, a, 2, b, 4, 0, c, 4) }, "lda=2"},
		{"ldb", func() { Sgemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) }, "ldb=2"},
		{"ldc", func() { Sgemm(false, false, 2, 3, 2, 1, a, 2, b, 3, 0, c, 2) }, "ldc=2"},
		{"short a", func() { Sgemm(false, false, 4, 2, 4, 1, a, 4, b, 2, 0, c, 2) }, "len(a)=12"},
		{"short b", func() { Sgemm(false, false, 2, 4, 4, 1, a, 4, b, 4, 0, c, 4) }, "len(b)=12"},
		{"short c", func() { Sgemm(false, false, 4, 4, 2, 1, a, 2, b, 4, 0, c, 4) }, "len(c)=12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := sgemmPanicMessage(tc.call)
			require.NotEmpty(t, msg, "no panic")
			require.Contains(t, msg, tc.want)
		})
	}
	// Empty products with nil slices are fine.
	require.NotPanics(t, func() { Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1) })
	require.NotPanics(t, func() { Sgemm(false, false, 3, 0, 5, 1, make([]float32, 15), 5, nil, 1, 0, nil, 1) })
}

// sgemmPanicMessage returns what f panics with, as a string ("" if it does not).
func sgemmPanicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// sgemmKernelGo is a pure-Go micro-kernel of any tile size, for testing the
// blocked driver apart from the assembly.
func sgemmKernelGo(mr, nr int) sgemmMicroKernel {
	return func(k int, a, b, c *float32, ldc int, alpha, beta float32, _ *float32) {
		as, bs := unsafe.Slice(a, k*mr), unsafe.Slice(b, k*nr)
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		for i := 0; i < mr; i++ {
			for j := 0; j < nr; j++ {
				var s float32
				for p := 0; p < k; p++ {
					s += as[p*mr+i] * bs[p*nr+j]
				}
				if beta == 0 {
					cs[i*ldc+j] = alpha * s
				} else {
					cs[i*ldc+j] = alpha*s + beta*cs[i*ldc+j]
				}
			}
		}
	}
}

// sgemmDirectKernelGo is sgemmKernelGo reading A in place, rows lda apart
// (the contract of sgemmDirectKernel).
func sgemmDirectKernelGo(mr, nr int) sgemmDirectKernel {
	packed := sgemmKernelGo(mr, nr)
	return func(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, pf *float32) {
		rows := unsafe.Slice(a, (mr-1)*lda+k)
		panel := make([]float32, k*mr)
		for i := 0; i < mr; i++ {
			for p := 0; p < k; p++ {
				panel[p*mr+i] = rows[i*lda+p]
			}
		}
		packed(k, &panel[0], b, c, ldc, alpha, beta, pf)
	}
}

// sgemmEdgesGo returns pure-Go edge kernels (sgemmEdgeKernel) for every
// partial row count of an mr x nr tile, spanning 1 to 3 slivers of B.
func sgemmEdgesGo(mr, nr int) []sgemmEdge {
	edges := make([]sgemmEdge, mr)
	for rows := 1; rows < mr; rows++ {
		slivers := 1 + rows%3
		edges[rows] = sgemmEdge{slivers: slivers, kernel: func(k int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32) {
			as, bsl := unsafe.Slice(a, k*mr), unsafe.Slice(b, (slivers-1)*bs+k*nr)
			cs := unsafe.Slice(c, (rows-1)*ldc+slivers*nr)
			for i := 0; i < rows; i++ {
				for q := 0; q < slivers; q++ {
					for j := 0; j < nr; j++ {
						var t float32
						for p := 0; p < k; p++ {
							t += as[p*mr+i] * bsl[q*bs+p*nr+j]
						}
						x := &cs[i*ldc+q*nr+j]
						if beta == 0 {
							*x = alpha * t
						} else {
							*x = alpha*t + beta**x
						}
					}
				}
			}
		}}
	}
	return edges
}

// TestSgemmBlockedSmallBlocks runs the blocked driver with tiny cache blocks,
// so that small matrices cross many block boundaries, with a Go micro-kernel
// of odd tile size and with every assembly micro-kernel of this build.
func TestSgemmBlockedSmallBlocks(t *testing.T) {
	defer SetThreads(0)
	drivers := map[string]*sgemmBlocking{
		"go3x5":         {kernel: sgemmKernelGo(3, 5), mr: 3, nr: 5, mc: 6, kc: 7, nc: 15},
		"go3x5/groups2": {kernel: sgemmKernelGo(3, 5), mr: 3, nr: 5, mc: 6, kc: 7, nc: 15, groupFloats: 2 * 15 * 7},
		// The tiles of the AVX-512 and NEON kernels, whose packing paths
		// then run on any machine.
		"go12x32": {kernel: sgemmKernelGo(12, 32), mr: 12, nr: 32, mc: 24, kc: 9, nc: 64},
		"go8x12":  {kernel: sgemmKernelGo(8, 12), mr: 8, nr: 12, mc: 16, kc: 6, nc: 36},
		// The driver's in-place reading of A, with the AVX-512 tile.
		"go3x5/direct":   {kernel: sgemmKernelGo(3, 5), direct: sgemmDirectKernelGo(3, 5), directMaxN: 1 << 30, mr: 3, nr: 5, mc: 6, kc: 7, nc: 15},
		"go12x32/direct": {kernel: sgemmKernelGo(12, 32), direct: sgemmDirectKernelGo(12, 32), directMaxN: 1 << 30, mr: 12, nr: 32, mc: 24, kc: 9, nc: 64},
		// Edge kernels for partial slivers of A, with and without direct.
		"go3x5/edges":          {kernel: sgemmKernelGo(3, 5), edge: sgemmEdgesGo(3, 5), mr: 3, nr: 5, mc: 6, kc: 7, nc: 15},
		"go12x32/direct+edges": {kernel: sgemmKernelGo(12, 32), direct: sgemmDirectKernelGo(12, 32), directMaxN: 1 << 30, edge: sgemmEdgesGo(12, 32), mr: 12, nr: 32, mc: 24, kc: 9, nc: 64},
	}
	for v, g := range sgemmBlockings {
		if g != nil && IsSupported(Variant(v)) {
			small := *g
			small.mc, small.kc, small.nc = 2*g.mr, 5, 3*g.nr
			small.parallelWork = 0
			drivers[Variant(v).String()] = &small
			grouped := small
			grouped.groupFloats = 2 * small.nc * small.kc // two k blocks per wait
			drivers[Variant(v).String()+"/groups2"] = &grouped
			if g.direct != nil {
				packing := small
				packing.direct = nil
				drivers[Variant(v).String()+"/packA"] = &packing
			}
		}
	}
	for name, g := range drivers {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(g.mr)))
			for i := range 40 {
				SetThreads(1 + i%3)
				cs := sgemmCase{
					tA: i%2 == 0, tB: i/2%2 == 0,
					m: 1 + rng.IntN(4*g.mc), n: 1 + rng.IntN(3*g.nc), k: 1 + rng.IntN(5*g.kc),
					alpha: sgemmAlphas[1+rng.IntN(2)], beta: sgemmBetas[rng.IntN(3)],
					padA: rng.IntN(3), padB: rng.IntN(3), padC: rng.IntN(3),
				}
				runSgemmCase(t, g.sgemm, cs, rng)
			}
		})
	}
}

// TestSgemmDirectBitwise checks that reading A in place (the direct
// micro-kernels) and the edge kernels for partial slivers of A give bitwise
// the products of packing A and computing every tile with the full kernel,
// for every variant that has either, on shapes with partial slivers of A and
// B, k blocks, a padded lda, beta and both thread counts.
func TestSgemmDirectBitwise(t *testing.T) {
	defer SetThreads(0)
	shapes := []sgemmCase{
		{m: 128, n: 768, k: 768, alpha: 1, beta: 0, tB: true},
		{m: 37, n: 200, k: 96, alpha: 1, beta: 0, tB: true, padA: 3},
		{m: 301, n: 257, k: 531, alpha: 0.5, beta: 2, padA: 1, padC: 5},
		{m: 7, n: 900, k: 300, alpha: -1, beta: 1, padB: 1},
		{m: 150, n: 64, k: 128, alpha: 1, beta: 0, padA: 256},
		{m: 128, n: 800, k: 64, alpha: 1, beta: 0, tB: true},   // 2 rows over 3 slivers
		{m: 145, n: 112, k: 33, alpha: 2, beta: 1, padC: 2},    // 1 row over 4 slivers and a few
		{m: 9, n: 300, k: 20, alpha: 1, beta: -1, tA: true},    // 3 rows, transposed A
		{m: 16, n: 37, k: 300, alpha: 1, beta: 0, padA: 1},     // 4 rows, partial B
		{m: 1013, n: 48, k: 256, alpha: 1, beta: 0.5, padB: 3}, // 5 rows at the end
	}
	tested := 0
	for v, g := range sgemmBlockings {
		if g == nil || (g.direct == nil && g.edge == nil) || !IsSupported(Variant(v)) {
			continue
		}
		tested++
		packing, inPlace := *g, *g
		packing.direct, packing.edge = nil, nil
		inPlace.directMaxN = 1 << 30 // whatever the width
		t.Run(Variant(v).String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(v)))
			for _, cs := range shapes {
				in := newSgemmInputs(cs, rng)
				for _, th := range []int{1, 2} {
					SetThreads(th)
					want := in.call(packing.sgemm)
					got := in.call(inPlace.sgemm)
					for x := range got {
						if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
							t.Fatalf("%v, threads=%d: C buffer index %d = %v in place with edge kernels, %v packed with full tiles", cs, th, x-guardN, got[x], want[x])
						}
					}
				}
				in.checkAB(t)
			}
		})
	}
	if tested == 0 {
		t.Skip("no variant with direct or edge micro-kernels runs on this machine")
	}
}

// TestSgemmRowsIndependent checks that a row of C does not depend on how
// many rows are computed with it, bit for bit, for every variant, plain and
// with a packed B, at 1 and 2 threads, down to the smallest products: a
// request's result must be the same alone and in a batch.
func TestSgemmRowsIndependent(t *testing.T) {
	defer SetThreads(0)
	shapes := []struct{ n, k int }{{2, 16}, {16, 16}, {2, 128}, {4, 16}, {16, 4}, {16, 64}, {33, 17}, {128, 128}, {64, 768}}
	forEachVariant(t, sgemmOp, func(t *testing.T, v Variant, impl sgemmFunc) {
		rng := rand.New(rand.NewPCG(11, uint64(v)))
		for _, th := range []int{1, 2} {
			SetThreads(th)
			for _, sh := range shapes {
				n, k, m := sh.n, sh.k, 37
				a, w := make([]float32, m*k), make([]float32, n*k)
				for i := range a {
					a[i] = rng.Float32() - 0.5
				}
				for i := range w {
					w[i] = rng.Float32() - 0.5
				}
				all := make([]float32, m*n)
				impl(false, true, m, n, k, 1, a, k, w, k, 0, all, n)
				for _, rows := range []int{1, 2, 5, 7} {
					for r := 0; r+rows <= m; r += rows {
						part := make([]float32, rows*n)
						impl(false, true, rows, n, k, 1, a[r*k:(r+rows)*k], k, w, k, 0, part, n)
						for x := range part {
							if math.Float32bits(part[x]) != math.Float32bits(all[r*n+x]) {
								t.Fatalf("threads=%d n=%d k=%d: rows %d..%d computed alone: C[%d] = %v, with %d rows %v", th, n, k, r, r+rows, x, part[x], m, all[r*n+x])
							}
						}
					}
				}
			}
		}
	})
}
