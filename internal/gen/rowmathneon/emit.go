package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// A small emitter of Go arm64 assembly. The Go assembler has no vector
// floating-point arithmetic besides VFMLA/VFMLS, so the other .4S
// floating-point instructions (and SSHR) are emitted as WORD directives from
// the A64 encodings below, each followed by the instruction in a comment.

// A64 encodings, .4S forms (Q=1, sz=0): Rd | Rn<<5 | Rm<<16.
const (
	encFADD  = 0x4E20D400 // FADD  Vd.4S, Vn.4S, Vm.4S
	encFSUB  = 0x4EA0D400 // FSUB  Vd.4S, Vn.4S, Vm.4S
	encFMUL  = 0x6E20DC00 // FMUL  Vd.4S, Vn.4S, Vm.4S
	encFDIV  = 0x6E20FC00 // FDIV  Vd.4S, Vn.4S, Vm.4S
	encFMAX  = 0x4E20F400 // FMAX  Vd.4S, Vn.4S, Vm.4S (NaN if either is NaN)
	encFMIN  = 0x4EA0F400 // FMIN  Vd.4S, Vn.4S, Vm.4S (NaN if either is NaN)
	encFCMGT = 0x6EA0E400 // FCMGT Vd.4S, Vn.4S, Vm.4S (all ones where n > m)
	encFADDP = 0x6E20D400 // FADDP Vd.4S, Vn.4S, Vm.4S (pairwise)
	encFMAXV = 0x6E30F800 // FMAXV Sd, Vn.4S
	encBIC   = 0x4E601C00 // BIC   Vd.16B, Vn.16B, Vm.16B (n AND NOT m)
	encSSHR  = 0x4F000400 // SSHR  Vd.4S, Vn.4S, #s: immh:immb = 64-s at bit 16
	// by element: Vd.4S op= Vn.4S * Vm.S[i], i = H:L (bits 11, 21), Rm = M:Rm (bits 20:16)
	encFMLAe = 0x4F801000 // FMLA  Vd.4S, Vn.4S, Vm.S[i]
	encFMULe = 0x4F809000 // FMUL  Vd.4S, Vn.4S, Vm.S[i]
)

func enc3(base uint32, d, n, m int) uint32 { return base | uint32(m)<<16 | uint32(n)<<5 | uint32(d) }

func encElem(base uint32, d, n, m, i int) uint32 {
	return base | uint32(i&1)<<21 | uint32(m)<<16 | uint32(i>>1)<<11 | uint32(n)<<5 | uint32(d)
}

// Register plan: V0-V19 are allocated for values, V20-V31 hold the
// function's constants, four per register.
const (
	firstConst = 20
	numTemps   = 20
)

// V is one value for each unrolled copy: V[i] is the register of copy i.
type V []int

// fn is one function being emitted: its body is collected first so that the
// prologue can load exactly the constants the body used.
type fn struct {
	name   string
	body   bytes.Buffer
	used   [numTemps]bool
	consts []uint32
	idx    map[uint32]int
	n      int // unrolled copies in the current block
}

func newFn(name string) *fn { return &fn{name: name, idx: map[uint32]int{}} }

func (f *fn) ins(format string, a ...any) { fmt.Fprintf(&f.body, "\t"+format+"\n", a...) }

func (f *fn) word(w uint32, format string, a ...any) {
	fmt.Fprintf(&f.body, "\tWORD $0x%08x // %s\n", w, fmt.Sprintf(format, a...))
}

func (f *fn) comment(lines ...string) {
	f.body.WriteString("\n")
	for _, l := range lines {
		fmt.Fprintf(&f.body, "\t// %s\n", l)
	}
}

func (f *fn) label(l string) { fmt.Fprintf(&f.body, "\n%s_%s:\n", f.name, l) }

func (f *fn) ref(l string) string { return f.name + "_" + l }

