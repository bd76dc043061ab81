package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/petl-go/petl/internal/gradcheck"
	"github.com/stretchr/testify/require"
)

// The layers are checked twice: Forward against a plain float64 loop
// (reference functions below), and Backward against central finite
// differences of that float64 reference, through the scalar loss
// Σ y⊙r with fixed random weights r.

func newParam(name string, w []float32, trainable bool) *Param {
	p := &Param{Name: name, Shape: []int{len(w)}, W: w, Frozen: true}
	p.SetTrainable(trainable, false)
	return p
}

func dot64(a, b []float64) (s float64) {
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func linearRef(x, w, b []float64, rows, in, out int) []float64 {
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[o*in+i]
			}
			y[r*out+o] = s
		}
	}
	return y
}

func geluRef(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func TestLinear(t *testing.T) {
	for _, tc := range []struct {
		rows, in, out int
		bias, train   bool
	}{
		{1, 1, 1, true, true}, {3, 5, 7, true, true}, {17, 33, 9, false, true}, {8, 24, 40, true, false},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_bias=%v_train=%v", tc.rows, tc.in, tc.out, tc.bias, tc.train), func(t *testing.T) {
			rng := NewRNG(uint64(tc.rows*1000 + tc.in))
			x := gradcheck.Rand(rng, tc.rows*tc.in, 1)
			w := newParam("w", gradcheck.Rand(rng, tc.out*tc.in, 0.5), tc.train)
			var b *Param
			var b64 []float64
			if tc.bias {
				b = newParam("b", gradcheck.Rand(rng, tc.out, 0.5), tc.train)
				b64 = gradcheck.To64(b.W)
			}
			l, err := NewLinear(w, b, tc.in, tc.out)
			require.NoError(t, err)
			y := make([]float32, tc.rows*tc.out)
			for i := range y {
				y[i] = float32(math.NaN()) // must be overwritten
			}
			l.Forward(y, x, tc.rows)
			x64, w64 := gradcheck.To64(x), gradcheck.To64(w.W)
			gradcheck.RequireClose(t, "y", y, linearRef(x64, w64, b64, tc.rows, tc.in, tc.out), 1e-5)

			pre := make([]float32, len(y))
			l.ForwardGELU(y, pre, x, tc.rows)
			want := linearRef(x64, w64, b64, tc.rows, tc.in, tc.out)
			gradcheck.RequireClose(t, "pre", pre, want, 1e-5)
			for i := range want {
				want[i] = geluRef(want[i])
			}
			gradcheck.RequireClose(t, "gelu(y)", y, want, 1e-5)

			r := gradcheck.To64(gradcheck.Rand(rng, len(y), 1))
			loss := func() float64 { return dot64(linearRef(x64, w64, b64, tc.rows, tc.in, tc.out), r) }
			dy := make([]float32, len(r))
			for i, v := range r {
				dy[i] = float32(v)
			}
			dx := make([]float32, len(x))
			dx[0] = 1 // accumulates: the result must keep this
			l.Backward(dx, dy, x, tc.rows)
			dx[0]--
			gradcheck.RequireClose(t, "dx", dx, gradcheck.NumGrad(loss, x64, 1e-6), 1e-4)
			if !tc.train {
				require.Nil(t, w.G, "frozen weight has no gradient")
				return
			}
			gradcheck.RequireClose(t, "dW", w.G, gradcheck.NumGrad(loss, w64, 1e-6), 1e-4)
			if tc.bias {
				gradcheck.RequireClose(t, "db", b.G, gradcheck.NumGrad(loss, b64, 1e-6), 1e-4)
			}
			l.Backward(nil, dy, x, tc.rows) // accumulates a second time
			gradcheck.RequireClose(t, "2·dW", w.G, scaled(gradcheck.NumGrad(loss, w64, 1e-6), 2), 1e-4)
		})
	}
}

func scaled(x []float64, f float64) []float64 {
	for i := range x {
		x[i] *= f
	}
	return x
}

