package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/petl-go/petl/internal/gen/neon"
)

// The emitter: each function's body is a neon.Builder, whose encoders emit
// the .4S floating-point instructions the Go assembler lacks (it has
// VFMLA/VFMLS only) as WORD directives, each followed by the instruction in
// a comment.

// encBIC is BIC Vd.16B, Vn.16B, Vm.16B (n AND NOT m), which the listing
// shows with the .4S arrangement of the other three-register instructions.
const encBIC = 0x4E601C00

// Register plan: V0-V19 are allocated for values, V20-V31 hold the
// function's constants, four per register.
const (
	firstConst = 20
	numTemps   = 20
)

// V is one value for each unrolled copy: V[i] is the register of copy i.
type V []neon.V

// fn is one function being emitted: its body is collected first so that the
// prologue can load exactly the constants the body used. Its labels have a
// blank line before them and are prefixed with the function's name.
type fn struct {
	neon.Builder // the body
	name         string
	used         [numTemps]bool
	consts       []uint32
	idx          map[uint32]int
	n            int // unrolled copies in the current block
}

func newFn(name string) *fn {
	f := &fn{name: name, idx: map[uint32]int{}}
	f.SpaceLabels = true
	return f
}

// label places the function's label l.
func (f *fn) label(l string) { f.Label(f.ref(l)) }

// ref is the name of the function's label l.
func (f *fn) ref(l string) string { return f.name + "_" + l }

