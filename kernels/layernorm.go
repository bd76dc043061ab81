package kernels

import "math"

// layerNormFunc is the signature of LayerNorm implementations (arguments checked).
type layerNormFunc func(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32)

// layerNormBwdFunc is the signature of LayerNormBackward implementations.
type layerNormBwdFunc func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int)

var (
	layerNormOp         = newOpTable[layerNormFunc]("layernorm", layerNormGeneric)
	layerNormBackwardOp = newOpTable[layerNormBwdFunc]("layernorm_backward", layerNormBackwardGeneric)
)

// LayerNorm normalises each of rows rows of width cols:
//
//	μ = Σ_c x[r,c] / cols;  σ² = Σ_c (x[r,c]-μ)² / cols;  ρ = 1/√(σ²+eps)
//	y[r,c] = (x[r,c]-μ)*ρ*gamma[c] + beta[c]
//	mean[r] = μ;  rstd[r] = ρ
//
// mean and rstd may be nil (inference). A constant row gives y = beta. y and x
// may be the same slice.
func LayerNorm(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	needShape("LayerNorm", rows, cols)
	need("LayerNorm", "x", x, rows*cols)
	need("LayerNorm", "y", y, rows*cols)
	need("LayerNorm", "gamma", gamma, cols)
	need("LayerNorm", "beta", beta, cols)
	if mean != nil {
		need("LayerNorm", "mean", mean, rows)
	}
	if rstd != nil {
		need("LayerNorm", "rstd", rstd, rows)
	}
	f := layerNormOp.active()
	parallelFor(rows, rowGrain(cols), func(lo, hi int) {
		var m, s []float32
		if mean != nil {
			m = mean[lo:hi]
		}
		if rstd != nil {
			s = rstd[lo:hi]
		}
		f(y[lo*cols:hi*cols], m, s, x[lo*cols:hi*cols], gamma, beta, hi-lo, cols, eps)
	})
}

// LayerNormBackward accumulates the gradients of LayerNorm given dy, the input
// x and the saved mean and rstd. With x̂ = (x-μ)ρ and g = dy*gamma:
//
//	dx[r,c]    += ρ * (g[c] - mean_c(g) - x̂[c]*mean_c(g*x̂))
//	dgamma[c]  += Σ_r dy[r,c]*x̂[r,c]
//	dbeta[c]   += Σ_r dy[r,c]
//
// dgamma and dbeta may be nil (frozen parameters); dx may be nil (no gradient
// needed below).
func LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	needShape("LayerNormBackward", rows, cols)
	need("LayerNormBackward", "dy", dy, rows*cols)
	need("LayerNormBackward", "x", x, rows*cols)
	need("LayerNormBackward", "mean", mean, rows)
	need("LayerNormBackward", "rstd", rstd, rows)
	need("LayerNormBackward", "gamma", gamma, cols)
	if dx != nil {
		need("LayerNormBackward", "dx", dx, rows*cols)
	}
	if dgamma != nil {
		need("LayerNormBackward", "dgamma", dgamma, cols)
	}
	if dbeta != nil {
		need("LayerNormBackward", "dbeta", dbeta, cols)
	}
	// The column sums into dgamma and dbeta are a reduction over rows, so they
	// are not split across goroutines here (results must not depend on the
	// thread count).
	layerNormBackwardOp.active()(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
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

// layerNormBackwardGeneric is the reference layer-norm backward, float64 sums.
func layerNormBackwardGeneric(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		xr, dyr := x[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols]
		mu, rho := float64(mean[r]), float64(rstd[r])
		var sg, sgx float64
		for c := range xr {
			xh := (float64(xr[c]) - mu) * rho
			g := float64(dyr[c]) * float64(gamma[c])
			sg += g
			sgx += g * xh
			if dgamma != nil {
				dgamma[c] += float32(float64(dyr[c]) * xh)
			}
			if dbeta != nil {
				dbeta[c] += dyr[c]
			}
		}
		if dx == nil {
			continue
		}
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