// alloc returns a fresh register.
func (f *fn) alloc() int {
	for r, u := range f.used {
		if !u {
			f.used[r] = true
			return r
		}
	}
	panic(f.name + ": out of vector registers")
}

func (f *fn) newV() V {
	v := make(V, f.n)
	for i := range v {
		v[i] = f.alloc()
	}
	return v
}

// free releases the registers of values no longer needed.
func (f *fn) free(vs ...V) {
	for _, v := range vs {
		for _, r := range v {
			if r < numTemps {
				f.used[r] = false
			}
		}
	}
}

// k returns the register and lane holding the constant with these bits.
func (f *fn) k(bits uint32) (reg, lane int) {
	i, ok := f.idx[bits]
	if !ok {
		i = len(f.consts)
		if i >= 4*(32-firstConst) {
			panic(f.name + ": too many constants")
		}
		f.idx[bits] = i
		f.consts = append(f.consts, bits)
	}
	return firstConst + i/4, i % 4
}

func bitsOf(v float32) uint32 { return math.Float32bits(v) }

// kv returns a new value holding the constant in every lane.
func (f *fn) kv(bits uint32) V {
	r, l := f.k(bits)
	v := f.newV()
	for _, d := range v {
		f.ins("VDUP V%d.S[%d], V%d.S4", r, l, d)
	}
	return v
}

func (f *fn) kf(v float32) V { return f.kv(bitsOf(v)) }

// op3 emits d = n OP m for every copy into new registers.
func (f *fn) op3(enc uint32, name string, n, m V) V {
	d := f.newV()
	for i := range d {
		f.word(enc3(enc, d[i], n[i], m[i]), "%s V%d.4S, V%d.4S, V%d.4S", name, d[i], n[i], m[i])
	}
	return d
}

func (f *fn) fadd(a, b V) V { return f.op3(encFADD, "FADD", a, b) }
func (f *fn) fsub(a, b V) V { return f.op3(encFSUB, "FSUB", a, b) }
func (f *fn) fmul(a, b V) V { return f.op3(encFMUL, "FMUL", a, b) }
func (f *fn) fdiv(a, b V) V { return f.op3(encFDIV, "FDIV", a, b) }
func (f *fn) fmax(a, b V) V { return f.op3(encFMAX, "FMAX", a, b) }
func (f *fn) fmin(a, b V) V { return f.op3(encFMIN, "FMIN", a, b) }
func (f *fn) fcmgt(a, b V) V {
	return f.op3(encFCMGT, "FCMGT", a, b)
}

// goOp3 emits a three-operand instruction the Go assembler knows
// ("OP Vm, Vn, Vd" for d = n OP m).
func (f *fn) goOp3(op, arr string, n, m V) V {
	d := f.newV()
	for i := range d {
		f.ins("%s V%d.%s, V%d.%s, V%d.%s", op, m[i], arr, n[i], arr, d[i], arr)
	}
	return d
}

func (f *fn) and(a, b V) V  { return f.goOp3("VAND", "B16", a, b) }
func (f *fn) bic(a, b V) V  { return f.op3(encBIC, "BIC", a, b) }
func (f *fn) or(a, b V) V   { return f.goOp3("VORR", "B16", a, b) }
func (f *fn) iadd(a, b V) V { return f.goOp3("VADD", "S4", a, b) }
func (f *fn) isub(a, b V) V { return f.goOp3("VSUB", "S4", a, b) }

func (f *fn) shl(a V, s int) V {
	d := f.newV()
	for i := range d {
		f.ins("VSHL $%d, V%d.S4, V%d.S4", s, a[i], d[i])
	}
	return d
}

func (f *fn) sshr(a V, s int) V {
	d := f.newV()
	for i := range d {
		f.word(encSSHR|uint32(64-s)<<16|uint32(a[i])<<5|uint32(d[i]), "SSHR V%d.4S, V%d.4S, #%d", d[i], a[i], s)
	}
	return d
}

