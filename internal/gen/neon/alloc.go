package neon

import (
	"fmt"
	"math"
)

// Alloc hands out the vector registers V0..V(n-1) to values, lowest free
// first, for generators that compute with values (Vals) rather than with a
// fixed register plan.
type Alloc struct {
	owner string // for panics: the function being emitted
	used  []bool
}

// NewAlloc returns an allocator of V0..V(n-1) for the function owner.
func NewAlloc(owner string, n int) *Alloc { return &Alloc{owner: owner, used: make([]bool, n)} }

// Get returns a free register, now in use.
func (a *Alloc) Get() V {
	for r, u := range a.used {
		if !u {
			a.used[r] = true
			return V(r)
		}
	}
	panic(a.owner + ": out of vector registers")
}

// Vals returns a value of n fresh registers.
func (a *Alloc) Vals(n int) Vals {
	v := make(Vals, n)
	for i := range v {
		v[i] = a.Get()
	}
	return v
}

// Free releases the registers of values no longer needed; registers
// outside the allocator's range (constants, say) are ignored.
func (a *Alloc) Free(vs ...Vals) {
	for _, v := range vs {
		for _, r := range v {
			if int(r) < len(a.used) {
				a.used[r] = false
			}
		}
	}
}

// CheckFree panics unless every register is free (the end of a block).
func (a *Alloc) CheckFree() {
	for r, u := range a.used {
		if u {
			panic(fmt.Sprintf("%s: V%d still allocated after a block", a.owner, r))
		}
	}
}

// Pool is a function's table of float32 constants, four per register from
// register First on, loaded once before the body (Prologue) from a DATA
// table (Data). A constant is used as a lane (MulLane) or broadcast into a
// value.
type Pool struct {
	// Sym is the table's symbol (without <>).
	Sym string
	// First is the register of the first four constants.
	First V

	bits []uint32
	idx  map[uint32]int
}

// NewPool returns an empty pool with table sym from register first on.
func NewPool(sym string, first V) *Pool {
	return &Pool{Sym: sym, First: first, idx: map[uint32]int{}}
}

// Lane returns the register and lane that hold the constant with these
// bits, adding it to the pool the first time.
func (p *Pool) Lane(bits uint32) (reg V, lane int) {
	i, ok := p.idx[bits]
	if !ok {
		i = len(p.bits)
		if i >= 4*(32-int(p.First)) {
			panic(p.Sym + ": too many constants")
		}
		p.idx[bits] = i
		p.bits = append(p.bits, bits)
	}
	return p.First + V(i/4), i % 4
}

// Len returns the number of constants.
func (p *Pool) Len() int { return len(p.bits) }

// regs is the number of registers the constants take.
func (p *Pool) regs() int { return (len(p.bits) + 3) / 4 }

// Data writes the table (DATA and GLOBL, after a comment naming fn), padded
// to whole registers; nothing when the pool is empty.
func (p *Pool) Data(b *Builder, fn string) {
	if len(p.bits) == 0 {
		return
	}
	fmt.Fprintf(b, "\n// constants of %s, four per vector register from V%d\n", fn, p.First)
	n := 4 * p.regs()
	for i := 0; i < n; i++ {
		var c uint32
		if i < len(p.bits) {
			c = p.bits[i]
		}
		fmt.Fprintf(b, "DATA %s<>+%d(SB)/4, $0x%08x // %g\n", p.Sym, 4*i, c, math.Float32frombits(c))
	}
	fmt.Fprintf(b, "GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", p.Sym, 4*n)
}

// Prologue emits the loads of the constants into their registers through
// the general register tmp; nothing when the pool is empty.
func (p *Pool) Prologue(b *Builder, tmp string) {
	if len(p.bits) == 0 {
		return
	}
	b.Op("MOVD", fmt.Sprintf("$%s<>(SB)", p.Sym), tmp)
	for r := 0; r < p.regs(); r++ {
		b.Op("VLD1.P", "16("+tmp+")", List(p.First+V(r), 1))
	}
}
