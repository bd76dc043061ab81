package neon

import "fmt"

// Single-precision vector arithmetic on all four lanes, which the Go arm64
// assembler lacks (it has VFMLA and VFMLS only).

// Vec3 emits the three-register instruction whose encoding, with the
// register fields zero, is enc: enc | Rm<<16 | Rn<<5 | Rd, commented as
// "name Vd.4S, Vn.4S, Vm.4S". The methods below are built on it; it is
// exported for the rare instruction a single generator needs.
func (b *Builder) Vec3(enc uint32, name string, d, n, m V) {
	b.vec3(enc, name+" V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// vec3 is Vec3 with the comment arm (the Arm syntax, with %d for d, n
// and then m), for the arrangements other than .4S.
func (b *Builder) vec3(enc uint32, arm string, d, n, m V) {
	b.Word(enc|m.check()<<16|n.check()<<5|d.check(), fmt.Sprintf(arm, d, n, m))
}

// vec2 emits the two-register instruction whose encoding, with the register
// fields zero, is enc: enc | Rn<<5 | Rd, commented as arm (its Arm syntax,
// with %d for d and then n).
func (b *Builder) vec2(enc uint32, arm string, d, n V) {
	b.Word(enc|n.check()<<5|d.check(), fmt.Sprintf(arm, d, n))
}

// The three-register single-precision forms (Q=1, sz=0) share the layout
// 0 1 U 01110 S 0 1 Rm opcode 1 Rn Rd, with U, S (bit 23) and the opcode
// below.

// FADD emits FADD Vd.4S, Vn.4S, Vm.4S: d[l] = n[l] + m[l].
//
// Encoding: U=0, S=0, opcode 11010 (0x4e20d400).
func (b *Builder) FADD(d, n, m V) { b.Vec3(0x4e20d400, "FADD", d, n, m) }

// FSUB emits FSUB Vd.4S, Vn.4S, Vm.4S: d[l] = n[l] - m[l].
//
// Encoding: U=0, S=1, opcode 11010 (0x4ea0d400).
func (b *Builder) FSUB(d, n, m V) { b.Vec3(0x4ea0d400, "FSUB", d, n, m) }

// FMUL emits FMUL Vd.4S, Vn.4S, Vm.4S: d[l] = n[l] * m[l].
//
// Encoding: U=1, S=0, opcode 11011 (0x6e20dc00).
func (b *Builder) FMUL(d, n, m V) { b.Vec3(0x6e20dc00, "FMUL", d, n, m) }

// FDIV emits FDIV Vd.4S, Vn.4S, Vm.4S: d[l] = n[l] / m[l].
//
// Encoding: U=1, S=0, opcode 11111 (0x6e20fc00).
func (b *Builder) FDIV(d, n, m V) { b.Vec3(0x6e20fc00, "FDIV", d, n, m) }

// FMAX emits FMAX Vd.4S, Vn.4S, Vm.4S: d[l] = max(n[l], m[l]), NaN where
// either is NaN.
//
// Encoding: U=0, S=0, opcode 11110 (0x4e20f400).
func (b *Builder) FMAX(d, n, m V) { b.Vec3(0x4e20f400, "FMAX", d, n, m) }

// FMIN emits FMIN Vd.4S, Vn.4S, Vm.4S: d[l] = min(n[l], m[l]), NaN where
// either is NaN.
//
// Encoding: U=0, S=1, opcode 11110 (0x4ea0f400).
func (b *Builder) FMIN(d, n, m V) { b.Vec3(0x4ea0f400, "FMIN", d, n, m) }

// FCMGT emits FCMGT Vd.4S, Vn.4S, Vm.4S: d[l] all ones where n[l] > m[l],
// else zero (zero where either is NaN).
//
// Encoding: U=1, S=1, opcode 11100 (0x6ea0e400).
func (b *Builder) FCMGT(d, n, m V) { b.Vec3(0x6ea0e400, "FCMGT", d, n, m) }

// FSQRT emits FSQRT Vd.4S, Vn.4S: d[l] = √n[l].
//
// Encoding (two-register miscellaneous, Q=1, sz=0):
// 0 1 1 01110 1 0 10000 11111 10 Rn Rd (0x6ea1f800).
func (b *Builder) FSQRT(d, n V) { b.vec2(0x6ea1f800, "FSQRT V%d.4S, V%d.4S", d, n) }
