package kernels

import "math"

// softmaxFunc is the signature of SoftmaxRows implementations (arguments checked).
type softmaxFunc func(y, x []float32, rows, cols int, scale float32, mask []float32)

// softmaxBwdFunc is the signature of SoftmaxRowsBackward implementations.
type softmaxBwdFunc func(dx, y, dy []float32, rows, cols int, scale float32)

var (
	softmaxOp         = newOpTable[softmaxFunc]("softmax", softmaxGeneric)
	softmaxBackwardOp = newOpTable[softmaxBwdFunc]("softmax_backward", softmaxBackwardGeneric)
)

// SoftmaxRows computes, for each of rows rows of width cols, the attention
// softmax y = softmax(scale*x + mask), where mask (length cols, additive, the
// same for every row) may be nil:
//
//	z[c] = scale*x[r*cols+c] + mask[c]
//	y[r*cols+c] = exp(z[c] - max(z)) / Σ exp(z - max(z))
//
// A row whose every z is -Inf (fully masked) gives all zeros, not NaN; a NaN
// z makes its whole row NaN, and so does a +Inf z (as Inf - Inf). y and x
// may be the same slice. The SIMD variants form z with one rounding (FMA),
// sum in float32 and are within 1e-9 + 1e-6·|y| of the float64-summing
// reference; their exponential is exp's polynomial (within 1 ulp of e^x,
// see exp), with e^(z-m) taken as 0 for z - m < -86.9 (where it is below
// 2^-125 and would be denormal).
func SoftmaxRows(y, x []float32, rows, cols int, scale float32, mask []float32) {
	needShape("SoftmaxRows", rows, cols)
	need("SoftmaxRows", "x", x, rows*cols)
	need("SoftmaxRows", "y", y, rows*cols)
	needOptional("SoftmaxRows", "mask", mask, cols)
	f := softmaxOp.active()
	if rows <= rowGrain(cols) || opThreads() == 1 {
		f(y[:rows*cols], x[:rows*cols], rows, cols, scale, mask)
		return
	}
	softmaxJobs.split(rows, rowGrain(cols), softmaxArgs{f, y, x, mask, cols, scale})
}

type softmaxArgs struct {
	f          softmaxFunc
	y, x, mask []float32
	cols       int
	scale      float32
}

var softmaxJobs = NewJobs(func(a *softmaxArgs, lo, hi int) {
	a.f(a.y[lo*a.cols:hi*a.cols], a.x[lo*a.cols:hi*a.cols], hi-lo, a.cols, a.scale, a.mask)
})

// SoftmaxRowsBackward computes the gradient with respect to x of
// SoftmaxRows, given its output y and the gradient dy, overwriting dx:
//
//	d := Σ_c dy[r*cols+c] * y[r*cols+c]
//	dx[r*cols+c] = scale * y[r*cols+c] * (dy[r*cols+c] - d)
//
// dx may be the same slice as dy. The SIMD variants are within
// 1e-9 + 1e-6·scale·y·(|dy| + |d|) of the float64-summing reference.
func SoftmaxRowsBackward(dx, y, dy []float32, rows, cols int, scale float32) {
	needShape("SoftmaxRowsBackward", rows, cols)
	need("SoftmaxRowsBackward", "y", y, rows*cols)
	need("SoftmaxRowsBackward", "dy", dy, rows*cols)
	need("SoftmaxRowsBackward", "dx", dx, rows*cols)
	f := softmaxBackwardOp.active()
	if rows <= rowGrain(cols) || opThreads() == 1 {
		f(dx[:rows*cols], y[:rows*cols], dy[:rows*cols], rows, cols, scale)
		return
	}
	softmaxBwdJobs.split(rows, rowGrain(cols), softmaxBwdArgs{f, dx, y, dy, cols, scale})
}

type softmaxBwdArgs struct {
	f         softmaxBwdFunc
	dx, y, dy []float32
	cols      int
	scale     float32
}

var softmaxBwdJobs = NewJobs(func(a *softmaxBwdArgs, lo, hi int) {
	s, e := lo*a.cols, hi*a.cols
	a.f(a.dx[s:e], a.y[s:e], a.dy[s:e], hi-lo, a.cols, a.scale)
})

// softmaxGeneric is the reference softmax (see SoftmaxRows), with float64 sums.
func softmaxGeneric(y, x []float32, rows, cols int, scale float32, mask []float32) {
	for r := 0; r < rows; r++ {
		xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		m := float32(math.Inf(-1))
		for c, v := range xr {
			z := scale * v
			if mask != nil {
				z += mask[c]
			}
			yr[c] = z
			m = max(m, z)
		}
		if math.IsInf(float64(m), -1) {
			clear(yr)
			continue
		}
		var s float64
		for c, z := range yr {
			e := math.Exp(float64(z - m))
			yr[c] = float32(e)
			s += e
		}
		inv := 1 / s
		for c := range yr {
			yr[c] = float32(float64(yr[c]) * inv)
		}
	}
}

// softmaxBackwardGeneric is the reference softmax backward, with float64 sums.
func softmaxBackwardGeneric(dx, y, dy []float32, rows, cols int, scale float32) {
	for r := 0; r < rows; r++ {
		yr, dyr, dxr := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
		var d float64
		for c := range yr {
			d += float64(dyr[c]) * float64(yr[c])
		}
		for c := range yr {
			dxr[c] = float32(float64(scale) * float64(yr[c]) * (float64(dyr[c]) - d))
		}
	}
}
