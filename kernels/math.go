package kernels

import "math"

// vecFunc is an element-wise map y[i] = f(x[i]) over len(x) elements.
type vecFunc func(y, x []float32)

var (
	expOp  = newOpTable[vecFunc]("exp", expGeneric)
	tanhOp = newOpTable[vecFunc]("tanh", tanhGeneric)
	erfOp  = newOpTable[vecFunc]("erf", erfGeneric)
)

// Exp computes y[i] = e^x[i] for i < len(x); y and x may be the same slice.
func Exp(y, x []float32) { mapVec("Exp", expOp, y, x) }

// Tanh computes y[i] = tanh(x[i]) for i < len(x); y and x may be the same slice.
func Tanh(y, x []float32) { mapVec("Tanh", tanhOp, y, x) }

// Erf computes y[i] = erf(x[i]) for i < len(x); y and x may be the same slice.
func Erf(y, x []float32) { mapVec("Erf", erfOp, y, x) }

// mapVec runs an element-wise op over x in parallel chunks.
func mapVec(name string, op *opTable[vecFunc], y, x []float32) {
	need(name, "y", y, len(x))
	f := op.active()
	parallelFor(len(x), elemGrain, func(lo, hi int) { f(y[lo:hi], x[lo:hi]) })
}

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

// erfGeneric is the reference erf:
//
//	for i := range x { y[i] = float32(math.Erf(float64(x[i]))) }
func erfGeneric(y, x []float32) {
	for i, v := range x {
		y[i] = float32(math.Erf(float64(v)))
	}
}