func layerNormRef(x, g, b []float64, rows, c int, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*c : (r+1)*c]
		mu := 0.0
		for _, v := range row {
			mu += v
		}
		mu /= float64(c)
		vr := 0.0
		for _, v := range row {
			vr += (v - mu) * (v - mu)
		}
		rs := 1 / math.Sqrt(vr/float64(c)+eps)
		for i, v := range row {
			y[r*c+i] = (v-mu)*rs*g[i] + b[i]
		}
	}
	return y
}

func TestLayerNorm(t *testing.T) {
	for _, tc := range []struct{ rows, c int }{{1, 1}, {1, 2}, {4, 7}, {9, 96}, {3, 130}} {
		t.Run(fmt.Sprintf("%dx%d", tc.rows, tc.c), func(t *testing.T) {
			rng := NewRNG(uint64(tc.rows*100 + tc.c))
			const eps = 1e-5
			x, a := gradcheck.Rand(rng, tc.rows*tc.c, 2), gradcheck.Rand(rng, tc.rows*tc.c, 1)
			gamma := newParam("g", gradcheck.Rand(rng, tc.c, 1), true)
			beta := newParam("b", gradcheck.Rand(rng, tc.c, 1), true)
			ln, err := NewLayerNorm(gamma, beta, tc.c, eps)
			require.NoError(t, err)
			y, mean, rstd := make([]float32, len(x)), make([]float32, tc.rows), make([]float32, tc.rows)
			ln.Forward(y, mean, rstd, x, tc.rows)
			x64, g64, b64 := gradcheck.To64(x), gradcheck.To64(gamma.W), gradcheck.To64(beta.W)
			gradcheck.RequireClose(t, "y", y, layerNormRef(x64, g64, b64, tc.rows, tc.c, eps), 1e-5)

			// ForwardAdd: LN(a + x) with the sum saved.
			sum := make([]float32, len(x))
			ln.ForwardAdd(y, sum, nil, nil, a, x, tc.rows)
			s64 := gradcheck.To64(a)
			for i := range s64 {
				s64[i] += x64[i]
			}
			gradcheck.RequireClose(t, "sum", sum, s64, 1e-6)
			gradcheck.RequireClose(t, "add+ln", y, layerNormRef(s64, g64, b64, tc.rows, tc.c, eps), 1e-5)

			if tc.c == 1 {
				return // the output is beta: gradients through x are zero, nothing to learn here
			}
			r := gradcheck.To64(gradcheck.Rand(rng, len(x), 1))
			loss := func() float64 { return dot64(layerNormRef(x64, g64, b64, tc.rows, tc.c, eps), r) }
			dy := make([]float32, len(r))
			for i, v := range r {
				dy[i] = float32(v)
			}
			dx := make([]float32, len(x))
			ln.Backward(dx, dy, x, mean, rstd, tc.rows)
			gradcheck.RequireClose(t, "dx", dx, gradcheck.NumGrad(loss, x64, 1e-6), 1e-3)
			gradcheck.RequireClose(t, "dgamma", gamma.G, gradcheck.NumGrad(loss, g64, 1e-6), 1e-4)
			gradcheck.RequireClose(t, "dbeta", beta.G, gradcheck.NumGrad(loss, b64, 1e-6), 1e-4)
		})
	}
}

func TestEmbedding(t *testing.T) {
	rng := NewRNG(7)
	const V, C = 11, 6
	w := newParam("emb", gradcheck.Rand(rng, V*C, 1), true)
	e, err := NewEmbedding(w, V, C)
	require.NoError(t, err)
	ids := []int32{3, 0, 10, 3, 5}
	y := make([]float32, len(ids)*C)
	e.Forward(y, ids)
	base := gradcheck.Rand(rng, len(y), 1)
	y2 := append([]float32(nil), base...)
	e.ForwardAdd(y2, ids)
	for r, id := range ids {
		for j := 0; j < C; j++ {
			require.Equal(t, w.W[int(id)*C+j], y[r*C+j])
			require.Equal(t, base[r*C+j]+w.W[int(id)*C+j], y2[r*C+j])
		}
	}
	dy := gradcheck.Rand(rng, len(y), 1)
	e.Backward(dy, ids)
	want := make([]float64, V*C)
	for r, id := range ids {
		for j := 0; j < C; j++ {
			want[int(id)*C+j] += float64(dy[r*C+j])
		}
	}
	gradcheck.RequireClose(t, "dW", w.G, want, 1e-6)

	require.NoError(t, e.CheckIDs(ids))
	require.ErrorContains(t, e.CheckIDs([]int32{1, 11}), "id 11 at position 1")
	require.ErrorContains(t, e.CheckIDs([]int32{-1}), "id -1")
}

