package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// lnStats are a row's statistics in float64.
type lnStats struct {
	mu, variance, rho float64
	absDevK           float64 // Σ|x - x[0]|/n: the size of the shifted sum
}

func lnRowStats(x []float32, eps float32) lnStats {
	n := float64(len(x))
	var s, sk float64
	for _, v := range x {
		s += float64(v)
		sk += math.Abs(float64(v) - float64(x[0]))
	}
	mu := s / n
	var q float64
	for _, v := range x {
		q += (float64(v) - mu) * (float64(v) - mu)
	}
	return lnStats{mu: mu, variance: q / n, rho: 1 / math.Sqrt(q/n+float64(eps)), absDevK: sk / n}
}

// lnTolerances are the error bounds of the SIMD layer norm in terms of the
// float64 statistics of a row of width n (twice the first-order bounds, to
// cover the second-order terms they drop). With d = rtDepth(n), u = 2⁻²⁴:
//
//   - μ = K + (Σ(x-K))/n: each x-K is rounded once, summed over depth d,
//     divided and added to K: |Δμ| <= γ(d+2)·Σ|x-K|/n + 2u|μ|.
//   - σ² from Σ(x-μ')² with μ' = μ+Δμ: Σ(x-μ')² = Σ(x-μ)² + nΔμ², a sum of
//     positive terms each rounded twice: relative error <= Δμ²/(σ²+eps) +
//     γ(d+3); +eps, √ and 1/· add 3u, and ρ's relative error is half the
//     variance's plus those.
//   - y = fma((x-μ')ρ', γ, β): |Δy| <= |γ|(|Δμ|ρ + |x̂|(relρ + 4u)) + 2u|y|.
type lnTolerances struct {
	mean, relRho float64
}

func lnTol(st lnStats, n int, eps float32) lnTolerances {
	d := rtDepth(n)
	dm := 2 * (rtGamma(d+2)*st.absDevK + 2*rtU*math.Abs(st.mu))
	rel := 2 * ((dm*dm/(st.variance+float64(eps))+rtGamma(d+3))/2 + 3*rtU)
	return lnTolerances{mean: dm, relRho: rel}
}

// lnRowKinds are the rows the forward tests normalise: they fill row r of
// width cols.
var lnRowKinds = []struct {
	name string
	fill func(rng *rand.Rand, i int) float32
}{
	{"normal", func(rng *rand.Rand, i int) float32 { return float32(rng.NormFloat64()) }},
	{"offset", func(rng *rand.Rand, i int) float32 { return float32(50 + 0.1*rng.NormFloat64()) }},
	{"constant", func(rng *rand.Rand, i int) float32 { return 0.1 }},
	{"wide", func(rng *rand.Rand, i int) float32 {
		return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4)))
	}},
	{"specials", func(rng *rand.Rand, i int) float32 {
		if rng.IntN(40) == 0 {
			return rtSpecials[rng.IntN(3)] // NaN, ±Inf
		}
		return float32(rng.NormFloat64())
	}},
}

