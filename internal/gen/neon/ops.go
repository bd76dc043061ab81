package neon

import "fmt"

// Op wrappers: one method per operation, emitting it for every vector of a
// block of width w (or once, with the scalar instruction, for a scalar
// block). Operands are in the order of the Arm mnemonic, destination first:
// Add(w, d, n, m) is d = n + m. The vector encodings come from vector.go.

// each calls emit for every vector of a block.
func each(w Width, emit func(i int)) {
	for i := 0; i < w.Regs(); i++ {
		emit(i)
	}
}

// arith emits d = n op m: the vector instruction vec per vector, or the
// scalar instruction scalarOp (Go operand order: m, n, d).
func (b *Builder) arith(w Width, vec func(b *Builder, d, n, m V), scalarOp string, d, n, m Regs) {
	if w.Scalar {
		b.Op(scalarOp, m.Reg(0).F(), n.Reg(0).F(), d.Reg(0).F())
		return
	}
	each(w, func(i int) { vec(b, d.Reg(i), n.Reg(i), m.Reg(i)) })
}

// Add emits d = n + m.
func (b *Builder) Add(w Width, d, n, m Regs) { b.arith(w, (*Builder).FADD, "FADDS", d, n, m) }

// Sub emits d = n - m.
func (b *Builder) Sub(w Width, d, n, m Regs) { b.arith(w, (*Builder).FSUB, "FSUBS", d, n, m) }

// Mul emits d = n * m.
func (b *Builder) Mul(w Width, d, n, m Regs) { b.arith(w, (*Builder).FMUL, "FMULS", d, n, m) }

// Div emits d = n / m.
func (b *Builder) Div(w Width, d, n, m Regs) { b.arith(w, (*Builder).FDIV, "FDIVS", d, n, m) }

// Max emits d = max(n, m), NaN where either is NaN.
func (b *Builder) Max(w Width, d, n, m Regs) { b.arith(w, (*Builder).FMAX, "FMAXS", d, n, m) }

// Min emits d = min(n, m), NaN where either is NaN.
func (b *Builder) Min(w Width, d, n, m Regs) { b.arith(w, (*Builder).FMIN, "FMINS", d, n, m) }

// CmpGT emits d = all ones where n > m, else zero (vectors only).
func (b *Builder) CmpGT(w Width, d, n, m Regs) { b.arith(w, (*Builder).FCMGT, "", d, n, m) }

// MulAdd emits d += n * m with one rounding.
func (b *Builder) MulAdd(w Width, d, n, m Regs) {
	if w.Scalar {
		b.Op("FMADDS", m.Reg(0).F(), d.Reg(0).F(), n.Reg(0).F(), d.Reg(0).F())
		return
	}
	each(w, func(i int) { b.Op("VFMLA", m.Reg(i).S4(), n.Reg(i).S4(), d.Reg(i).S4()) })
}

// Sqrt emits d = √n.
func (b *Builder) Sqrt(w Width, d, n Regs) {
	if w.Scalar {
		b.Op("FSQRTS", n.Reg(0).F(), d.Reg(0).F())
		return
	}
	each(w, func(i int) { b.FSQRT(d.Reg(i), n.Reg(i)) })
}

// Move emits d = n.
func (b *Builder) Move(w Width, d, n Regs) {
	if w.Scalar {
		b.Op("FMOVS", n.Reg(0).F(), d.Reg(0).F())
		return
	}
	each(w, func(i int) { b.Op("VMOV", n.Reg(i).B16(), d.Reg(i).B16()) })
}

// bitwise emits d = n op m with the Go assembler's instruction op on the
// arrangement arr ("B16" or "S4"), vectors only.
func (b *Builder) bitwise(w Width, op, arr string, d, n, m Regs) {
	each(w, func(i int) {
		b.Op(op, fmt.Sprintf("V%d.%s", m.Reg(i), arr), fmt.Sprintf("V%d.%s", n.Reg(i), arr), fmt.Sprintf("V%d.%s", d.Reg(i), arr))
	})
}

// And emits d = n AND m.
func (b *Builder) And(w Width, d, n, m Regs) { b.bitwise(w, "VAND", "B16", d, n, m) }

// Or emits d = n OR m.
func (b *Builder) Or(w Width, d, n, m Regs) { b.bitwise(w, "VORR", "B16", d, n, m) }

// AndNot emits d = n AND NOT m (BIC, shown with the .4S arrangement).
func (b *Builder) AndNot(w Width, d, n, m Regs) {
	each(w, func(i int) { b.Vec3(encBIC, "BIC", d.Reg(i), n.Reg(i), m.Reg(i)) })
}

// encBIC is BIC Vd.16B, Vn.16B, Vm.16B.
const encBIC = 0x4E601C00

// IntAdd emits d = n + m on 32-bit integer lanes.
func (b *Builder) IntAdd(w Width, d, n, m Regs) { b.bitwise(w, "VADD", "S4", d, n, m) }

// IntSub emits d = n - m on 32-bit integer lanes.
func (b *Builder) IntSub(w Width, d, n, m Regs) { b.bitwise(w, "VSUB", "S4", d, n, m) }

