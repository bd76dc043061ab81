package kernels

import "math"

// Shapes: x, y, dx, dy, a, b, sum are [rows, cols] (row-major); gamma,
// beta, dgamma, dbeta are [cols]; mean and rstd are [rows].

// layerNormFunc is the signature of LayerNorm implementations (arguments checked).
type layerNormFunc func(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32)

// addLayerNormFunc is the signature of AddLayerNorm implementations.
type addLayerNormFunc func(y, sum, mean, rstd, a, b, gamma, beta []float32, rows, cols int, eps float32)

// layerNormBwdFunc is the signature of LayerNormBackward implementations:
// whole rows, any of dx, dgamma, dbeta may be nil.
type layerNormBwdFunc func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int)

// lnParamGradFunc accumulates dgamma and dbeta (either may be nil) over a
// block of cols columns of rows rows with row stride ld, adding the rows in
// order. Given whole rows it gives the same bits as the same variant's
// layerNormBwdFunc.
type lnParamGradFunc func(dgamma, dbeta, dy, x, mean, rstd []float32, rows, cols, ld int)

var (
	layerNormOp          = newOpTable[layerNormFunc]("layernorm", layerNormGeneric)
	addLayerNormOp       = newOpTable[addLayerNormFunc]("add_layernorm", addLayerNormGeneric)
	layerNormBackwardOp  = newOpTable[layerNormBwdFunc]("layernorm_backward", layerNormBackwardGeneric)
	layerNormParamGradOp = newOpTable[lnParamGradFunc]("layernorm_param_grad", layerNormParamGradGeneric)
)

// LayerNorm normalises each of rows rows of width cols:
//
//	μ = Σ_c x[r,c] / cols;  σ² = Σ_c (x[r,c]-μ)² / cols;  ρ = 1/√(σ²+eps)
//	y[r,c] = (x[r,c]-μ)*ρ*gamma[c] + beta[c]
//	mean[r] = μ;  rstd[r] = ρ
//
// mean and rstd may be nil (inference). A constant row gives exactly
// y = beta and rstd = 1/√eps (eps must be > 0 for that), in every variant:
// the SIMD variants take their sums about the row's first element. y and x
// may be the same slice. With cols == 0 nothing is written.
//
// The SIMD variants sum in float32 (see Sum); their mean, rstd and y differ
// from the float64 reference by a few units of float32 rounding relative to
// the row's spread (the tests state the bound). Their sum of squared
// deviations overflows for rows with |x - μ| beyond about 1e18, where the
// reference, in float64, does not.
func LayerNorm(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	needShape("LayerNorm", rows, cols)
	need("LayerNorm", "x", x, rows*cols)
	need("LayerNorm", "y", y, rows*cols)
	need("LayerNorm", "gamma", gamma, cols)
	need("LayerNorm", "beta", beta, cols)
	needOptional("LayerNorm", "mean", mean, rows)
	needOptional("LayerNorm", "rstd", rstd, rows)
	if rows == 0 || cols == 0 {
		return
	}
	f := layerNormOp.active()
	if serial(rows, rowGrain(cols)) {
		f(y, mean, rstd, x, gamma, beta, rows, cols, eps)
		return
	}
	layerNormJobs.split(rows, rowGrain(cols), layerNormArgs{f, y, mean, rstd, x, gamma, beta, cols, eps})
}

type layerNormArgs struct {
	f                             layerNormFunc
	y, mean, rstd, x, gamma, beta []float32
	cols                          int
	eps                           float32
}

var layerNormJobs = NewJobs(func(a *layerNormArgs, lo, hi int) {
	s, e := lo*a.cols, hi*a.cols
	a.f(a.y[s:e], part(a.mean, lo, hi), part(a.rstd, lo, hi), a.x[s:e], a.gamma, a.beta, hi-lo, a.cols, a.eps)
})

