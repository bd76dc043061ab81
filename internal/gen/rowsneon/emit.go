package main

import (
	"fmt"
	"strings"
)

// A small emitter of Go arm64 assembly for the row kernels. The Go
// assembler has no vector floating-point arithmetic besides VFMLA/VFMLS, so
// FADD, FSUB, FMUL, FDIV, FMAX, FSQRT and the pairwise and across-lanes
// reductions on .4S are emitted as WORD directives from the A64 encodings
// below, each with the instruction in a comment.

// A64 encodings of the .4S forms (Q=1, sz=0), Rd | Rn<<5 | Rm<<16.
const (
	encFADD   = 0x4E20D400 // FADD  Vd.4S, Vn.4S, Vm.4S
	encFSUB   = 0x4EA0D400 // FSUB  Vd.4S, Vn.4S, Vm.4S
	encFMUL   = 0x6E20DC00 // FMUL  Vd.4S, Vn.4S, Vm.4S
	encFDIV   = 0x6E20FC00 // FDIV  Vd.4S, Vn.4S, Vm.4S
	encFMAX   = 0x4E20F400 // FMAX  Vd.4S, Vn.4S, Vm.4S
	encFSQRT  = 0x6EA1F800 // FSQRT Vd.4S, Vn.4S
	encFADDP  = 0x6E20D400 // FADDP Vd.4S, Vn.4S, Vm.4S (pairwise)
	encFADDPS = 0x7E30D800 // FADDP Sd, Vn.2S
	encFMAXV  = 0x6E30F800 // FMAXV Sd, Vn.4S
)

