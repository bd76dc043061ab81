package avx

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/petl-go/petl/internal/gen/contract"
)

// The pieces of a kernel that every amd64 generator writes the same way.

// Function starts the kernel of contract op for instruction set isa in c:
// its name, NOSPLIT, op's signature and doc comment, and the pragmas of its
// stub ("noescape").
func Function(c *build.Context, op contract.Op, isa contract.ISA, pragmas ...string) {
	c.Function(op.Full(isa))
	c.Attributes(attr.NOSPLIT)
	c.SignatureExpr(op.Sig)
	for _, p := range pragmas {
		c.Pragma(p)
	}
	c.Doc(op.Doc(isa)...)
}

// generatorError is a mistake of a generator found while it emits (a
// parameter its signature does not have): Generate returns it as its error.
type generatorError struct{ err error }

// Addr is the stack address of argument or result comp (c.Param("x"),
// c.ReturnIndex(0)), for the VEX moves that avo's Load and Store would not
// use.
func Addr(comp gotypes.Component) operand.Mem {
	b, err := comp.Resolve()
	if err != nil {
		panic(generatorError{err})
	}
	return b.Addr
}

// Horizontal reduces the 8 lanes of the YMM view of v with op (VADDPS,
// VMAXPS, ...: op(b, a, d) is d = a OP b) in a fixed order, and returns an
// XMM register whose low lane holds the result.
func Horizontal(c *build.Context, v reg.VecVirtual, op func(...operand.Op)) reg.VecVirtual {
	x := c.XMM()
	c.VEXTRACTF128(operand.Imm(1), v.AsY(), x)
	op(x, v.AsX(), x)
	t := c.XMM()
	c.VMOVHLPS(x, x, t)
	op(t, x, x)
	c.VMOVSHDUP(x, t)
	op(t, x, x)
	return x
}

// BroadcastD emits v = the 32 bits of the general register g in every
// dword lane (VMOVD into the low lane, then VPBROADCASTD).
func BroadcastD(c *build.Context, g reg.Register, v reg.VecVirtual) {
	c.VMOVD(g, v.AsX())
	c.VPBROADCASTD(v.AsX(), v)
}

// Rows addresses the rows of a matrix read in place, stride bytes apart,
// with one index register: rows come in groups of three from a base
// pointer each (base, base + stride, base + 2*stride, the stride as the
// index register with scale 1 or 2), so mr rows need ⌈mr/3⌉ bases.
type Rows struct {
	bases  []reg.Register
	stride reg.Register
}

// NewRows emits the bases of mr rows from a (row 0), base[g] = a +
// 3*g*stride, and returns them.
func NewRows(c *build.Context, a, stride reg.Register, mr int) Rows {
	bases := []reg.Register{a}
	if mr > 3 {
		stride3 := c.GP64()
		c.LEAQ(operand.Mem{Base: stride, Index: stride, Scale: 2}, stride3)
		for g := 1; g*3 < mr; g++ {
			r := c.GP64()
			c.LEAQ(operand.Mem{Base: bases[g-1], Index: stride3, Scale: 1}, r)
			bases = append(bases, r)
		}
	}
	return Rows{bases: bases, stride: stride}
}

// At is the address disp bytes into row r.
func (rs Rows) At(r, disp int) operand.Mem {
	m := operand.Mem{Base: rs.bases[r/3], Disp: disp}
	if r%3 > 0 {
		m.Index, m.Scale = rs.stride, uint8(r%3)
	}
	return m
}

// Advance emits the move of every row on by n bytes.
func (rs Rows) Advance(c *build.Context, n int) {
	for _, b := range rs.bases {
		c.ADDQ(operand.U32(n), b)
	}
}