// AddLayerNorm is the residual add and layer norm of a transformer block in
// one pass: it writes sum = a + b (the input that LayerNormBackward needs)
// and y = LayerNorm(sum):
//
//	sum[r,c] = a[r,c] + b[r,c]
//	y[r,c]   = (sum[r,c]-μ)*ρ*gamma[c] + beta[c]    (μ, ρ of row r of sum)
//	mean[r] = μ;  rstd[r] = ρ
//
// sum is the same in every variant, bit for bit; y, mean and rstd are as in
// LayerNorm. mean and rstd may be nil. sum may be the same slice as a or b,
// and y may be the same slice as any of a, b and sum (then sum is lost).
func AddLayerNorm(y, sum, mean, rstd, a, b, gamma, beta []float32, rows, cols int, eps float32) {
	needShape("AddLayerNorm", rows, cols)
	need("AddLayerNorm", "a", a, rows*cols)
	need("AddLayerNorm", "b", b, rows*cols)
	need("AddLayerNorm", "sum", sum, rows*cols)
	need("AddLayerNorm", "y", y, rows*cols)
	need("AddLayerNorm", "gamma", gamma, cols)
	need("AddLayerNorm", "beta", beta, cols)
	needOptional("AddLayerNorm", "mean", mean, rows)
	needOptional("AddLayerNorm", "rstd", rstd, rows)
	if rows == 0 || cols == 0 {
		return
	}
	f := addLayerNormOp.active()
	if serial(rows, rowGrain(cols)) {
		f(y, sum, mean, rstd, a, b, gamma, beta, rows, cols, eps)
		return
	}
	addLayerNormJobs.split(rows, rowGrain(cols), addLayerNormArgs{f, y, sum, mean, rstd, a, b, gamma, beta, cols, eps})
}

type addLayerNormArgs struct {
	f                                     addLayerNormFunc
	y, sum, mean, rstd, a, b, gamma, beta []float32
	cols                                  int
	eps                                   float32
}

var addLayerNormJobs = NewJobs(func(a *addLayerNormArgs, lo, hi int) {
	s, e := lo*a.cols, hi*a.cols
	a.f(a.y[s:e], a.sum[s:e], part(a.mean, lo, hi), part(a.rstd, lo, hi), a.a[s:e], a.b[s:e], a.gamma, a.beta, hi-lo, a.cols, a.eps)
})

// LayerNormBackward accumulates the gradients of LayerNorm given dy, the input
// x and the saved mean and rstd. With x̂ = (x-μ)ρ and g = dy*gamma:
//
//	dx[r,c]    += ρ * (g[c] - mean_c(g) - x̂[c]*mean_c(g*x̂))
//	dgamma[c]  += Σ_r dy[r,c]*x̂[r,c]
//	dbeta[c]   += Σ_r dy[r,c]
//
// dgamma and dbeta may be nil (frozen parameters); dx may be nil (no gradient
// needed below). The column sums into dgamma and dbeta add the rows in order;
// with several goroutines dx is split over rows and dgamma, dbeta over
// columns, so results are bitwise the same for every thread count. dbeta is
// the same in every variant, bit for bit.
func LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	needShape("LayerNormBackward", rows, cols)
	need("LayerNormBackward", "dy", dy, rows*cols)
	need("LayerNormBackward", "x", x, rows*cols)
	need("LayerNormBackward", "mean", mean, rows)
	need("LayerNormBackward", "rstd", rstd, rows)
	need("LayerNormBackward", "gamma", gamma, cols)
	needOptional("LayerNormBackward", "dx", dx, rows*cols)
	needOptional("LayerNormBackward", "dgamma", dgamma, cols)
	needOptional("LayerNormBackward", "dbeta", dbeta, cols)
	if rows == 0 || cols == 0 {
		return
	}
	f := layerNormBackwardOp.active()
	params := dgamma != nil || dbeta != nil
	if serial(rows, rowGrain(cols)) {
		// One pass over each row for all three gradients.
		f(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
		return
	}
	args := layerNormBwdArgs{f, layerNormParamGradOp.active(), dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols}
	if dx != nil {
		layerNormBwdJobs.split(rows, rowGrain(cols), args)
	}
	if params {
		lnParamGradJobs.split((cols+colBlock-1)/colBlock, columnGrain(rows), args)
	}
}

type layerNormBwdArgs struct {
	f                                        layerNormBwdFunc
	g                                        lnParamGradFunc
	dx, dgamma, dbeta, dy, x, mean, rstd, gm []float32
	rows, cols                               int
}

