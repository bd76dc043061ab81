package kernels

// Element-wise and reduction kernels over []float32.

type (
	addBiasFunc  func(x, bias []float32, rows, cols int)
	biasGradFunc func(db, dy []float32, rows, cols int)
	addFunc      func(dst, a, b []float32)
	axpyFunc     func(alpha float32, x, y []float32)
	scaleFunc    func(alpha float32, x []float32)
	dotFunc      func(x, y []float32) float32
	reduceFunc   func(x []float32) float32
)

var (
	addBiasOp  = newOpTable[addBiasFunc]("add_bias", addBiasGeneric)
	biasGradOp = newOpTable[biasGradFunc]("bias_grad", biasGradGeneric)
	addOp      = newOpTable[addFunc]("add", addGeneric)
	axpyOp     = newOpTable[axpyFunc]("axpy", axpyGeneric)
	scaleOp    = newOpTable[scaleFunc]("scale", scaleGeneric)
	dotOp      = newOpTable[dotFunc]("dot", dotGeneric)
	sumOp      = newOpTable[reduceFunc]("sum", sumGeneric)
	maxOp      = newOpTable[reduceFunc]("max", maxGeneric)
)

// AddBias adds bias to every one of rows rows of width cols, in place:
//
//	x[r*cols+c] += bias[c]
func AddBias(x, bias []float32, rows, cols int) {
	needShape("AddBias", rows, cols)
	need("AddBias", "x", x, rows*cols)
	need("AddBias", "bias", bias, cols)
	f := addBiasOp.active()
	parallelFor(rows, rowGrain(cols), func(lo, hi int) { f(x[lo*cols:hi*cols], bias, hi-lo, cols) })
}

// BiasGrad accumulates the column sums of dy into db:
//
//	db[c] += Σ_r dy[r*cols+c]
func BiasGrad(db, dy []float32, rows, cols int) {
	needShape("BiasGrad", rows, cols)
	need("BiasGrad", "dy", dy, rows*cols)
	need("BiasGrad", "db", db, cols)
	biasGradOp.active()(db, dy, rows, cols)
}

// Add computes dst[i] = a[i] + b[i] for i < len(a); dst may alias a or b.
func Add(dst, a, b []float32) {
	need("Add", "b", b, len(a))
	need("Add", "dst", dst, len(a))
	f := addOp.active()
	parallelFor(len(a), elemGrain, func(lo, hi int) { f(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

// Axpy computes y[i] += alpha * x[i] for i < len(x).
func Axpy(alpha float32, x, y []float32) {
	need("Axpy", "y", y, len(x))
	f := axpyOp.active()
	parallelFor(len(x), elemGrain, func(lo, hi int) { f(alpha, x[lo:hi], y[lo:hi]) })
}

// Scale computes x[i] *= alpha for every i.
func Scale(alpha float32, x []float32) {
	f := scaleOp.active()
	parallelFor(len(x), elemGrain, func(lo, hi int) { f(alpha, x[lo:hi]) })
}

// Dot returns Σ_i x[i]*y[i] over i < len(x). The summation order is the
// variant's own (not sequential), so results differ from a plain loop by
// rounding only.
func Dot(x, y []float32) float32 {
	need("Dot", "y", y, len(x))
	return dotOp.active()(x, y)
}

// Sum returns Σ_i x[i], in the variant's own summation order.
func Sum(x []float32) float32 { return sumOp.active()(x) }

// Max returns the largest element of x (-Inf for an empty slice; NaN if any
// element is NaN).
func Max(x []float32) float32 { return maxOp.active()(x) }

// addBiasGeneric: for r, c: x[r*cols+c] += bias[c]
func addBiasGeneric(x, bias []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		for c := range row {
			row[c] += bias[c]
		}
	}
}

// biasGradGeneric: for r, c: db[c] += dy[r*cols+c]
func biasGradGeneric(db, dy []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := dy[r*cols : (r+1)*cols]
		for c, v := range row {
			db[c] += v
		}
	}
}

// addGeneric: for i := range a { dst[i] = a[i] + b[i] }
func addGeneric(dst, a, b []float32) {
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

// axpyGeneric: for i := range x { y[i] += alpha * x[i] }
func axpyGeneric(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

// scaleGeneric: for i := range x { x[i] *= alpha }
func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// dotGeneric: s = Σ x[i]*y[i], summed in float64.
func dotGeneric(x, y []float32) float32 {
	var s float64
	for i, v := range x {
		s += float64(v) * float64(y[i])
	}
	return float32(s)
}

// sumGeneric: s = Σ x[i], summed in float64.
func sumGeneric(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return float32(s)
}

// maxGeneric: the largest x[i]; -Inf when empty; NaN if any x[i] is NaN.
func maxGeneric(x []float32) float32 {
	m := float32(negInf)
	for _, v := range x {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}
