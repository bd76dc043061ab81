package contract

// The activation kernels: element-wise exp, tanh and GELU with their
// gradients, the fused bias + GELU epilogue, and the attention softmax
// forward and backward (package kernels: math.go, gelu.go, softmax.go).

// elementwise returns the contract of a unary element-wise kernel y = f(x):
// desc continues the name, loop is the body of the loop over i.
func elementwise(name, desc, loop string) Op {
	return Op{Name: name, Sig: "func(y, x []float32)", doc: []string{desc, "", "\tfor i := range x { " + loop + " }"}}
}

// gradient returns the contract of the gradient dx = dy * f'(x) of an
// element-wise kernel.
func gradient(name, desc, loop string) Op {
	return Op{Name: name, Sig: "func(dx, dy, x []float32)", doc: []string{desc, "", "\tfor i := range x { " + loop + " }"}}
}

// The element-wise activations and their gradients.
var (
	Exp  = elementwise("Exp", "computes e^x element-wise (len(y) ≥ len(x)):", "y[i] = e^x[i]")
	Tanh = elementwise("Tanh", "computes tanh element-wise (len(y) ≥ len(x)):", "y[i] = tanh(x[i])")
	GELU = elementwise("GELU", "computes the exact GELU element-wise (len(y) ≥ len(x)):",
		"y[i] = x[i] * Φ(x[i]) // Φ(x) = (1 + erf(x/√2))/2")
	GELUBackward = gradient("GELUBackward", "computes the exact GELU's gradient (len(dx), len(dy) ≥ len(x)):",
		"dx[i] = dy[i] * (Φ(x[i]) + x[i]*φ(x[i])) // φ(x) = e^(-x²/2)/√(2π)")
)

// BiasGELU adds bias to pre in place and applies the exact GELU.
var BiasGELU = Op{Name: "BiasGELU", Sig: "func(y, pre, bias []float32)", doc: []string{
	"adds bias to one row pre in place and applies the exact GELU (len(y), len(pre) ≥ len(bias)):", "",
	"\tfor i := range bias { pre[i] += bias[i]; y[i] = pre[i] * Φ(pre[i]) }"}}

// SoftmaxRows is the attention softmax of every row of x, scaled, and with
// masked the mask added.
func SoftmaxRows(isa ISA, masked bool) Op {
	op := Op{Name: "SoftmaxRows", Sig: "func(y, x []float32, rows, cols int, scale float32)"}
	z := "z[c] := scale*x[r*cols+c]"
	if masked {
		op.Name, op.Sig = "SoftmaxRowsMask", "func(y, x, mask []float32, rows, cols int, scale float32)"
		z = "z[c] := scale*x[r*cols+c] + mask[c]"
	}
	op.doc = []string{
		"computes the attention softmax of rows rows of width cols (y and x may be the same; no bounds checks):",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\t" + z + " // for every c" + isa.SoftmaxScale,
		"\t\tm := max(max(z), -MaxFloat32)",
		"\t\ty[r*cols+c] = exp(z[c]-m) / Σ exp(z-m) // all 0 if the sum is 0 (every z = -Inf)",
		"\t}",
		"",
		"A NaN anywhere in a row's z makes the whole row NaN."}
	return op
}

// SoftmaxRowsBackward is the gradient of SoftmaxRows.
var SoftmaxRowsBackward = Op{Name: "SoftmaxRowsBackward", Sig: "func(dx, y, dy []float32, rows, cols int, scale float32)", doc: []string{
	"computes the softmax gradient of rows rows of width cols (dx may be dy; no bounds checks):",
	"",
	"\tfor r := 0; r < rows; r++ {",
	"\t\td := Σ_c dy[r*cols+c] * y[r*cols+c]",
	"\t\tdx[r*cols+c] = scale * y[r*cols+c] * (dy[r*cols+c] - d) // for every c",
	"\t}"}}
