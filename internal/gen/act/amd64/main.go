//go:generate go run . -out ../../../../kernels/internal/asm/act_amd64.s -stubs ../../../../kernels/internal/asm/act_amd64.go -pkg asm

// Command amd64 (internal/gen/act/amd64) generates asm/act_amd64.s and its stubs: the vectorised
// transcendental row kernels (exp, tanh, the exact GELU and its
// gradient, the fused bias + GELU epilogue, and the attention softmax
// forward and backward) for AVX2+FMA and AVX-512, from one description
// parameterised by vector width.
package main

import (
	"fmt"
	"github.com/petl-go/petl/internal/gen/avx"
	"github.com/petl-go/petl/internal/gen/contract"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	avx.Command("internal/gen/act/amd64", "!purego", func(c *build.Context) {
		ctx = c
		for _, s := range []*isa{avx2, avx512} {
			genMaps(s)
			genSoftmax(s, false)
			genSoftmax(s, true)
			genSoftmaxBackward(s)
		}
		pool.emit()
	})
}

// mapSpec describes an element-wise kernel: out[k][i] = body(in...)[k].
type mapSpec struct {
	op     contract.Op // name, signature and doc comment
	outs   []string    // output slice parameters
	ins    []string    // input slice parameters; the last one's length is n
	unroll [2]int      // vectors per main-loop iteration: AVX2, AVX-512 (register pressure decides)
	body   func(e *E, in []V) []V
}

func genMaps(s *isa) {
	unary := func(op contract.Op, f func(e *E, x V) V) mapSpec {
		return mapSpec{
			op: op, outs: []string{"y"}, ins: []string{"x"}, unroll: [2]int{4, 4},
			body: func(e *E, in []V) []V { return []V{f(e, in[0])} },
		}
	}
	grad := func(op contract.Op, f func(e *E, x V) V) mapSpec {
		return mapSpec{
			op: op, outs: []string{"dx"}, ins: []string{"dy", "x"}, unroll: [2]int{4, 4},
			body: func(e *E, in []V) []V {
				return []V{e.mul(f(e, in[1]), in[0])}
			},
		}
	}
	specs := []mapSpec{
		unary(contract.Exp, (*E).expFull),
		unrolled(2, 4, unary(contract.Tanh, (*E).tanh)),
		unrolled(2, 2, unary(contract.GELU, (*E).gelu)),
		unrolled(2, 2, grad(contract.GELUBackward, (*E).geluGrad)),
		{
			op: contract.BiasGELU, outs: []string{"y", "pre"},
			ins: []string{"pre", "bias"}, unroll: [2]int{2, 2},
			body: func(e *E, in []V) []V {
				p := e.add(in[0], in[1])
				return []V{e.gelu(p), p}
			},
		},
	}
	for _, sp := range specs {
		genMap(s, sp)
	}
}

// unrolled sets the unroll factors of a spec (AVX2, AVX-512).
func unrolled(avx2, avx512 int, sp mapSpec) mapSpec {
	sp.unroll = [2]int{avx2, avx512}
	return sp
}

// genMap emits one element-wise kernel: an unrolled main loop, a one-vector
// loop and a masked tail.
func genMap(s *isa, sp mapSpec) {
	function(s, sp.op)
	ptrs := map[string]reg.GPVirtual{}
	var order []string
	for _, p := range append(append([]string{}, sp.outs...), sp.ins...) {
		if _, ok := ptrs[p]; ok {
			continue
		}
		ptrs[p] = gp(ctx.Param(p).Base())
		order = append(order, p)
	}
	n := gp(ctx.Param(sp.ins[len(sp.ins)-1]).Len())

	advance := func(k int) {
		for _, p := range order {
			ctx.ADDQ(operand.U32(k*s.bytes()), ptrs[p])
		}
		ctx.SUBQ(operand.U32(k*s.lanes), n)
	}
	body := func(u int, load func(p string, j int) reg.VecVirtual, store func(v reg.VecVirtual, p string, j int)) {
		e := &E{s: s, n: u}
		in := make([]V, len(sp.ins))
		for k, p := range sp.ins {
			in[k] = make(V, u)
			for j := 0; j < u; j++ {
				in[k][j] = load(p, j)
			}
		}
		outs := sp.body(e, in)
		for k, p := range sp.outs {
			for j := 0; j < u; j++ {
				store(outs[k][j], p, j)
			}
		}
	}
	full := func(p string, j int) reg.VecVirtual {
		v := s.vec()
		ctx.VMOVUPS(operand.Mem{Base: ptrs[p], Disp: j * s.bytes()}, v)
		return v
	}
	fullStore := func(v reg.VecVirtual, p string, j int) {
		ctx.VMOVUPS(v, operand.Mem{Base: ptrs[p], Disp: j * s.bytes()})
	}

	u := sp.unroll[0]
	if s.zmm {
		u = sp.unroll[1]
	}
	lbl := func(l string) string { return fmt.Sprintf("%s_%s", sp.op.Name, l) }
	ctx.Label(lbl("loop"))
	ctx.Commentf("while n ≥ %d: %d vectors at a time", u*s.lanes, u)
	ctx.CMPQ(n, operand.U32(u*s.lanes))
	ctx.JB(operand.LabelRef(lbl("single")))
	body(u, full, fullStore)
	advance(u)
	ctx.JMP(operand.LabelRef(lbl("loop")))

	ctx.Label(lbl("single"))
	ctx.Commentf("while n ≥ %d: one vector", s.lanes)
	ctx.CMPQ(n, operand.U32(s.lanes))
	ctx.JB(operand.LabelRef(lbl("tail")))
	body(1, full, fullStore)
	advance(1)
	ctx.JMP(operand.LabelRef(lbl("single")))

	ctx.Label(lbl("tail"))
	ctx.Comment("0 < n < lanes: masked load, compute, masked store")
	ctx.TESTQ(n, n)
	ctx.JZ(operand.LabelRef(lbl("done")))
	tm := s.tailMask(n)
	body(1,
		func(p string, j int) reg.VecVirtual { return s.loadTail(operand.Mem{Base: ptrs[p]}, tm) },
		func(v reg.VecVirtual, p string, j int) { s.storeTail(v, operand.Mem{Base: ptrs[p]}, tm) })

	ctx.Label(lbl("done"))
	s.ret()
}
