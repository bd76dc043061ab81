//go:generate go run . -out ../../../../kernels/internal/asm/act_arm64.s -stubs ../../../../kernels/internal/asm/act_arm64.go

// Command arm64 (internal/gen/act/arm64) generates asm/act_arm64.s and its stubs: the NEON
// versions of the transcendental row kernels that internal/gen/act/amd64
// generates for amd64 (exp, tanh, erf, GELU in both forms with their
// derivatives, the fused bias + GELU epilogue, the attention softmax forward
// and backward), with the same approximations (package coef).
package main

import (
	"fmt"

	"github.com/petl-go/petl/internal/gen/neon"
)

func main() {
	neon.Command("internal/gen/act/arm64", "!purego", func(b *neon.Builder, s *neon.Stubs) {
		for _, k := range kernels() {
			k.gen(b)
			s.Func(k.name, k.sig, k.doc)
		}
	})
}

// kernel is one generated function.
type kernel struct {
	name string
	sig  string   // Go parameters, e.g. "(y, x []float32)"
	doc  []string // stub doc comment
	gen  func(b *neon.Builder)
}

// mapKernel describes an element-wise kernel: outs[k][i] = body(ins...)[k].
type mapKernel struct {
	name string
	sig  string // Go parameters: the outs, then the ins not among them
	outs []string
	ins  []string // the last one's length is n
	u    int      // vectors per main-loop iteration
	body func(f *fn, in []V) []V
}

// gen emits the kernel: a loop in three stages (u vectors, one vector, one
// element replicated over a vector) over the body.
func (mk mapKernel) gen(b *neon.Builder) {
	f := newFn(mk.name, mk.sig)
	outReg, inReg := mk.loadArgs(f)
	block := func(u int, scalar bool) { mk.block(f, outReg, inReg, u, scalar) }
	f.Loop("R8", []neon.Stage{
		{Label: f.Ref("loop"), Step: 4 * mk.u, Body: func() { block(mk.u, false) },
			Head: func() { f.Comment("while n ≥ %d: %d vectors at a time", 4*mk.u, mk.u) }},
		{Label: f.Ref("single"), Step: 4, Body: func() { block(1, false) },
			Head: func() { f.Comment("while n ≥ 4: one vector") }},
		{Label: f.Ref("tail"), Step: 1, Body: func() { block(1, true) },
			Head: func() { f.Comment("0 < n < 4: one element at a time, replicated over a vector") }},
	}, f.Ref("done"))
	f.WriteTo(b)
}

// loadArgs loads one pointer register per role, R0 up, so that an input
// that is also an output (pre in BiasGELU) is read and written through
// separate post-incremented pointers, and n into R8. It returns the
// registers of the outputs and of the inputs.
func (mk mapKernel) loadArgs(f *fn) (outReg, inReg map[string]string) {
	outReg, inReg = map[string]string{}, map[string]string{}
	r := 0
	for _, p := range mk.outs {
		outReg[p] = fmt.Sprintf("R%d", r)
		f.LoadArg(p, outReg[p])
		r++
	}
	for _, p := range mk.ins {
		inReg[p] = fmt.Sprintf("R%d", r)
		f.LoadArg(p, inReg[p])
		r++
	}
	f.LoadLen(mk.ins[len(mk.ins)-1], "R8")
	return outReg, inReg
}

// block emits one block of u copies: load the inputs, compute, store the
// outputs, and check that every register was freed.
func (mk mapKernel) block(f *fn, outReg, inReg map[string]string, u int, scalar bool) {
	in := make([]V, len(mk.ins))
	for k, p := range mk.ins {
		in[k] = load(f, inReg[p], u, scalar)
	}
	outs := mk.body(f, in)
	for k, p := range mk.outs {
		store(f, outs[k], outReg[p], scalar)
	}
	f.free(in...)
	f.free(outs...)
	f.Regs.CheckFree()
}