// checkLNForward checks one variant's y, mean and rstd of the rows of x
// (and of the input a+b when sum is not nil) against float64 statistics.
func checkLNForward(t *testing.T, what string, y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	t.Helper()
	for r := 0; r < rows; r++ {
		xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		st := lnRowStats(xr, eps)
		if math.IsNaN(st.mu) || math.IsInf(st.mu, 0) || math.IsNaN(st.variance) || math.IsInf(st.variance, 0) {
			for c := range yr {
				require.True(t, math.IsNaN(float64(yr[c])), "%s row %d has NaN or Inf: y[%d] = %v, want NaN", what, r, c, yr[c])
			}
			continue
		}
		constant := true
		for _, v := range xr {
			constant = constant && v == xr[0]
		}
		if constant {
			// Exactly: μ = x[0], y = beta.
			require.Equal(t, xr[0], mean[r], "%s constant row %d: mean", what, r)
			requireSameBits(t, fmt.Sprintf("%s constant row %d: y", what, r), yr, beta[:cols])
			require.InDelta(t, st.rho, float64(rstd[r]), 3*rtU*st.rho, "%s constant row %d: rstd", what, r)
			continue
		}
		tol := lnTol(st, cols, eps)
		require.InDelta(t, st.mu, float64(mean[r]), tol.mean, "%s row %d mean", what, r)
		require.InDelta(t, st.rho, float64(rstd[r]), tol.relRho*st.rho, "%s row %d rstd", what, r)
		for c := range yr {
			xh := (float64(xr[c]) - st.mu) * st.rho
			want := xh*float64(gamma[c]) + float64(beta[c])
			g := math.Abs(float64(gamma[c]))
			tolY := 2*(g*(tol.mean*st.rho+math.Abs(xh)*(tol.relRho+4*rtU))+2*rtU*math.Abs(want)) + 1e-37
			if math.Abs(float64(yr[c])-want) > tolY {
				t.Fatalf("%s %dx%d row %d: y[%d] = %v, want %v ± %.3g (x=%v μ=%v ρ=%v)", what, rows, cols, r, c, yr[c], want, tolY, xr[c], st.mu, st.rho)
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	forEachVariant(t, layerNormOp, func(t *testing.T, v Variant, impl layerNormFunc) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, cols := range rtWidths() {
			for _, eps := range []float32{1e-12, 1e-5} {
				rows := len(lnRowKinds)
				off := cols % 4
				x := newGuarded(rows*cols, off, func(i int) float32 { return lnRowKinds[i/cols].fill(rng, i) })
				gamma := newGuarded(cols, 1, rtNormal(rng, 1, 0.5))
				beta := newGuarded(cols, 2, rtNormal(rng, 0, 0.5))
				y := newGuarded(rows*cols, off+1, nil)
				mean, rstd := newGuarded(rows, 3, nil), newGuarded(rows, 0, nil)
				impl(y.s(), mean.s(), rstd.s(), x.s(), gamma.s(), beta.s(), rows, cols, eps)
				what := fmt.Sprintf("cols=%d eps=%g", cols, eps)
				for _, b := range []struct {
					buf  guardedBuf
					name string
				}{{y, "y"}, {mean, "mean"}, {rstd, "rstd"}} {
					b.buf.checkGuards(t, what+" "+b.name)
				}
				checkLNForward(t, what, y.s(), mean.s(), rstd.s(), x.s(), gamma.s(), beta.s(), rows, cols, eps)

				// Without mean and rstd, and in place: the same y.
				y2 := x.clone()
				impl(y2.s(), nil, nil, y2.s(), gamma.s(), beta.s(), rows, cols, eps)
				requireSameBits(t, what+" in place, no stats", y2.s(), y.s())
			}
		}
	})
}

// TestAddLayerNorm checks that sum = a+b bit for bit and that y, mean and
// rstd are those of the same variant's LayerNorm of sum, bit for bit; with
// TestLayerNorm that bounds them against float64.
func TestAddLayerNorm(t *testing.T) {
	ln := layerNormOp
	forEachVariant(t, addLayerNormOp, func(t *testing.T, v Variant, impl addLayerNormFunc) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, cols := range rtWidths() {
			rows := len(lnRowKinds)
			off := cols % 3
			x := newGuarded(rows*cols, 0, func(i int) float32 { return lnRowKinds[i/cols].fill(rng, i) })
			a := newGuarded(rows*cols, off, rtNormal(rng, 0, 0.5))
			b := newGuarded(rows*cols, off+1, nil)
			for i, xv := range x.s() {
				b.s()[i] = xv - a.s()[i]
			}
			gamma, beta := newGuarded(cols, 1, rtNormal(rng, 1, 0.5)), newGuarded(cols, 0, rtNormal(rng, 0, 0.5))
			y, sum := newGuarded(rows*cols, 2, nil), newGuarded(rows*cols, 3, nil)
			mean, rstd := newGuarded(rows, 1, nil), newGuarded(rows, 2, nil)
			impl(y.s(), sum.s(), mean.s(), rstd.s(), a.s(), b.s(), gamma.s(), beta.s(), rows, cols, 1e-12)
			what := fmt.Sprintf("cols=%d", cols)
			for _, g := range []guardedBuf{y, sum, mean, rstd} {
				g.checkGuards(t, what)
			}
			wantSum := make([]float32, rows*cols)
			addGeneric(wantSum, a.s(), b.s())
			requireSameBits(t, what+" sum", sum.s(), wantSum)
			wy, wm, wr := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
			ln.get(v)(wy, wm, wr, wantSum, gamma.s(), beta.s(), rows, cols, 1e-12)
			requireSameBits(t, what+" y", y.s(), wy)
			requireSameBits(t, what+" mean", mean.s(), wm)
			requireSameBits(t, what+" rstd", rstd.s(), wr)

			// sum in place over a, y over b, no statistics.
			a2, b2 := a.clone(), b.clone()
			impl(b2.s(), a2.s(), nil, nil, a2.s(), b2.s(), gamma.s(), beta.s(), rows, cols, 1e-12)
			requireSameBits(t, what+" in-place sum", a2.s(), wantSum)
			requireSameBits(t, what+" in-place y", b2.s(), wy)
		}
	})
}

// lnBackwardTruth returns dx (added to dx0), dgamma and dbeta (added to
// dg0, db0) in float64 from the formula, given the saved mean and rstd.
func lnBackwardTruth(dx0, dg0, db0, dy, x, mean, rstd, gamma []float32, rows, cols int) (dx, dg, db, dxTol, dgTol []float64) {
	dx, dxTol = make([]float64, rows*cols), make([]float64, rows*cols)
	dg, db, dgTol = make([]float64, cols), make([]float64, cols), make([]float64, cols)
	for c := range dg {
		dg[c], db[c], dgTol[c] = float64(dg0[c]), float64(db0[c]), math.Abs(float64(dg0[c]))
	}
	d := rtDepth(cols)
	for r := 0; r < rows; r++ {
		mu, rho := float64(mean[r]), float64(rstd[r])
		var sg, sgx, ag, agx float64
		for c := 0; c < cols; c++ {
			xh := (float64(x[r*cols+c]) - mu) * rho
			g := float64(dy[r*cols+c]) * float64(gamma[c])
			sg, sgx, ag, agx = sg+g, sgx+g*xh, ag+math.Abs(g), agx+math.Abs(g*xh)
			dg[c] += float64(dy[r*cols+c]) * xh
			dgTol[c] += math.Abs(float64(dy[r*cols+c]) * xh)
			db[c] += float64(dy[r*cols+c])
		}
		n := float64(cols)
		B, C := rho*sg/n, rho*sgx/n
		for c := 0; c < cols; c++ {
			i := r*cols + c
			xh := (float64(x[i]) - mu) * rho
			g := float64(dy[i]) * float64(gamma[c])
			dx[i] = float64(dx0[i]) + g*rho - (C*xh + B)
			// The sums, the scalars B and C, and the final few roundings
			// (see TestLayerNormBackward).
			dxTol[i] = 2 * (rho*rtGamma(d+6)*(ag/n+math.Abs(xh)*agx/n) +
				3*rtU*(math.Abs(g*rho)+math.Abs(C*xh)+math.Abs(B)+math.Abs(float64(dx0[i]))) + 2*rtU*math.Abs(dx[i]))
		}
	}
	for c := range dgTol {
		dgTol[c] *= 2 * rtGamma(rows+3)
	}
	return
}

// TestLayerNormBackward checks every variant's dx and dgamma against the
// float64 formula, within twice the first-order bounds: dx from sums of
// depth d = rtDepth(cols) and a few roundings after them, dgamma from a
// float32 sum over the rows in order (γ(rows+3)·Σ|terms|); dbeta, the
// float32 sum of dy over the rows in order, is the reference's bit for bit.
// It also checks that dx alone, the parameter gradients alone, and the
// column-block kernel over a wider matrix give the same bits as the
// all-in-one call (the parallel split relies on it).
func TestLayerNormBackward(t *testing.T) {
	forEachVariant(t, layerNormBackwardOp, func(t *testing.T, v Variant, impl layerNormBwdFunc) {
		rng := rand.New(rand.NewPCG(25, 26))
		pg := layerNormParamGradOp.get(v)
		for _, cols := range rtWidths() {
			for _, rows := range []int{1, 2, 5} {
				n := rows * cols
				off := cols % 4
				x := newGuarded(n, off, rtNormal(rng, 0.3, 2))
				dy := newGuarded(n, off+1, rtNormal(rng, 0, 1))
				gamma := newGuarded(cols, 1, rtNormal(rng, 1, 0.5))
				mean, rstd := make([]float32, rows), make([]float32, rows)
				for r := range rows {
					st := lnRowStats(x.s()[r*cols:(r+1)*cols], 1e-5)
					mean[r], rstd[r] = float32(st.mu), float32(st.rho)
				}
				dx := newGuarded(n, off+2, rtNormal(rng, 0, 0.1))
				dg, db := newGuarded(cols, 2, rtNormal(rng, 0, 1)), newGuarded(cols, 3, rtNormal(rng, 0, 1))
				dx0, dg0, db0 := append([]float32(nil), dx.s()...), append([]float32(nil), dg.s()...), append([]float32(nil), db.s()...)

				impl(dx.s(), dg.s(), db.s(), dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				what := fmt.Sprintf("%dx%d", rows, cols)
				for _, b := range []guardedBuf{dx, dg, db} {
					b.checkGuards(t, what)
				}
				wdx, wdg, _, dxTol, dgTol := lnBackwardTruth(dx0, dg0, db0, dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				for i, w := range wdx {
					if math.Abs(float64(dx.s()[i])-w) > dxTol[i] {
						t.Fatalf("%s: dx[%d] = %v, want %v ± %.3g", what, i, dx.s()[i], w, dxTol[i])
					}
				}
				for c, w := range wdg {
					if math.Abs(float64(dg.s()[c])-w) > dgTol[c] {
						t.Fatalf("%s: dgamma[%d] = %v, want %v ± %.3g", what, c, dg.s()[c], w, dgTol[c])
					}
				}
				wdb := append([]float32(nil), db0...)
				biasGradGeneric(wdb, dy.s(), rows, cols, cols)
				requireSameBits(t, what+" dbeta", db.s(), wdb)

				// The pieces give the same bits as the whole.
				pdx := append([]float32(nil), dx0...)
				impl(pdx, nil, nil, dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				requireSameBits(t, what+" dx alone", pdx, dx.s())
				pg1, pb1 := append([]float32(nil), dg0...), append([]float32(nil), db0...)
				impl(nil, pg1, pb1, dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				requireSameBits(t, what+" dgamma alone", pg1, dg.s())
				requireSameBits(t, what+" dbeta alone", pb1, db.s())
				pg2 := append([]float32(nil), dg0...)
				impl(pdx, pg2, nil, dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				requireSameBits(t, what+" dgamma without dbeta", pg2, dg.s())
				pb2 := append([]float32(nil), db0...)
				impl(nil, nil, pb2, dy.s(), x.s(), mean, rstd, gamma.s(), rows, cols)
				requireSameBits(t, what+" dbeta without dgamma", pb2, db.s())

				// Column blocks of width w over the rows (stride cols).
				for _, w := range []int{colBlock, 13} {
					bg, bb := append([]float32(nil), dg0...), append([]float32(nil), db0...)
					for c0 := 0; c0 < cols; c0 += w {
						c1 := min(c0+w, cols)
						pg(bg[c0:c1], bb[c0:c1], dy.s()[c0:], x.s()[c0:], mean, rstd, rows, c1-c0, cols)
					}
					requireSameBits(t, fmt.Sprintf("%s dgamma in blocks of %d", what, w), bg, dg.s())
					requireSameBits(t, fmt.Sprintf("%s dbeta in blocks of %d", what, w), bb, db.s())
					bg = append(bg[:0], dg0...)
					for c0 := 0; c0 < cols; c0 += w {
						c1 := min(c0+w, cols)
						pg(bg[c0:c1], nil, dy.s()[c0:], x.s()[c0:], mean, rstd, rows, c1-c0, cols)
					}
					requireSameBits(t, fmt.Sprintf("%s dgamma alone in blocks of %d", what, w), bg, dg.s())
				}
			}
		}
	})
}

// lnLoss64 is L = Σ w·LayerNorm(x) computed in float64 throughout.
func lnLoss64(w []float32, x, gamma, beta []float64, rows, cols int, eps float64) float64 {
	var l float64
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		var s float64
		for _, v := range xr {
			s += v
		}
		mu := s / float64(cols)
		var q float64
		for _, v := range xr {
			q += (v - mu) * (v - mu)
		}
		rho := 1 / math.Sqrt(q/float64(cols)+eps)
		for c, v := range xr {
			l += float64(w[r*cols+c]) * ((v-mu)*rho*gamma[c] + beta[c])
		}
	}
	return l
}

// TestLayerNormBackwardFiniteDifferences checks dx, dgamma and dbeta against
// central differences of L = Σ dy·LayerNorm(x) computed in float64.
func TestLayerNormBackwardFiniteDifferences(t *testing.T) {
	forEachVariant(t, layerNormBackwardOp, func(t *testing.T, v Variant, impl layerNormBwdFunc) {
		rng := rand.New(rand.NewPCG(27, 28))
		const eps = 1e-5
		for _, shape := range [][2]int{{2, 1}, {3, 7}, {2, 33}, {1, 130}, {1, 768}} {
			rows, cols := shape[0], shape[1]
			x32 := newGuarded(rows*cols, 0, rtNormal(rng, 1, 2)).s()
			g32 := newGuarded(cols, 0, rtNormal(rng, 1, 0.5)).s()
			dy := newGuarded(rows*cols, 0, rtNormal(rng, 0, 1)).s()
			x, gamma, beta := make([]float64, len(x32)), make([]float64, cols), make([]float64, cols)
			for i, v := range x32 {
				x[i] = float64(v)
			}
			for i, v := range g32 {
				gamma[i] = float64(v)
			}
			mean, rstd := make([]float32, rows), make([]float32, rows)
			for r := range rows {
				st := lnRowStats(x32[r*cols:(r+1)*cols], eps)
				mean[r], rstd[r] = float32(st.mu), float32(st.rho)
			}
			dx, dg, db := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
			impl(dx, dg, db, dy, x32, mean, rstd, g32, rows, cols)

			fd := func(p []float64, i int) float64 {
				const h = 1e-4
				old := p[i]
				p[i] = old + h
				lp := lnLoss64(dy, x, gamma, beta, rows, cols, eps)
				p[i] = old - h
				lm := lnLoss64(dy, x, gamma, beta, rows, cols, eps)
				p[i] = old
				return (lp - lm) / (2 * h)
			}
			for _, c := range []struct {
				name string
				p    []float64
				got  []float32
			}{{"dx", x, dx}, {"dgamma", gamma, dg}, {"dbeta", beta, db}} {
				var scale float64
				for _, g := range c.got {
					scale = max(scale, math.Abs(float64(g)))
				}
				for i := range c.p {
					want := fd(c.p, i)
					require.InDelta(t, want, float64(c.got[i]), 1e-4*(1+scale), "%dx%d %s[%d]", rows, cols, c.name, i)
				}
			}
		}
	})
}

// TestLayerNormThreads checks that the exported layer-norm functions give
// the same bits for every thread count (dx split over rows, dgamma and dbeta
// over columns) and agree with the active variant's kernel called directly.
func TestLayerNormThreads(t *testing.T) {
	defer SetThreads(0)
	rng := rand.New(rand.NewPCG(29, 30))
	rows, cols := 301, 211
	n := rows * cols
	x := newGuarded(n, 0, rtNormal(rng, 0.5, 1.5)).s()
	a := newGuarded(n, 0, rtNormal(rng, 0, 1)).s()
	dy := newGuarded(n, 0, rtNormal(rng, 0, 1)).s()
	gamma, beta := newGuarded(cols, 0, rtNormal(rng, 1, 0.3)).s(), newGuarded(cols, 0, rtNormal(rng, 0, 0.3)).s()

	type result struct{ y, sum, mean, rstd, dx, dg, db []float32 }
	run := func() result {
		r := result{make([]float32, n), make([]float32, n), make([]float32, rows), make([]float32, rows),
			make([]float32, n), make([]float32, cols), make([]float32, cols)}
		AddLayerNorm(r.y, r.sum, r.mean, r.rstd, a, x, gamma, beta, rows, cols, 1e-12)
		LayerNormBackward(r.dx, r.dg, r.db, dy, r.sum, r.mean, r.rstd, gamma, rows, cols)
		return r
	}
	SetThreads(1)
	want := run()
	// The kernels called directly, on the whole matrix.
	k := result{make([]float32, n), make([]float32, n), make([]float32, rows), make([]float32, rows),
		make([]float32, n), make([]float32, cols), make([]float32, cols)}
	addLayerNormOp.active()(k.y, k.sum, k.mean, k.rstd, a, x, gamma, beta, rows, cols, 1e-12)
	layerNormBackwardOp.active()(k.dx, k.dg, k.db, dy, k.sum, k.mean, k.rstd, gamma, rows, cols)
	for _, th := range []int{2, 3, 7} {
		SetThreads(th)
		for _, got := range []result{run(), k} {
			requireSameBits(t, fmt.Sprintf("threads=%d y", th), got.y, want.y)
			requireSameBits(t, fmt.Sprintf("threads=%d mean", th), got.mean, want.mean)
			requireSameBits(t, fmt.Sprintf("threads=%d rstd", th), got.rstd, want.rstd)
			requireSameBits(t, fmt.Sprintf("threads=%d dx", th), got.dx, want.dx)
			requireSameBits(t, fmt.Sprintf("threads=%d dgamma", th), got.dg, want.dg)
			requireSameBits(t, fmt.Sprintf("threads=%d dbeta", th), got.db, want.db)
		}
		y := make([]float32, n)
		LayerNorm(y, nil, nil, want.sum, gamma, beta, rows, cols, 1e-12)
		requireSameBits(t, fmt.Sprintf("threads=%d LayerNorm", th), y, want.y)
	}
}

// TestLayerNormBackwardNaN checks that a NaN in dy or x reaches exactly the
// gradients that depend on it, in every variant: dx of its whole row,
// dgamma of its column, and dbeta of its column (for dy).
func TestLayerNormBackwardNaN(t *testing.T) {
	forEachVariant(t, layerNormBackwardOp, func(t *testing.T, v Variant, impl layerNormBwdFunc) {
		rng := rand.New(rand.NewPCG(39, 40))
		nan := float32(math.NaN())
		for _, cols := range []int{1, 7, 16, 37, 768} {
			for _, inX := range []bool{false, true} {
				const rows = 4
				x := newGuarded(rows*cols, 0, rtNormal(rng, 0, 1)).s()
				dy := newGuarded(rows*cols, 0, rtNormal(rng, 0, 1)).s()
				gamma := newGuarded(cols, 0, rtNormal(rng, 1, 0.2)).s()
				mean, rstd := make([]float32, rows), make([]float32, rows)
				for r := range rows {
					st := lnRowStats(x[r*cols:(r+1)*cols], 1e-5)
					mean[r], rstd[r] = float32(st.mu), float32(st.rho)
				}
				r0, c0 := 2, cols/2
				if inX {
					x[r0*cols+c0] = nan
				} else {
					dy[r0*cols+c0] = nan
				}
				dx, dg, db := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
				impl(dx, dg, db, dy, x, mean, rstd, gamma, rows, cols)
				for r := range rows {
					for c := range cols {
						isNaN := math.IsNaN(float64(dx[r*cols+c]))
						require.Equal(t, r == r0, isNaN, "cols=%d NaN in x=%v: dx[%d,%d] = %v", cols, inX, r, c, dx[r*cols+c])
					}
				}
				for c := range cols {
					require.Equal(t, c == c0, math.IsNaN(float64(dg[c])), "cols=%d NaN in x=%v: dgamma[%d] = %v", cols, inX, c, dg[c])
					require.Equal(t, c == c0 && !inX, math.IsNaN(float64(db[c])), "cols=%d NaN in x=%v: dbeta[%d] = %v", cols, inX, c, db[c])
				}
			}
		}
	})
}

// TestRowOpsPanics checks that the exported functions reject short slices
// and negative shapes with a message naming the function and argument.
func TestRowOpsPanics(t *testing.T) {
	s := make([]float32, 10)
	for _, c := range []struct {
		name, msg string
		f         func()
	}{
		{"LayerNorm y", "LayerNorm: len(y)=10", func() { LayerNorm(s, nil, nil, make([]float32, 12), s, s, 2, 6, 1e-5) }},
		{"LayerNorm mean", "LayerNorm: len(mean)=1", func() { LayerNorm(s, s[:1], nil, s, s, s, 2, 5, 1e-5) }},
		{"AddLayerNorm b", "AddLayerNorm: len(b)=9", func() { AddLayerNorm(s, s, nil, nil, s, s[:9], s, s, 2, 5, 1e-5) }},
		{"LayerNormBackward rstd", "LayerNormBackward: len(rstd)=1", func() { LayerNormBackward(s, nil, nil, s, s, s, s[:1], s, 2, 5) }},
		{"LayerNormBackward shape", "LayerNormBackward: negative shape", func() { LayerNormBackward(s, nil, nil, s, s, s, s, s, -1, 5) }},
		{"BiasGrad db", "BiasGrad: len(db)=4", func() { BiasGrad(s[:4], s, 2, 5) }},
		{"AddBias x", "AddBias: len(x)=10", func() { AddBias(s, s, 3, 4) }},
		{"Add dst", "Add: len(dst)=3", func() { Add(s[:3], s, s) }},
		{"Axpy y", "Axpy: len(y)=9", func() { Axpy(1, s, s[:9]) }},
		{"Dot y", "Dot: len(y)=2", func() { Dot(s, s[:2]) }},
		{"AdamW v", "AdamW: len(v)=5", func() { AdamW(s, s, s, s[:5], AdamWParams{Step: 1}) }},
	} {
		require.Contains(t, panicText(t, c.f), "kernels."+c.msg, c.name)
	}
}

// panicText returns the panic value of f as a string ("" if f returns).
func panicText(t *testing.T, f func()) (s string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
