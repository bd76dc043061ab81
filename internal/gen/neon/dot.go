package neon

import "fmt"

// Integer dot products and widening multiplies on bytes, which the Go
// arm64 assembler lacks: SDOT (by element, the dot-product extension) and
// SMULL, SMULL2, SADALP, ADDP, for the int8 kernels.

// SDOTElem emits SDOT Vd.4S, Vn.16B, Vm.4B[idx]: for each lane l,
// d[l] += Σ_{t<4} int8(n[4l+t]) * int8(m[4*idx+t]) (FEAT_DotProd).
//
// Encoding (SDOT by element, Q=1, U=0, size=10):
// 0 1 0 01111 10 L M Rm(4) 1110 H 0 Rn Rd (0x4f80e000), idx = H:L, Vm = M:Rm.
func (b *Builder) SDOTElem(d, n, m V, idx int) {
	b.Word(byElement(0x4f80e000, d, n, m, idx), fmt.Sprintf("SDOT V%d.4S, V%d.16B, V%d.4B[%d]", d, n, m, idx))
}

// SMULL emits SMULL Vd.8H, Vn.8B, Vm.8B: d[l] = int16(n[l]) * int16(m[l])
// for the low eight bytes.
//
// Encoding (three registers, different types, Q=0, U=0, size=00, opcode
// 1100): 0 0 0 01110 00 1 Rm 1100 00 Rn Rd (0x0e20c000).
func (b *Builder) SMULL(d, n, m V) { b.vec3(0x0e20c000, "SMULL V%d.8H, V%d.8B, V%d.8B", d, n, m) }

// SMULL2 emits SMULL2 Vd.8H, Vn.16B, Vm.16B: SMULL of the high eight bytes.
//
// Encoding: SMULL with Q=1 (0x4e20c000).
func (b *Builder) SMULL2(d, n, m V) { b.vec3(0x4e20c000, "SMULL2 V%d.8H, V%d.16B, V%d.16B", d, n, m) }

// SADALP emits SADALP Vd.4S, Vn.8H: d[l] += int32(n[2l]) + int32(n[2l+1])
// (the int16 pairs widened before they are added).
//
// Encoding (two-register miscellaneous, Q=1, U=0, size=01, opcode 00110):
// 0 1 0 01110 01 10000 00110 10 Rn Rd (0x4e606800).
func (b *Builder) SADALP(d, n V) { b.vec2(0x4e606800, "SADALP V%d.4S, V%d.8H", d, n) }

// ADDP emits ADDP Vd.4S, Vn.4S, Vm.4S: d = [n0+n1, n2+n3, m0+m1, m2+m3] on
// 32-bit integer lanes.
//
// Encoding (three registers, same type, Q=1, U=0, size=10, opcode 10111):
// 0 1 0 01110 10 1 Rm 10111 1 Rn Rd (0x4ea0bc00).
func (b *Builder) ADDP(d, n, m V) { b.Vec3(0x4ea0bc00, "ADDP", d, n, m) }

// MUL emits MUL Vd.4S, Vn.4S, Vm.4S: d[l] = n[l] * m[l] on 32-bit integer
// lanes (the low 32 bits of the product).
//
// Encoding (three registers, same type, Q=1, U=0, size=10, opcode 10011):
// 0 1 0 01110 10 1 Rm 10011 1 Rn Rd (0x4ea09c00).
func (b *Builder) MUL(d, n, m V) { b.Vec3(0x4ea09c00, "MUL", d, n, m) }

// SCVTF emits SCVTF Vd.4S, Vn.4S: d[l] = float32(int32(n[l])), rounded to
// nearest, ties to even, as Go's conversion.
//
// Encoding (two-register miscellaneous, Q=1, U=0, sz=0, opcode 11101):
// 0 1 0 01110 0 0 10000 11101 10 Rn Rd (0x4e21d800).
func (b *Builder) SCVTF(d, n V) { b.vec2(0x4e21d800, "SCVTF V%d.4S, V%d.4S", d, n) }