func kernels() []kernel {
	var ks []kernel
	unary := func(name, desc, loop string, u int, body func(f *fn, x V) V) {
		mk := mapKernel{name: name + "NEON", sig: "(y, x []float32)", outs: []string{"y"}, ins: []string{"x"}, u: u,
			body: func(f *fn, in []V) []V { return []V{body(f, in[0])} }}
		ks = append(ks, kernel{name: mk.name, sig: "(y, x []float32)",
			doc: []string{mk.name + " " + desc, "", "\tfor i := range x { " + loop + " }"}, gen: mk.gen})
	}
	grad := func(name, desc, loop string, u int, body func(f *fn, x V) V) {
		mk := mapKernel{name: name + "NEON", sig: "(dx, dy, x []float32)", outs: []string{"dx"}, ins: []string{"dy", "x"}, u: u,
			body: func(f *fn, in []V) []V {
				d := body(f, in[1])
				r := f.fmul(d, in[0])
				f.free(d)
				return []V{r}
			}}
		ks = append(ks, kernel{name: mk.name, sig: "(dx, dy, x []float32)",
			doc: []string{mk.name + " " + desc, "", "\tfor i := range x { " + loop + " }"}, gen: mk.gen})
	}
	unary("Exp", "computes e^x element-wise (len(y) ≥ len(x)):", "y[i] = e^x[i]", 2, (*fn).expFull)
	unary("Tanh", "computes tanh element-wise (len(y) ≥ len(x)):", "y[i] = tanh(x[i])", 2, (*fn).tanh)
	unary("Erf", "computes erf element-wise (len(y) ≥ len(x)):", "y[i] = erf(x[i])", 2, (*fn).erf)
	unary("GELU", "computes the exact GELU element-wise (len(y) ≥ len(x)):",
		"y[i] = x[i] * Φ(x[i]) // Φ(x) = (1 + erf(x/√2))/2", 2, (*fn).gelu)
	grad("GELUBackward", "computes the exact GELU's gradient (len(dx), len(dy) ≥ len(x)):",
		"dx[i] = dy[i] * (Φ(x[i]) + x[i]*φ(x[i])) // φ(x) = e^(-x²/2)/√(2π)", 2, (*fn).geluGrad)
	unary("GELUTanh", "computes the tanh-approximated GELU element-wise (len(y) ≥ len(x)):",
		"y[i] = 0.5 * x[i] * (1 + tanh(√(2/π)*(x[i] + 0.044715*x[i]³)))", 2, (*fn).geluTanh)
	grad("GELUTanhBackward", "computes the tanh-approximated GELU's gradient (len(dx), len(dy) ≥ len(x)):",
		"dx[i] = dy[i] * d/dx GELUTanh(x[i])", 2, (*fn).geluTanhGrad)
	bg := mapKernel{name: "BiasGELUNEON", sig: "(y, pre, bias []float32)", outs: []string{"y", "pre"}, ins: []string{"pre", "bias"}, u: 2,
		body: func(f *fn, in []V) []V {
			p := f.fadd(in[0], in[1])
			return []V{f.gelu(p), p}
		}}
	ks = append(ks, kernel{name: bg.name, sig: "(y, pre, bias []float32)",
		doc: []string{bg.name + " adds bias to one row pre in place and applies the exact GELU (len(y), len(pre) ≥ len(bias)):", "",
			"\tfor i := range bias { pre[i] += bias[i]; y[i] = pre[i] * Φ(pre[i]) }"}, gen: bg.gen})
	for _, masked := range []bool{false, true} {
		name, sig, z := "SoftmaxRowsNEON", "(y, x []float32, rows, cols int, scale float32)", "z[c] := scale*x[r*cols+c]"
		if masked {
			name, sig, z = "SoftmaxRowsMaskNEON", "(y, x, mask []float32, rows, cols int, scale float32)", "z[c] := scale*x[r*cols+c] + mask[c]"
		}
		ks = append(ks, kernel{name: name, sig: sig, doc: []string{
			name + " computes the attention softmax of rows rows of width cols (y and x may be the same; no bounds checks):",
			"",
			"\tfor r := 0; r < rows; r++ {",
			"\t\t" + z + " // for every c (scale·x rounded, then the mask added)",
			"\t\tm := max(max(z), -MaxFloat32)",
			"\t\ty[r*cols+c] = exp(z[c]-m) / Σ exp(z-m) // all 0 if the sum is 0 (every z = -Inf)",
			"\t}",
			"",
			"A NaN anywhere in a row's z makes the whole row NaN."},
			gen: func(b *neon.Builder) { genSoftmax(b, name, sig, masked) }})
	}
	ks = append(ks, kernel{name: "SoftmaxRowsBackwardNEON", sig: "(dx, y, dy []float32, rows, cols int, scale float32)",
		doc: []string{"SoftmaxRowsBackwardNEON computes the softmax gradient of rows rows of width cols (dx may be dy; no bounds checks):",
			"",
			"\tfor r := 0; r < rows; r++ {",
			"\t\td := Σ_c dy[r*cols+c] * y[r*cols+c]",
			"\t\tdx[r*cols+c] = scale * y[r*cols+c] * (dy[r*cols+c] - d) // for every c",
			"\t}"},
		gen: func(b *neon.Builder) { genSoftmaxBackward(b, "(dx, y, dy []float32, rows, cols int, scale float32)") }})
	return ks
}