// cp copies a value into new registers.
func (f *fn) cp(a V) V {
	d := f.newV()
	for i := range d {
		f.ins("VMOV V%d.B16, V%d.B16", a[i], d[i])
	}
	return d
}

// mulK returns a·c for the constant c (multiply by element).
func (f *fn) mulK(a V, c float32) V {
	r, l := f.k(bitsOf(c))
	d := f.newV()
	for i := range d {
		f.word(encElem(encFMULe, d[i], a[i], r, l), "FMUL V%d.4S, V%d.4S, V%d.S[%d]", d[i], a[i], r, l)
	}
	return d
}

// fmaKTo computes acc += a·c in place for the constant c.
func (f *fn) fmaKTo(acc, a V, c float32) {
	r, l := f.k(bitsOf(c))
	for i := range acc {
		f.word(encElem(encFMLAe, acc[i], a[i], r, l), "FMLA V%d.4S, V%d.4S, V%d.S[%d]", acc[i], a[i], r, l)
	}
}

// fmaTo computes acc += a·b in place.
func (f *fn) fmaTo(acc, a, b V) {
	for i := range acc {
		f.ins("VFMLA V%d.S4, V%d.S4, V%d.S4", b[i], a[i], acc[i])
	}
}

// fma returns a·b + c (c is kept).
func (f *fn) fma(a, b, c V) V {
	d := f.cp(c)
	f.fmaTo(d, a, b)
	return d
}

// horner evaluates Σ coef[k] x^(len-1-k) (highest degree first):
// p = c0; p = c_k + p·x.
func (f *fn) horner(x V, coef []float64) V {
	p := f.kf(float32(coef[0]))
	for _, c := range coef[1:] {
		t := f.kf(float32(c))
		f.fmaTo(t, p, x)
		f.free(p)
		p = t
	}
	return p
}

// blend returns c ? t : f lane by lane (c a full lane mask).
func (f *fn) blend(c, fv, tv V) V {
	d := f.cp(c)
	for i := range d {
		f.ins("VBSL V%d.B16, V%d.B16, V%d.B16", fv[i], tv[i], d[i])
	}
	return d
}

// negMask returns all-ones lanes where the sign bit of x is set.
func (f *fn) negMask(x V) V { return f.sshr(x, 31) }

// ---- file ------------------------------------------------------------------

type file struct {
	out bytes.Buffer
}

// emit writes a finished function: its constant table, TEXT, the constant
// loads and the body.
func (fl *file) emit(f *fn, frame string, argLoads []string) {
	sym := strings.ToLower(f.name[:1]) + f.name[1:] + "const"
	if len(f.consts) > 0 {
		fmt.Fprintf(&fl.out, "\n// constants of %s, four per vector register from V%d\n", f.name, firstConst)
		n := (len(f.consts) + 3) / 4 * 4
		for i := 0; i < n; i++ {
			var b uint32
			if i < len(f.consts) {
				b = f.consts[i]
			}
			fmt.Fprintf(&fl.out, "DATA %s<>+%d(SB)/4, $0x%08x // %g\n", sym, 4*i, b, math.Float32frombits(b))
		}
		fmt.Fprintf(&fl.out, "GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", sym, 4*n)
	}
	fmt.Fprintf(&fl.out, "\n// func %s\nTEXT ·%s(SB), NOSPLIT, %s\n", f.name, f.name, frame)
	for _, l := range argLoads {
		fmt.Fprintf(&fl.out, "\t%s\n", l)
	}
	if len(f.consts) > 0 {
		fmt.Fprintf(&fl.out, "\tMOVD $%s<>(SB), R9\n", sym)
		for r := 0; r < (len(f.consts)+3)/4; r++ {
			fmt.Fprintf(&fl.out, "\tVLD1.P 16(R9), [V%d.S4]\n", firstConst+r)
		}
	}
	fl.out.Write(f.body.Bytes())
	fl.out.WriteString("\tRET\n")
}
