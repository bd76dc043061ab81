//go:generate go run . -out ../../../../kernels/internal/asm/act_arm64.s -stubs ../../../../kernels/internal/asm/act_arm64.go

// Command arm64 (internal/gen/act/arm64) generates asm/act_arm64.s and its stubs: the NEON
// versions of the transcendental row kernels that internal/gen/act/amd64
// generates for amd64 (exp, tanh, the exact GELU and its
// gradient, the fused bias + GELU epilogue, the attention softmax forward
// and backward), with the same approximations (package coef).
package main

import (
	"fmt"
	"github.com/petl-go/petl/internal/gen/contract"

	"github.com/petl-go/petl/internal/gen/neon"
)

func main() {
	neon.Command("internal/gen/act/arm64", "!purego", func(b *neon.Builder, s *neon.Stubs) {
		for _, k := range kernels() {
			k.gen(b)
			s.Kernel(k.op, contract.NEON)
		}
	})
}

// kernel is one generated function: its contract and its emitter.
type kernel struct {
	op  contract.Op
	gen func(b *neon.Builder)
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

// kernels returns every kernel of the file, in order.
func kernels() []kernel {
	var ks []kernel
	add := func(op contract.Op, gen func(b *neon.Builder, name, sig string)) {
		ks = append(ks, kernel{op: op, gen: func(b *neon.Builder) { gen(b, op.Full(contract.NEON), op.Sig) }})
	}
	elementwise := func(op contract.Op, outs, ins []string, u int, body func(f *fn, in []V) []V) {
		add(op, func(b *neon.Builder, name, sig string) {
			mapKernel{name: name, sig: sig, outs: outs, ins: ins, u: u, body: body}.gen(b)
		})
	}
	unary := func(op contract.Op, body func(f *fn, x V) V) {
		elementwise(op, []string{"y"}, []string{"x"}, 2, func(f *fn, in []V) []V { return []V{body(f, in[0])} })
	}
	grad := func(op contract.Op, body func(f *fn, x V) V) {
		elementwise(op, []string{"dx"}, []string{"dy", "x"}, 2, func(f *fn, in []V) []V {
			d := body(f, in[1])
			r := f.fmul(d, in[0])
			f.free(d)
			return []V{r}
		})
	}
	unary(contract.Exp, (*fn).expFull)
	unary(contract.Tanh, (*fn).tanh)
	unary(contract.GELU, (*fn).gelu)
	grad(contract.GELUBackward, (*fn).geluGrad)
	elementwise(contract.BiasGELU, []string{"y", "pre"}, []string{"pre", "bias"}, 2, func(f *fn, in []V) []V {
		p := f.fadd(in[0], in[1])
		return []V{f.gelu(p), p}
	})
	add(contract.SoftmaxRows(contract.NEON, false), func(b *neon.Builder, name, sig string) { genSoftmax(b, name, sig, false) })
	add(contract.SoftmaxRows(contract.NEON, true), func(b *neon.Builder, name, sig string) { genSoftmax(b, name, sig, true) })
	add(contract.SoftmaxRowsBackward, genSoftmaxBackward)
	return ks
}
