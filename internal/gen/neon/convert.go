package neon

// Conversions between float32 and int32 lanes and narrowing of integer
// lanes with saturation, for the int8 kernels. All are two-register
// miscellaneous forms (vec2).

// FCVTNS emits FCVTNS Vd.4S, Vn.4S: d[l] = n[l] rounded to the nearest
// int32, ties to even (saturating).
//
// Encoding (Q=1, U=0, sz=0, opcode 11010): 0x4e21a800.
func (b *Builder) FCVTNS(d, n V) { b.vec2(0x4e21a800, "FCVTNS V%d.4S, V%d.4S", d, n) }

// SQXTN emits SQXTN Vd.4H, Vn.4S: the low half of d = n narrowed to int16
// with signed saturation, the high half zeroed.
//
// Encoding (Q=0, U=0, size=01, opcode 10100): 0x0e614800.
func (b *Builder) SQXTN(d, n V) { b.vec2(0x0e614800, "SQXTN V%d.4H, V%d.4S", d, n) }

// SQXTN2 emits SQXTN2 Vd.8H, Vn.4S: the high half of d = n narrowed to
// int16 with signed saturation.
//
// Encoding: SQXTN with Q=1 (0x4e614800).
func (b *Builder) SQXTN2(d, n V) { b.vec2(0x4e614800, "SQXTN2 V%d.8H, V%d.4S", d, n) }

// SQXTUN emits SQXTUN Vd.8B, Vn.8H: the low half of d = the int16 lanes of
// n narrowed to uint8 with saturation (0..255), the high half zeroed.
//
// Encoding (Q=0, U=1, size=00, opcode 10010): 0x2e212800.
func (b *Builder) SQXTUN(d, n V) { b.vec2(0x2e212800, "SQXTUN V%d.8B, V%d.8H", d, n) }

// SQXTUN2 emits SQXTUN2 Vd.16B, Vn.8H: the high half of d = the int16
// lanes of n narrowed to uint8 with saturation.
//
// Encoding: SQXTUN with Q=1 (0x6e212800).
func (b *Builder) SQXTUN2(d, n V) { b.vec2(0x6e212800, "SQXTUN2 V%d.16B, V%d.8H", d, n) }