func TestGELUBackward(t *testing.T) {
	rng := NewRNG(3)
	x := gradcheck.Rand(rng, 50, 4)
	x64 := gradcheck.To64(x)
	r := gradcheck.To64(gradcheck.Rand(rng, len(x), 1))
	loss := func() float64 {
		s := 0.0
		for i, v := range x64 {
			s += geluRef(v) * r[i]
		}
		return s
	}
	dy := make([]float32, len(x))
	for i, v := range r {
		dy[i] = float32(v)
	}
	dx := make([]float32, len(x))
	var ar Arena
	GELU{}.Backward(dx, dy, x, &ar)
	gradcheck.RequireClose(t, "dx", dx, gradcheck.NumGrad(loss, x64, 1e-6), 1e-4)
}

// attentionRef is multi-head attention in float64 (see Attention.Forward).
func attentionRef(q, k, v, mask []float64, B, T, NH, HD int) []float64 {
	C := NH * HD
	ctx := make([]float64, B*T*C)
	sc := make([]float64, T)
	scale := 1 / math.Sqrt(float64(HD))
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			for i := 0; i < T; i++ {
				m := math.Inf(-1)
				for j := 0; j < T; j++ {
					s := 0.0
					for d := 0; d < HD; d++ {
						s += q[(b*T+i)*C+h*HD+d] * k[(b*T+j)*C+h*HD+d]
					}
					s *= scale
					if mask != nil {
						s += mask[b*T+j]
					}
					sc[j] = s
					m = max(m, s)
				}
				z := 0.0
				for j := range sc {
					sc[j] = math.Exp(sc[j] - m)
					z += sc[j]
				}
				for d := 0; d < HD; d++ {
					s := 0.0
					for j := 0; j < T; j++ {
						s += sc[j] / z * v[(b*T+j)*C+h*HD+d]
					}
					ctx[(b*T+i)*C+h*HD+d] = s
				}
			}
		}
	}
	return ctx
}

func TestAttention(t *testing.T) {
	for _, tc := range []struct {
		B, T, NH, HD int
		lens         []int // per sequence, T for no padding
	}{
		{1, 1, 1, 1, []int{1}}, {1, 5, 2, 3, []int{5}}, {3, 7, 3, 4, []int{7, 2, 5}}, {2, 9, 2, 20, []int{1, 9}},
	} {
		t.Run(fmt.Sprintf("B%dT%dNH%dHD%d", tc.B, tc.T, tc.NH, tc.HD), func(t *testing.T) {
			rng := NewRNG(uint64(tc.B*31 + tc.T))
			C, B, T := tc.NH*tc.HD, tc.B, tc.T
			q, k, v := gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1.5), gradcheck.Rand(rng, B*T*C, 1)
			mask := make([]float32, B*T)
			for b, n := range tc.lens {
				for j := n; j < T; j++ {
					mask[b*T+j] = -10000
				}
			}
			a := Attention{NH: tc.NH, HD: tc.HD}
			ctx, probs := make([]float32, B*T*C), make([]float32, B*tc.NH*T*T)
			a.Forward(ctx, probs, q, k, v, mask, B, T)
			q64, k64, v64, m64 := gradcheck.To64(q), gradcheck.To64(k), gradcheck.To64(v), gradcheck.To64(mask)
			gradcheck.RequireClose(t, "ctx", ctx, attentionRef(q64, k64, v64, m64, B, T, tc.NH, tc.HD), 1e-5)
			// The [CLS] query alone (Tq = 1) gives the first row of each sequence.
			qc, cc := make([]float32, B*C), make([]float32, B*C)
			for b := 0; b < B; b++ {
				copy(qc[b*C:(b+1)*C], q[b*T*C:b*T*C+C])
			}
			pc := make([]float32, B*tc.NH*T)
			a.ProbsQ(pc, qc, k, mask, B, 1, T)
			a.ContextQ(cc, pc, v, B, 1, T)
			for b := 0; b < B; b++ {
				gradcheck.RequireClose(t, fmt.Sprintf("ctx[CLS %d]", b), cc[b*C:(b+1)*C], gradcheck.To64(ctx[b*T*C:b*T*C+C]), 1e-6)
			}
			for b, n := range tc.lens { // padded keys get exactly zero probability
				for h := 0; h < tc.NH; h++ {
					for i := 0; i < T; i++ {
						for j := n; j < T; j++ {
							require.Zero(t, probs[((b*tc.NH+h)*T+i)*T+j])
						}
					}
				}
			}

			r := gradcheck.To64(gradcheck.Rand(rng, len(ctx), 1))
			loss := func() float64 { return dot64(attentionRef(q64, k64, v64, m64, B, T, tc.NH, tc.HD), r) }
			dctx := make([]float32, len(r))
			for i, x := range r {
				dctx[i] = float32(x)
			}
			dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
			var ar Arena
			a.Backward(dq, dk, dv, dctx, probs, probs, nil, q, k, v, B, T, &ar)
			gradcheck.RequireClose(t, "dq", dq, gradcheck.NumGrad(loss, q64, 1e-6), 1e-4)
			gradcheck.RequireClose(t, "dk", dk, gradcheck.NumGrad(loss, k64, 1e-6), 1e-4)
			gradcheck.RequireClose(t, "dv", dv, gradcheck.NumGrad(loss, v64, 1e-6), 1e-4)
		})
	}
}

