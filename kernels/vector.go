package kernels

// Element-wise and reduction kernels over []float32.
//
// The element-wise kernels (AddBias, Add, Axpy, Scale) give the same bits
// in every variant: each output is one correctly rounded float32 operation
// (or two, in a fixed order) of its inputs. BiasGrad adds the rows in order
// in every variant, so it too gives the same bits. Dot and Sum differ
// between variants by rounding only (see their doc comments); Max is exact.

type (
	addBiasFunc  func(x, bias []float32, rows, cols int)
	biasGradFunc func(db, dy []float32, rows, cols, ld int)
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

// serial reports whether parallelFor(n, grain, ...) would run everything on
// the calling goroutine. Wrappers then call the kernel directly: a closure
// handed to parallelFor escapes to the heap, and the small and single-thread
// calls of a training step should not allocate.
func serial(n, grain int) bool {
	return opThreads() <= 1 || n <= grain
}

// colBlock is the unit in which column reductions (BiasGrad, the dgamma and
// dbeta of LayerNormBackward) are split across goroutines: a multiple of
// every vector width. Each column is summed over the rows, in row order, by
// one goroutine, so the result does not depend on the split.
const colBlock = 64

// columnGrain is the number of colBlock-wide column blocks worth handing to
// one goroutine for a reduction over rows rows.
func columnGrain(rows int) int {
	return max(1, elemGrain/max(1, rows*colBlock))
}

// AddBias adds bias to every one of rows rows of width cols, in place:
//
//	x[r*cols+c] += bias[c]
func AddBias(x, bias []float32, rows, cols int) {
	needShape("AddBias", rows, cols)
	need("AddBias", "x", x, rows*cols)
	need("AddBias", "bias", bias, cols)
	f := addBiasOp.active()
	if serial(rows, rowGrain(cols)) {
		f(x, bias, rows, cols)
		return
	}
	addBiasJobs.split(rows, rowGrain(cols), addBiasArgs{f, x, bias, cols})
}

type addBiasArgs struct {
	f       addBiasFunc
	x, bias []float32
	cols    int
}

var addBiasJobs = NewJobs(func(a *addBiasArgs, lo, hi int) {
	a.f(a.x[lo*a.cols:hi*a.cols], a.bias, hi-lo, a.cols)
})

// BiasGrad accumulates the column sums of dy into db, adding the rows in
// order (every variant gives the bits of this loop; goroutines split the
// columns, never the rows):
//
//	db[c] += Σ_r dy[r*cols+c]
func BiasGrad(db, dy []float32, rows, cols int) {
	needShape("BiasGrad", rows, cols)
	need("BiasGrad", "dy", dy, rows*cols)
	need("BiasGrad", "db", db, cols)
	if rows == 0 || cols == 0 {
		return
	}
	f := biasGradOp.active()
	nb, grain := (cols+colBlock-1)/colBlock, columnGrain(rows)
	if serial(nb, grain) {
		f(db, dy, rows, cols, cols)
		return
	}
	biasGradJobs.split(nb, grain, biasGradArgs{f, db, dy, rows, cols})
}

type biasGradArgs struct {
	f          biasGradFunc
	db, dy     []float32
	rows, cols int
}

var biasGradJobs = NewJobs(func(a *biasGradArgs, lo, hi int) {
	c0, c1 := lo*colBlock, min(hi*colBlock, a.cols)
	a.f(a.db[c0:c1], a.dy[c0:], a.rows, c1-c0, a.cols)
})

// Add computes dst[i] = a[i] + b[i] for i < len(a); dst may alias a or b.
func Add(dst, a, b []float32) {
	need("Add", "b", b, len(a))
	need("Add", "dst", dst, len(a))
	f := addOp.active()
	if serial(len(a), elemGrain) {
		f(dst, a, b)
		return
	}
	elem3Jobs.split(len(a), elemGrain, elem3Args{f, dst, a, b})
}

// elem3Args are the operands of an element-wise kernel over three slices of
// one length (Add, GELUBackward), split into the same range of each.
type elem3Args struct {
	f       func(a, b, c []float32)
	a, b, c []float32
}

var elem3Jobs = NewJobs(func(a *elem3Args, lo, hi int) { a.f(a.a[lo:hi], a.b[lo:hi], a.c[lo:hi]) })

// Axpy computes y[i] += alpha * x[i] for i < len(x), with the product
// rounded to float32 before the sum (no fused multiply-add, so every variant
// and architecture gives the same bits).
func Axpy(alpha float32, x, y []float32) {
	need("Axpy", "y", y, len(x))
	f := axpyOp.active()
	if serial(len(x), elemGrain) {
		f(alpha, x, y)
		return
	}
	axpyJobs.split(len(x), elemGrain, axpyArgs{f, alpha, x, y})
}

type axpyArgs struct {
	f     axpyFunc
	alpha float32
	x, y  []float32
}

var axpyJobs = NewJobs(func(a *axpyArgs, lo, hi int) { a.f(a.alpha, a.x[lo:hi], a.y[lo:hi]) })

// Scale computes x[i] *= alpha for every i.
func Scale(alpha float32, x []float32) {
	f := scaleOp.active()
	if serial(len(x), elemGrain) {
		f(alpha, x)
		return
	}
	scaleJobs.split(len(x), elemGrain, scaleArgs{f, alpha, x})
}

type scaleArgs struct {
	f     scaleFunc
	alpha float32
	x     []float32
}

var scaleJobs = NewJobs(func(a *scaleArgs, lo, hi int) { a.f(a.alpha, a.x[lo:hi]) })

// Dot returns Σ_i x[i]*y[i] over i < len(x). The summation order is the
// variant's own (not sequential), so results differ from a plain loop by
// rounding only: the SIMD variants sum in float32 over a tree of depth at
// most len(x)/16 + 32, so |Dot - exact| <= γ(len(x)/16+33)·Σ|x[i]·y[i]|
// with γ(k) = k·2⁻²⁴/(1-k·2⁻²⁴); the generic variant sums in float64.
func Dot(x, y []float32) float32 {
	need("Dot", "y", y, len(x))
	return dotOp.active()(x, y)
}

// Sum returns Σ_i x[i], in the variant's own summation order, within
// γ(len(x)/16+32)·Σ|x[i]| of the exact sum (see Dot).
func Sum(x []float32) float32 { return sumOp.active()(x) }

// Max returns the largest element of x (-Inf for an empty slice; NaN if any
// element is NaN). When the largest value is zero, its sign may be either.
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

// biasGradGeneric: for r, c: db[c] += dy[r*ld+c], rows in order.
func biasGradGeneric(db, dy []float32, rows, cols, ld int) {
	for r := 0; r < rows; r++ {
		row := dy[r*ld : r*ld+cols]
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

// axpyGeneric: for i := range x { y[i] += float32(alpha * x[i]) }. The
// conversion rounds the product, which stops the compiler fusing it into a
// multiply-add (it does on arm64), so the result is the same everywhere.
func axpyGeneric(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += float32(alpha * v)
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
