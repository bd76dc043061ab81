package kernels

import "math"

// vecFunc is an element-wise map y[i] = f(x[i]) over len(x) elements.
type vecFunc func(y, x []float32)

var (
	expOp  = newOpTable[vecFunc]("exp", expGeneric)
	tanhOp = newOpTable[vecFunc]("tanh", tanhGeneric)
)

// exp computes y[i] = e^x[i] for i < len(x); y and x may be the same slice.
// Only the tests call it: it is the exhaustively tested form of the
// exponential polynomial that SoftmaxRows uses.
//
// The SIMD variants evaluate e^x = p(r)·2^n, n = round(x·log2 e),
// r = x - n·ln 2, p a degree-6 polynomial, and are within 1 ulp of e^x for
// every float32 x (0.91 ulp measured over every float32 in [-100, 100];
// outside it the result is exactly 0 or +Inf). Results below 2^-126 are
// denormal, not flushed (within 1 ulp of the denormal spacing 2^-149);
// x < -103.98 gives +0, x > 88.7228 (where e^x exceeds MaxFloat32) gives
// +Inf, e^-Inf = 0, e^+Inf = +Inf and NaN gives NaN. The generic variant
// rounds math.Exp (0.5 ulp).
func exp(y, x []float32) { mapVec("exp", expOp, y, x) }

// Tanh computes y[i] = tanh(x[i]) for i < len(x); y and x may be the same slice.
//
// The SIMD variants use an odd polynomial for |x| < 0.625 and
// 1 - 2/(e^(2|x|)+1) above, and are within 1.5 ulp (1.36 measured over
// every float32 in [-100, 100]); tanh(±0) = ±0, tanh(±Inf) = ±1, NaN gives
// NaN.
func Tanh(y, x []float32) { mapVec("Tanh", tanhOp, y, x) }

// mapVec runs an element-wise op over x, in parallel chunks when there is
// enough work. It does not allocate when it runs on one goroutine.
func mapVec(name string, op *opTable[vecFunc], y, x []float32) {
	need(name, "y", y, len(x))
	f := op.active()
	if len(x) <= elemGrain || opThreads() == 1 {
		f(y[:len(x)], x)
		return
	}
	vecJobs.split(len(x), elemGrain, vecArgs{f, y, x})
}

type vecArgs struct {
	f    vecFunc
	y, x []float32
}

var vecJobs = NewJobs(func(a *vecArgs, lo, hi int) { a.f(a.y[lo:hi], a.x[lo:hi]) })

// expGeneric is the reference exp:
//
//	for i := range x { y[i] = float32(math.Exp(float64(x[i]))) }
func expGeneric(y, x []float32) {
	for i, v := range x {
		y[i] = float32(math.Exp(float64(v)))
	}
}

// tanhGeneric is the reference tanh:
//
//	for i := range x { y[i] = float32(math.Tanh(float64(x[i]))) }
func tanhGeneric(y, x []float32) {
	for i, v := range x {
		y[i] = float32(math.Tanh(float64(v)))
	}
}

// Maximum errors of the SIMD variants against float64 math, in float32 ulps,
// as documented on exp and Tanh (checked by TestTranscendentalAccuracy).
const (
	expMaxULP  = 1
	tanhMaxULP = 1.5
)