// layerNormBwdJobs splits dx by rows, lnParamGradJobs dgamma and dbeta by
// columns.
var (
	layerNormBwdJobs = NewJobs(func(a *layerNormBwdArgs, lo, hi int) {
		s, e := lo*a.cols, hi*a.cols
		a.f(a.dx[s:e], nil, nil, a.dy[s:e], a.x[s:e], a.mean[lo:hi], a.rstd[lo:hi], a.gm, hi-lo, a.cols)
	})
	lnParamGradJobs = NewJobs(func(a *layerNormBwdArgs, lo, hi int) {
		c0, c1 := lo*colBlock, min(hi*colBlock, a.cols)
		a.g(part(a.dgamma, c0, c1), part(a.dbeta, c0, c1), a.dy[c0:], a.x[c0:], a.mean, a.rstd, a.rows, c1-c0, a.cols)
	})
)

// part returns s[lo:hi], or nil for a nil s.
func part(s []float32, lo, hi int) []float32 {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// layerNormGeneric is the reference layer norm (see LayerNorm), float64 sums.
func layerNormGeneric(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	for r := 0; r < rows; r++ {
		xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mu := s / float64(cols)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mu
			ss += d * d
		}
		rho := 1 / math.Sqrt(ss/float64(cols)+float64(eps))
		for c, v := range xr {
			yr[c] = float32((float64(v)-mu)*rho)*gamma[c] + beta[c]
		}
		if mean != nil {
			mean[r] = float32(mu)
		}
		if rstd != nil {
			rstd[r] = float32(rho)
		}
	}
}

// addLayerNormGeneric is the reference AddLayerNorm: for each row,
// sum[c] = a[c] + b[c], then layerNormGeneric of that row of sum.
func addLayerNormGeneric(y, sum, mean, rstd, a, b, gamma, beta []float32, rows, cols int, eps float32) {
	for r := 0; r < rows; r++ {
		s, e := r*cols, (r+1)*cols
		addGeneric(sum[s:e], a[s:e], b[s:e])
		layerNormGeneric(y[s:e], part(mean, r, r+1), part(rstd, r, r+1), sum[s:e], gamma, beta, 1, cols, eps)
	}
}

// layerNormBackwardGeneric is the reference layer-norm backward, float64 sums.
func layerNormBackwardGeneric(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		xr, dyr := x[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols]
		mu, rho := float64(mean[r]), float64(rstd[r])
		if dx == nil {
			layerNormParamGradGeneric(dgamma, dbeta, dyr, xr, mean[r:r+1], rstd[r:r+1], 1, cols, cols)
			continue
		}
		var sg, sgx float64
		for c := range xr {
			xh := (float64(xr[c]) - mu) * rho
			g := float64(dyr[c]) * float64(gamma[c])
			sg += g
			sgx += g * xh
		}
		layerNormParamGradGeneric(dgamma, dbeta, dyr, xr, mean[r:r+1], rstd[r:r+1], 1, cols, cols)
		sg /= float64(cols)
		sgx /= float64(cols)
		dxr := dx[r*cols : (r+1)*cols]
		for c := range xr {
			xh := (float64(xr[c]) - mu) * rho
			g := float64(dyr[c]) * float64(gamma[c])
			dxr[c] += float32(rho * (g - sg - xh*sgx))
		}
	}
}

// layerNormParamGradGeneric is the reference for the dgamma, dbeta column
// sums over a block with row stride ld, rows in order:
//
//	dgamma[c] += float32(float64(dy[r*ld+c]) * (float64(x[r*ld+c])-mean[r])*rstd[r])
//	dbeta[c]  += dy[r*ld+c]
func layerNormParamGradGeneric(dgamma, dbeta, dy, x, mean, rstd []float32, rows, cols, ld int) {
	for r := 0; r < rows; r++ {
		xr, dyr := x[r*ld:r*ld+cols], dy[r*ld:r*ld+cols]
		mu, rho := float64(mean[r]), float64(rstd[r])
		if dgamma != nil {
			for c := range xr {
				dgamma[c] += float32(float64(dyr[c]) * ((float64(xr[c]) - mu) * rho))
			}
		}
		if dbeta != nil {
			for c, v := range dyr {
				dbeta[c] += v
			}
		}
	}
}
