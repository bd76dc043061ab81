package neon

// Op wrappers for the scalar steps around vector loops (a reduction's
// tail, a read-modify-write through one pointer): the two-operand forms of
// the scalar FP instructions, a compare with zero, and loads that leave
// the pointer where it is.

// AddTo emits the scalar d += m (FADDS m, d).
func (b *Builder) AddTo(d, m V) { b.Op("FADDS", m.F(), d.F()) }

// MulBy emits the scalar d *= m (FMULS m, d).
func (b *Builder) MulBy(d, m V) { b.Op("FMULS", m.F(), d.F()) }

// CmpZero emits a compare of the scalar n with 0.0, setting the flags for
// a conditional branch (BEQ when n == 0).
func (b *Builder) CmpZero(n V) { b.Op("FCMPS", "$(0.0)", n.F()) }

// LoadAt emits a load of the block at pointer register p into d without
// advancing p (for a block that is then stored back through p): FMOVS for
// a scalar block, one VLD1 per register otherwise.
func (b *Builder) LoadAt(w Width, p string, d Regs) {
	if w.Scalar {
		b.Op("FMOVS", "("+p+")", d.Reg(0).F())
		return
	}
	each(w, func(i int) { b.Op("VLD1", "("+p+")", List(d.Reg(i), 1)) })
}