func TestDropout(t *testing.T) {
	d := Dropout{P: 0.25}
	require.False(t, d.Active(false))
	require.True(t, d.Active(true))
	require.False(t, Dropout{}.Active(true))
	rng := NewRNG(1)
	x := gradcheck.Rand(rng, 4000, 1)
	y, mask := make([]float32, len(x)), make([]float32, len(x))
	d.Forward(y, mask, x, rng)
	kept := 0
	for i, m := range mask {
		require.Contains(t, []float32{0, 1 / 0.75}, m)
		require.Equal(t, x[i]*m, y[i])
		if m != 0 {
			kept++
		}
	}
	require.InDelta(t, 0.75, float64(kept)/float64(len(x)), 0.03)
	dx := make([]float32, len(x))
	d.Backward(dx, x, mask)
	require.Equal(t, y, dx)

	// A copy of the generator taken before Forward regenerates its mask.
	rng = NewRNG(11)
	saved := *rng
	d.Forward(y, mask, x, rng)
	again := make([]float32, len(x))
	d.Mask(again, &saved)
	require.Equal(t, mask, again)
	require.Equal(t, rng.Uint64(), saved.Uint64(), "both generators advanced alike")
}

func TestLosses(t *testing.T) {
	rng := NewRNG(5)
	const B, L = 4, 3
	logits := gradcheck.Rand(rng, B*L, 3)
	labels := []int32{0, 2, 1, 2}
	l64 := gradcheck.To64(logits)
	ce := func() float64 {
		s := 0.0
		for b := 0; b < B; b++ {
			z := l64[b*L : (b+1)*L]
			lse := 0.0
			for _, v := range z {
				lse += math.Exp(v)
			}
			s += math.Log(lse) - z[labels[b]]
		}
		return s / B
	}
	probs := make([]float32, B*L)
	loss := CrossEntropy{}.Forward(probs, logits, labels, B, L)
	require.InDelta(t, ce(), float64(loss), 1e-6)
	dl := make([]float32, B*L)
	CrossEntropy{}.Backward(dl, probs, labels, B, L, 1)
	gradcheck.RequireClose(t, "dlogits", dl, gradcheck.NumGrad(ce, l64, 1e-6), 1e-5)

	pred, target := gradcheck.Rand(rng, 5, 2), gradcheck.Rand(rng, 5, 2)
	p64 := gradcheck.To64(pred)
	mse := func() float64 {
		s := 0.0
		for i, p := range p64 {
			s += (p - float64(target[i])) * (p - float64(target[i]))
		}
		return s / 5
	}
	require.InDelta(t, mse(), float64(MSE{}.Forward(pred, target)), 1e-6)
	dp := make([]float32, 5)
	MSE{}.Backward(dp, pred, target, 1)
	gradcheck.RequireClose(t, "dpred", dp, gradcheck.NumGrad(mse, p64, 1e-6), 1e-5)
}