// alloc returns a fresh register.
func (f *fn) alloc() neon.V {
	for r, u := range f.used {
		if !u {
			f.used[r] = true
			return neon.V(r)
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
func (f *fn) k(bits uint32) (reg neon.V, lane int) {
	i, ok := f.idx[bits]
	if !ok {
		i = len(f.consts)
		if i >= 4*(32-firstConst) {
			panic(f.name + ": too many constants")
		}
		f.idx[bits] = i
		f.consts = append(f.consts, bits)
	}
	return neon.V(firstConst + i/4), i % 4
}

func bitsOf(v float32) uint32 { return math.Float32bits(v) }

// kv returns a new value holding the constant in every lane.
func (f *fn) kv(bits uint32) V {
	r, l := f.k(bits)
	v := f.newV()
	for _, d := range v {
		f.Inst("VDUP %s, %s", r.S(l), d.S4())
	}
	return v
}

func (f *fn) kf(v float32) V { return f.kv(bitsOf(v)) }

// op3 emits d = n OP m with the vector instruction op for every copy into
// new registers.
func (f *fn) op3(op func(b *neon.Builder, d, n, m neon.V), n, m V) V {
	d := f.newV()
	for i := range d {
		op(&f.Builder, d[i], n[i], m[i])
	}
	return d
}

func (f *fn) fadd(a, b V) V  { return f.op3((*neon.Builder).FADD, a, b) }
func (f *fn) fsub(a, b V) V  { return f.op3((*neon.Builder).FSUB, a, b) }
func (f *fn) fmul(a, b V) V  { return f.op3((*neon.Builder).FMUL, a, b) }
func (f *fn) fdiv(a, b V) V  { return f.op3((*neon.Builder).FDIV, a, b) }
func (f *fn) fmax(a, b V) V  { return f.op3((*neon.Builder).FMAX, a, b) }
func (f *fn) fmin(a, b V) V  { return f.op3((*neon.Builder).FMIN, a, b) }
func (f *fn) fcmgt(a, b V) V { return f.op3((*neon.Builder).FCMGT, a, b) }

// goOp3 emits a three-operand instruction the Go assembler knows
// ("OP Vm, Vn, Vd" for d = n OP m).
func (f *fn) goOp3(op, arr string, n, m V) V {
	d := f.newV()
	for i := range d {
		f.Inst("%s V%d.%s, V%d.%s, V%d.%s", op, m[i], arr, n[i], arr, d[i], arr)
	}
	return d
}

func (f *fn) and(a, b V) V { return f.goOp3("VAND", "B16", a, b) }
func (f *fn) bic(a, b V) V {
	return f.op3(func(b *neon.Builder, d, n, m neon.V) { b.Vec3(encBIC, "BIC", d, n, m) }, a, b)
}
func (f *fn) or(a, b V) V   { return f.goOp3("VORR", "B16", a, b) }
func (f *fn) iadd(a, b V) V { return f.goOp3("VADD", "S4", a, b) }
func (f *fn) isub(a, b V) V { return f.goOp3("VSUB", "S4", a, b) }

func (f *fn) shl(a V, s int) V {
	d := f.newV()
	for i := range d {
		f.Inst("VSHL $%d, %s, %s", s, a[i].S4(), d[i].S4())
	}
	return d
}

func (f *fn) sshr(a V, s int) V {
	d := f.newV()
	for i := range d {
		f.SSHR(d[i], a[i], s)
	}
	return d
}

// cp copies a value into new registers.
func (f *fn) cp(a V) V {
	d := f.newV()
	for i := range d {
		f.Inst("VMOV %s, %s", a[i].B16(), d[i].B16())
	}
	return d
}

// mulK returns a·c for the constant c (multiply by element).
func (f *fn) mulK(a V, c float32) V {
	r, l := f.k(bitsOf(c))
	d := f.newV()
	for i := range d {
		f.FMULElem(d[i], a[i], r, l)
	}
	return d
}

// fmaKTo computes acc += a·c in place for the constant c.
func (f *fn) fmaKTo(acc, a V, c float32) {
	r, l := f.k(bitsOf(c))
	for i := range acc {
		f.FMLAElem(acc[i], a[i], r, l)
	}
}

// fmaTo computes acc += a·b in place.
func (f *fn) fmaTo(acc, a, b V) {
	for i := range acc {
		f.Inst("VFMLA %s, %s, %s", b[i].S4(), a[i].S4(), acc[i].S4())
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
		f.Inst("VBSL %s, %s, %s", fv[i].B16(), tv[i].B16(), d[i].B16())
	}
	return d
}

// negMask returns all-ones lanes where the sign bit of x is set.
func (f *fn) negMask(x V) V { return f.sshr(x, 31) }

// load emits the loads of u vectors (or one replicated element) from the
// pointer register p into new registers.
func load(f *fn, p string, u int, scalar bool) V {
	f.n = u
	v := f.newV()
	for _, d := range v {
		if scalar {
			f.Inst("VLD1R.P 4(%s), [%s]", p, d.S4())
		} else {
			f.Inst("VLD1.P 16(%s), [%s]", p, d.S4())
		}
	}
	return v
}

// store emits the stores of v (or lane 0 of v[0]) through p.
func store(f *fn, v V, p string, scalar bool) {
	for _, d := range v {
		if scalar {
			f.Inst("FMOVS %s, (%s)", d.F(), p)
			f.Inst("ADD $4, %s", p)
		} else {
			f.Inst("VST1.P [%s], 16(%s)", d.S4(), p)
		}
	}
}

// emit writes a finished function to b: its constant table, TEXT with args
// bytes of arguments, the argument loads, the constant loads and the body.
func (f *fn) emit(b *neon.Builder, args int, argLoads []string) {
	sym := strings.ToLower(f.name[:1]) + f.name[1:] + "const"
	if len(f.consts) > 0 {
		fmt.Fprintf(b, "\n// constants of %s, four per vector register from V%d\n", f.name, firstConst)
		n := (len(f.consts) + 3) / 4 * 4
		for i := 0; i < n; i++ {
			var c uint32
			if i < len(f.consts) {
				c = f.consts[i]
			}
			fmt.Fprintf(b, "DATA %s<>+%d(SB)/4, $0x%08x // %g\n", sym, 4*i, c, math.Float32frombits(c))
		}
		fmt.Fprintf(b, "GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", sym, 4*n)
	}
	b.Func(f.name, "", 0, args)
	for _, l := range argLoads {
		b.Inst("%s", l)
	}
	if len(f.consts) > 0 {
		b.Inst("MOVD $%s<>(SB), R9", sym)
		for r := 0; r < (len(f.consts)+3)/4; r++ {
			b.Inst("VLD1.P 16(R9), [%s]", neon.V(firstConst+r).S4())
		}
	}
	b.Write(f.Bytes())
	b.Inst("RET")
}
