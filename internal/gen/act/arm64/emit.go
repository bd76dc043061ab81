package main

import (
	"math"

	"github.com/petl-go/petl/internal/gen/neon"
)

// The emitter: each function is a neon.Func, whose body is collected before
// its prologue so that exactly the constants the body used are loaded. The
// functions compute with values (V: one register per unrolled copy) from
// the Func's allocator; every method below returns new registers and the
// caller frees what it no longer needs. The instructions themselves are the
// op wrappers of the neon dialect.

// Register plan: V0-V19 are allocated for values, V20-V31 hold the
// function's constants, four per register.
const firstConst neon.V = 20

// V is one value for each unrolled copy: V[i] is the register of copy i.
type V = neon.Vals

// fn is one function being emitted, n copies wide in the current block.
type fn struct {
	*neon.Func
	n int // unrolled copies in the current block
}

// newFn starts the function name with Go signature sig.
func newFn(name, sig string) *fn { return &fn{Func: neon.NewFunc(name, sig, firstConst)} }

// width is the width of the current block.
func (f *fn) width() neon.Width { return neon.Vectors(f.n) }

// alloc returns one fresh register.
func (f *fn) alloc() neon.V { return f.Regs.Get() }

// newV returns a fresh value of the current width.
func (f *fn) newV() V { return f.Regs.Vals(f.n) }

// free releases the registers of values no longer needed.
func (f *fn) free(vs ...V) { f.Regs.Free(vs...) }

// constBits returns a new value holding the constant with these bits in
// every lane.
func (f *fn) constBits(bits uint32) V { return f.Const(f.n, bits) }

// constant returns a new value holding v in every lane.
func (f *fn) constant(v float32) V { return f.constBits(math.Float32bits(v)) }

// op3 returns d = n op m in new registers, op being a neon op wrapper.
func (f *fn) op3(op func(b *neon.Builder, w neon.Width, d, n, m neon.Regs), n, m V) V {
	d := f.Regs.Vals(len(n))
	op(&f.Builder, d.Width(), d, n, m)
	return d
}

func (f *fn) fadd(a, b V) V  { return f.op3((*neon.Builder).Add, a, b) }
func (f *fn) fsub(a, b V) V  { return f.op3((*neon.Builder).Sub, a, b) }
func (f *fn) fmul(a, b V) V  { return f.op3((*neon.Builder).Mul, a, b) }
func (f *fn) fdiv(a, b V) V  { return f.op3((*neon.Builder).Div, a, b) }
func (f *fn) fmax(a, b V) V  { return f.op3((*neon.Builder).Max, a, b) }
func (f *fn) fmin(a, b V) V  { return f.op3((*neon.Builder).Min, a, b) }
func (f *fn) fcmgt(a, b V) V { return f.op3((*neon.Builder).CmpGT, a, b) }
func (f *fn) and(a, b V) V   { return f.op3((*neon.Builder).And, a, b) }
func (f *fn) bic(a, b V) V   { return f.op3((*neon.Builder).AndNot, a, b) }
func (f *fn) or(a, b V) V    { return f.op3((*neon.Builder).Or, a, b) }
func (f *fn) iadd(a, b V) V  { return f.op3((*neon.Builder).IntAdd, a, b) }
func (f *fn) isub(a, b V) V  { return f.op3((*neon.Builder).IntSub, a, b) }

// shl returns a << s on 32-bit lanes.
func (f *fn) shl(a V, s int) V {
	d := f.newV()
	f.ShiftLeft(d.Width(), d, a, s)
	return d
}

// sshr returns a >> s on 32-bit lanes, arithmetic.
func (f *fn) sshr(a V, s int) V {
	d := f.newV()
	f.ShiftRight(d.Width(), d, a, s)
	return d
}

// cp copies a value into new registers.
func (f *fn) cp(a V) V {
	d := f.newV()
	f.Move(d.Width(), d, a)
	return d
}

// mulK returns a·c for the constant c (multiply by element).
func (f *fn) mulK(a V, c float32) V {
	r, l := f.Consts.Lane(math.Float32bits(c))
	d := f.newV()
	f.MulLane(d.Width(), d, a, r, l)
	return d
}

// fmaKTo computes acc += a·c in place for the constant c.
func (f *fn) fmaKTo(acc, a V, c float32) {
	r, l := f.Consts.Lane(math.Float32bits(c))
	f.MulAddLane(acc.Width(), acc, a, r, l)
}

// fmaTo computes acc += a·b in place.
func (f *fn) fmaTo(acc, a, b V) { f.MulAdd(acc.Width(), acc, a, b) }

// fma returns a·b + c (c is kept).
func (f *fn) fma(a, b, c V) V {
	d := f.cp(c)
	f.fmaTo(d, a, b)
	return d
}

// horner evaluates Σ coef[k] x^(len-1-k) (highest degree first):
// p = c0; p = c_k + p·x.
func (f *fn) horner(x V, coef []float64) V {
	p := f.constant(float32(coef[0]))
	for _, c := range coef[1:] {
		t := f.constant(float32(c))
		f.fmaTo(t, p, x)
		f.free(p)
		p = t
	}
	return p
}

// blend returns c ? t : f lane by lane (c a full lane mask).
func (f *fn) blend(c, fv, tv V) V {
	d := f.cp(c)
	f.Select(d.Width(), d, fv, tv)
	return d
}

// negMask returns all-ones lanes where the sign bit of x is set.
func (f *fn) negMask(x V) V { return f.sshr(x, 31) }

// load emits the loads of u vectors (or one replicated element) from the
// pointer register p into new registers.
func load(f *fn, p string, u int, scalar bool) V {
	f.n = u
	v := f.newV()
	if scalar {
		f.LoadReplicate(v.Width(), p, v)
	} else {
		f.Load(v.Width(), p, v)
	}
	return v
}

// store emits the stores of v (or lane 0 of v[0]) through p.
func store(f *fn, v V, p string, scalar bool) {
	if scalar {
		f.StoreFirst(v.Width(), v, p)
	} else {
		f.Store(v.Width(), v, p)
	}
}