func TestArena(t *testing.T) {
	var a Arena
	step := func(sizes ...int) [][]float32 {
		a.Reset()
		var out [][]float32
		for _, n := range sizes {
			s := a.Alloc(n)
			require.Len(t, s, n)
			require.Equal(t, n, cap(s), "cap is clipped so appends cannot overrun a neighbour")
			for i := range s {
				s[i] = float32(len(out) + 1)
			}
			out = append(out, s)
		}
		for i, s := range out { // no two buffers overlap
			for _, v := range s {
				require.Equal(t, float32(i+1), v)
			}
		}
		return out
	}
	step(10, 100, 3)
	require.Zero(t, a.Cap(), "the first step is served from the heap")
	step(10, 100, 3)
	require.GreaterOrEqual(t, a.Cap(), 113)
	bare := func(sizes ...int) { // step without the checks, which allocate
		a.Reset()
		for _, n := range sizes {
			a.Alloc(n)
		}
	}
	allocs := testing.AllocsPerRun(10, func() { bare(10, 100, 3) })
	require.Zero(t, allocs, "steady state allocates nothing")
	step(5, 5) // smaller fits
	step(1000) // larger overflows once
	allocs = testing.AllocsPerRun(10, func() { bare(1000) })
	require.Zero(t, allocs)

	// The block is sized by the high-water mark, released scratch included:
	// 10 + max(100, 50+30), not the sum of all requests.
	var b Arena
	for range 2 {
		b.Reset()
		b.Alloc(10)
		m := b.Mark()
		b.Alloc(100)
		b.Release(m)
		b.Alloc(50)
		b.Alloc(30)
	}
	require.Equal(t, 16+112, b.Cap(), "aligned sizes 16 + 112")
	allocs = testing.AllocsPerRun(10, func() {
		b.Reset()
		b.Alloc(10)
		m := b.Mark()
		b.Alloc(100)
		b.Release(m)
		b.Alloc(50)
		b.Alloc(30)
	})
	require.Zero(t, allocs)

	// Mark/Release reuse scratch.
	a.Reset()
	x := a.Alloc(16)
	m := a.Mark()
	s1 := a.Alloc(16)
	a.Release(m)
	s2 := a.Alloc(16)
	require.Same(t, &s1[0], &s2[0])
	require.NotSame(t, &x[0], &s1[0])
	z := a.AllocZero(8)
	require.Equal(t, make([]float32, 8), z)
	require.Panics(t, func() { a.Release(a.Mark() + 1) })

	// While a step overflows the block, released heap buffers are reused by
	// the next request at their position: a layer's scratch repeated costs
	// one set of buffers.
	var c Arena
	c.Reset()
	keep := c.Alloc(40)
	var first []float32
	for i := range 5 {
		m := c.Mark()
		s := c.Alloc(100)
		if i == 0 {
			first = s
		}
		require.Same(t, &first[0], &s[0], "repeat %d", i)
		require.NotSame(t, &keep[0], &s[0])
		c.Alloc(30)
		c.Release(m)
	}
	s := c.Alloc(120) // larger than the buffer at its position: a new one
	require.NotSame(t, &first[0], &s[0])
	c.Reset()
	require.Equal(t, 48+112+32, c.Cap(), "aligned 48 + max(112+32, 128)")
}

func TestRNG(t *testing.T) {
	// SplitMix64 with seed 0: the first output is the well-known constant.
	r := NewRNG(0)
	require.Equal(t, uint64(0xE220A8397B1DCDAF), r.Uint64())
	r = NewRNG(42)
	var s, ss float64
	const n = 20000
	for i := 0; i < n; i++ {
		v := r.Normal()
		s += v
		ss += v * v
	}
	require.InDelta(t, 0, s/n, 0.03)
	require.InDelta(t, 1, ss/n, 0.03)
	f := NewRNG(9).Float32()
	require.True(t, f >= 0 && f < 1)
}