// enc3 encodes a three-register instruction.
func enc3(base uint32, d, n, m int) uint32 {
	return base | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

// lanes is the number of float32 in a NEON vector.
const lanes = 4

// kind is the width one block of a loop works at: vecs vectors (4 or 1),
// or one float32 (scalar).
type kind struct {
	vecs   int
	scalar bool
}

var (
	vec4   = kind{vecs: 4}
	vec1   = kind{vecs: 1}
	scalar = kind{scalar: true}
)

// n is the number of floats one block handles.
func (k kind) n() int {
	if k.scalar {
		return 1
	}
	return k.vecs * lanes
}

// regs is the number of registers of a group at this kind.
func (k kind) regs() int {
	if k.scalar {
		return 1
	}
	return k.vecs
}

// r names a vector register operand: a group starting at V(n) (one register
// per vector of the block), or, with b set, one register broadcast to every
// lane and used by every vector of the block.
type r struct {
	n int
	b bool
}

// at is the register of vector i of the block.
func (x r) at(i int) int {
	if x.b {
		return x.n
	}
	return x.n + i
}

// bc returns the broadcast register operand V(n).
func bc(n int) r { return r{n: n, b: true} }

// g returns the register group operand starting at V(n).
func g(n int) r { return r{n: n} }

// file accumulates the assembly text.
type file struct {
	b strings.Builder
}

func (f *file) printf(format string, a ...any) { fmt.Fprintf(&f.b, format, a...) }

// ins emits one instruction.
func (f *file) ins(op string, args ...string) {
	f.printf("\t%-8s %s\n", op, strings.Join(args, ", "))
}

// word emits an encoded instruction with its assembly text as a comment.
func (f *file) word(enc uint32, text string) {
	f.printf("\tWORD     $0x%08x // %s\n", enc, text)
}

func (f *file) comment(format string, a ...any) {
	f.printf("\n\t// "+format+"\n", a...)
}

func (f *file) label(name string) { f.printf("\n%s:\n", name) }

// vop emits d = n op m for a block: an encoded vector instruction per
// vector, or the scalar instruction (Go operand order: m, n, d).
func (f *file) vop(k kind, name string, base uint32, scalarOp string, d, n, m r) {
	if k.scalar {
		f.ins(scalarOp, fr(m.at(0)), fr(n.at(0)), fr(d.at(0)))
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.word(enc3(base, d.at(i), n.at(i), m.at(i)),
			fmt.Sprintf("%s V%d.4S, V%d.4S, V%d.4S", name, d.at(i), n.at(i), m.at(i)))
	}
}

func (f *file) fadd(k kind, d, n, m r) { f.vop(k, "FADD", encFADD, "FADDS", d, n, m) }
func (f *file) fsub(k kind, d, n, m r) { f.vop(k, "FSUB", encFSUB, "FSUBS", d, n, m) }
func (f *file) fmul(k kind, d, n, m r) { f.vop(k, "FMUL", encFMUL, "FMULS", d, n, m) }
func (f *file) fdiv(k kind, d, n, m r) { f.vop(k, "FDIV", encFDIV, "FDIVS", d, n, m) }
func (f *file) fmax(k kind, d, n, m r) { f.vop(k, "FMAX", encFMAX, "FMAXS", d, n, m) }

// fmla emits d += n*m (one rounding).
func (f *file) fmla(k kind, d, n, m r) {
	if k.scalar {
		f.ins("FMADDS", fr(m.at(0)), fr(d.at(0)), fr(n.at(0)), fr(d.at(0)))
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.ins("VFMLA", vr(m.at(i)), vr(n.at(i)), vr(d.at(i)))
	}
}

// fsqrt emits d = √n.
func (f *file) fsqrt(k kind, d, n r) {
	if k.scalar {
		f.ins("FSQRTS", fr(n.at(0)), fr(d.at(0)))
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.word(enc3(encFSQRT, d.at(i), n.at(i), 0), fmt.Sprintf("FSQRT V%d.4S, V%d.4S", d.at(i), n.at(i)))
	}
}

// mov emits d = n.
func (f *file) mov(k kind, d, n r) {
	if k.scalar {
		f.ins("FMOVS", fr(n.at(0)), fr(d.at(0)))
		return
	}
	for i := 0; i < k.vecs; i++ {
		f.ins("VMOV", fmt.Sprintf("V%d.B16", n.at(i)), fmt.Sprintf("V%d.B16", d.at(i)))
	}
}

// load emits a load of the block at p into group d, advancing p.
func (f *file) load(k kind, p string, d int) {
	if k.scalar {
		f.ins("FMOVS.P", "4("+p+")", fr(d))
		return
	}
	f.ins("VLD1.P", fmt.Sprintf("%d(%s)", 16*k.vecs, p), list(d, k.vecs))
}

// store emits a store of group s to the block at p, advancing p.
func (f *file) store(k kind, s int, p string) {
	if k.scalar {
		f.ins("FMOVS.P", fr(s), "4("+p+")")
		return
	}
	f.ins("VST1.P", list(s, k.vecs), fmt.Sprintf("%d(%s)", 16*k.vecs, p))
}

// zero emits d = 0 for vector registers d..d+n-1.
func (f *file) zero(d, n int) {
	for i := 0; i < n; i++ {
		f.ins("VEOR", fmt.Sprintf("V%d.B16", d+i), fmt.Sprintf("V%d.B16", d+i), fmt.Sprintf("V%d.B16", d+i))
	}
}

// dup emits V(d) = F(s) in every lane.
func (f *file) dup(d, s int) { f.ins("VDUP", fmt.Sprintf("V%d.S[0]", s), vr(d)) }

// bcast emits V(d) = the float32 at mem in every lane.
func (f *file) bcast(d int, mem string) {
	f.ins("FMOVS", mem, fr(d))
	f.dup(d, d)
}

// constant emits V(d) = the float32 with the given bits in every lane,
// using tmp.
func (f *file) constant(d int, bits uint32, tmp string) {
	f.ins("MOVW", fmt.Sprintf("$0x%08x", bits), tmp)
	f.ins("FMOVS", tmp, fr(d))
	f.dup(d, d)
}

// foldAdd emits V(a) = (V(a)+V(a+1)) + (V(a+2)+V(a+3)) and then the sum of
// its four lanes into F(a): (l0+l1) + (l2+l3).
func (f *file) foldAdd(a int) {
	f.fadd(vec1, g(a), g(a), g(a+1))
	f.fadd(vec1, g(a+2), g(a+2), g(a+3))
	f.fadd(vec1, g(a), g(a), g(a+2))
	f.word(enc3(encFADDP, a, a, a), fmt.Sprintf("FADDP V%d.4S, V%d.4S, V%d.4S", a, a, a))
	f.word(enc3(encFADDPS, a, a, 0), fmt.Sprintf("FADDP S%d, V%d.2S", a, a))
}

func fr(n int) string { return fmt.Sprintf("F%d", n) }
func vr(n int) string { return fmt.Sprintf("V%d.S4", n) }

// list is the register list V(d)..V(d+n-1) of a VLD1/VST1.
func list(d, n int) string {
	var s []string
	for i := 0; i < n; i++ {
		s = append(s, vr(d+i))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// loop is one pass over count floats in three stages (blocks of 4 vectors,
// single vectors, single floats). body emits one block of the given kind;
// afterVectors, if not nil, runs between the vector stages and the scalar
// tail. n is the counter register.
func (f *file) loop(name, n, count string, body func(k kind), afterVectors func()) {
	f.ins("MOVD", count, n)
	f.label(name + "_blocks")
	f.printf("\t// for ; n >= 16; n -= 16: 4 vectors at a time\n")
	f.ins("CMP", "$16", n)
	f.ins("BLT", name+"_vectors")
	body(vec4)
	f.ins("SUB", "$16", n)
	f.ins("B", name+"_blocks")
	f.label(name + "_vectors")
	f.printf("\t// for ; n >= 4; n -= 4: one vector at a time\n")
	f.ins("CMP", "$4", n)
	f.ins("BLT", name+"_tail")
	body(vec1)
	f.ins("SUB", "$4", n)
	f.ins("B", name+"_vectors")
	f.label(name + "_tail")
	if afterVectors != nil {
		afterVectors()
	}
	f.label(name + "_scalars")
	f.printf("\t// for ; n > 0; n--: one float at a time\n")
	f.ins("CBZ", n, name+"_done")
	body(scalar)
	f.ins("SUB", "$1", n)
	f.ins("B", name+"_scalars")
	f.label(name + "_done")
}

// param is one argument of a kernel: a []float32, an int or a float32.
type param struct {
	name string
	typ  byte // 's' slice, 'i' int, 'f' float32
}

// frame lays out the arguments as the Go ABI0 does on arm64 and returns
// their offsets and the argument size (with a float32 result if ret).
func frame(ps []param, ret bool) (map[string]int, int) {
	off := map[string]int{}
	o := 0
	for _, p := range ps {
		size := map[byte]int{'s': 24, 'i': 8, 'f': 4}[p.typ]
		align := min(size, 8)
		o = (o + align - 1) / align * align
		off[p.name] = o
		o += size
	}
	if ret {
		o = (o + 7) / 8 * 8
		off["ret"] = o
		o += 4
	}
	return off, o
}

// goType is the Go spelling of a parameter type.
func goType(t byte) string {
	return map[byte]string{'s': "[]float32", 'i': "int", 'f': "float32"}[t]
}

// kernel is one function being emitted.
type kernel struct {
	f    *file
	name string
	ps   []param
	off  map[string]int
}

// base returns the operand of slice argument name's data pointer.
func (k *kernel) base(name string) string { return fmt.Sprintf("%s_base+%d(FP)", name, k.off[name]) }

// len returns the operand of slice argument name's length.
func (k *kernel) len(name string) string { return fmt.Sprintf("%s_len+%d(FP)", name, k.off[name]+8) }

// arg returns the operand of scalar argument name.
func (k *kernel) arg(name string) string { return fmt.Sprintf("%s+%d(FP)", name, k.off[name]) }

// ret returns the operand of the float32 result.
func (k *kernel) ret() string { return fmt.Sprintf("ret+%d(FP)", k.off["ret"]) }
