package neon

// Registers of a block. The kernels work in blocks: the same instructions
// repeated for each vector of a block (an unrolled loop body) or, for the
// tail of a row, once on a single float32 in the low lane. A Width says how
// wide a block is and a Regs which register vector i of the block uses, so
// that one call of an op wrapper (ops.go) emits the whole block.

// Lanes is the number of float32 in a NEON vector.
const Lanes = 4

// Width is how much one block works on: Vecs vectors, or, with Scalar, one
// float32 (scalar FP instructions, which round exactly as the vector ones).
type Width struct {
	Vecs   int
	Scalar bool
}

// Vectors returns the width of a block of n vectors.
func Vectors(n int) Width { return Width{Vecs: n} }

// Scalar is the width of a block of one float32.
var Scalar = Width{Scalar: true}

// Floats returns the number of float32 one block handles.
func (w Width) Floats() int {
	if w.Scalar {
		return 1
	}
	return w.Vecs * Lanes
}

// Regs returns the number of registers of a Group at this width.
func (w Width) Regs() int {
	if w.Scalar {
		return 1
	}
	return w.Vecs
}

// Regs names the registers of a block: Reg(i) is the register of vector i.
type Regs interface{ Reg(i int) V }

// Group is a register group: vector i of a block is in register Group+i
// (consecutive registers, which VLD1 and VST1 take as one list).
type Group V

// Reg returns the register of vector i.
func (g Group) Reg(i int) V { return V(g) + V(i) }

// Bcast is one register holding a value in every lane, used by every vector
// of a block.
type Bcast V

// Reg returns the register itself, for every i.
func (b Bcast) Reg(int) V { return V(b) }

// Vals is a value computed once per unrolled copy: copy i in Vals[i]. Its
// registers come from an Alloc and need not be consecutive.
type Vals []V

// Reg returns the register of copy i.
func (v Vals) Reg(i int) V { return v[i] }

// Width returns the width of a block with one vector per copy.
func (v Vals) Width() Width { return Vectors(len(v)) }