// ShiftLeft emits d = n << s on 32-bit lanes.
func (b *Builder) ShiftLeft(w Width, d, n Regs, s int) {
	each(w, func(i int) { b.Op("VSHL", fmt.Sprintf("$%d", s), n.Reg(i).S4(), d.Reg(i).S4()) })
}

// ShiftRight emits d = n >> s on 32-bit lanes, arithmetic.
func (b *Builder) ShiftRight(w Width, d, n Regs, s int) {
	each(w, func(i int) { b.SSHR(d.Reg(i), n.Reg(i), s) })
}

// Select emits d = c ? t : f lane by lane, c a full lane mask held in d
// (VBSL).
func (b *Builder) Select(w Width, d, f, t Regs) {
	each(w, func(i int) { b.Op("VBSL", f.Reg(i).B16(), t.Reg(i).B16(), d.Reg(i).B16()) })
}

// MulLane emits d = n * m[lane], m a register of constants.
func (b *Builder) MulLane(w Width, d, n Regs, m V, lane int) {
	each(w, func(i int) { b.FMULElem(d.Reg(i), n.Reg(i), m, lane) })
}

// MulAddLane emits d += n * m[lane], m a register of constants.
func (b *Builder) MulAddLane(w Width, d, n Regs, m V, lane int) {
	each(w, func(i int) { b.FMLAElem(d.Reg(i), n.Reg(i), m, lane) })
}

// Load emits a load of the block at pointer register p into d, advancing p:
// one VLD1 of the whole group if d is a Group, one per register otherwise,
// and FMOVS.P for a scalar block.
func (b *Builder) Load(w Width, p string, d Regs) {
	switch g, isGroup := d.(Group); {
	case w.Scalar:
		b.Op("FMOVS.P", "4("+p+")", d.Reg(0).F())
	case isGroup:
		b.Op("VLD1.P", fmt.Sprintf("%d(%s)", 16*w.Vecs, p), List(V(g), w.Vecs))
	default:
		each(w, func(i int) { b.Op("VLD1.P", "16("+p+")", List(d.Reg(i), 1)) })
	}
}

// LoadReplicate emits, for every register of d, a load of one float32 at p
// into all four lanes, advancing p by 4 each time (the tail of a row run
// through the vector code).
func (b *Builder) LoadReplicate(w Width, p string, d Regs) {
	each(w, func(i int) { b.Op("VLD1R.P", "4("+p+")", List(d.Reg(i), 1)) })
}

// Store emits a store of s to the block at pointer register p, advancing
// p: one VST1 of the whole group if s is a Group, one per register
// otherwise, and FMOVS.P for a scalar block.
func (b *Builder) Store(w Width, s Regs, p string) {
	switch g, isGroup := s.(Group); {
	case w.Scalar:
		b.Op("FMOVS.P", s.Reg(0).F(), "4("+p+")")
	case isGroup:
		b.Op("VST1.P", List(V(g), w.Vecs), fmt.Sprintf("%d(%s)", 16*w.Vecs, p))
	default:
		each(w, func(i int) { b.Op("VST1.P", List(s.Reg(i), 1), "16("+p+")") })
	}
}

// StoreFirst emits, for every register of s, a store of its low lane at p
// and p += 4 (the tail counterpart of LoadReplicate).
func (b *Builder) StoreFirst(w Width, s Regs, p string) {
	each(w, func(i int) {
		b.Op("FMOVS", s.Reg(i).F(), "("+p+")")
		b.Op("ADD", "$4", p)
	})
}

// Zero emits d = 0 for every register of d.
func (b *Builder) Zero(w Width, d Regs) {
	each(w, func(i int) { r := d.Reg(i); b.Op("VEOR", r.B16(), r.B16(), r.B16()) })
}

// Dup emits d = lane l of s in every lane.
func (b *Builder) Dup(d, s V, l int) { b.Op("VDUP", s.S(l), d.S4()) }

// LoadBcast emits d = the float32 at mem in every lane.
func (b *Builder) LoadBcast(d V, mem string) {
	b.Op("FMOVS", mem, d.F())
	b.Dup(d, d, 0)
}

// Constant emits d = the float32 with the given bits in every lane, through
// the general register tmp.
func (b *Builder) Constant(d V, bits uint32, tmp string) {
	b.Op("MOVW", fmt.Sprintf("$0x%08x", bits), tmp)
	b.Op("FMOVS", tmp, d.F())
	b.Dup(d, d, 0)
}

// FoldAdd emits a = (a+(a+1)) + ((a+2)+(a+3)) over four accumulators and
// then the sum of its four lanes into the scalar a: (l0+l1) + (l2+l3).
func (b *Builder) FoldAdd(a V) {
	b.FADD(a, a, a+1)
	b.FADD(a+2, a+2, a+3)
	b.FADD(a, a, a+2)
	b.SumLanes(a, a)
}

// SumLanes emits the scalar d = (n0+n1) + (n2+n3), clobbering n.
func (b *Builder) SumLanes(d, n V) {
	b.FADDP(n, n, n)
	b.FADDPScalar(d, n)
}
