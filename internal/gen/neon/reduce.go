package neon

// Pairwise and across-lanes single-precision reductions.

// FADDP emits FADDP Vd.4S, Vn.4S, Vm.4S (pairwise): d = [n0+n1, n2+n3,
// m0+m1, m2+m3].
//
// Encoding (three-register, Q=1, sz=0): U=1, S=0, opcode 11010
// (0x6e20d400).
func (b *Builder) FADDP(d, n, m V) { b.Vec3(0x6e20d400, "FADDP", d, n, m) }

// FADDPScalar emits FADDP Sd, Vn.2S: the scalar Sd = n0 + n1.
//
// Encoding (scalar pairwise, sz=0): 0 1 1 11110 0 0 11000 01101 10 Rn Rd
// (0x7e30d800).
func (b *Builder) FADDPScalar(d, n V) { b.vec2(0x7e30d800, "FADDP S%d, V%d.2S", d, n) }

// FMAXV emits FMAXV Sd, Vn.4S: the scalar Sd = the largest of the four
// lanes of n (NaN if any is NaN).
//
// Encoding (across lanes, Q=1, sz=0): 0 1 1 01110 0 0 11000 01111 10 Rn Rd
// (0x6e30f800).
func (b *Builder) FMAXV(d, n V) { b.vec2(0x6e30f800, "FMAXV S%d, V%d.4S", d, n) }

// FMINV emits FMINV Sd, Vn.4S: the scalar Sd = the smallest of the four
// lanes of n (NaN if any is NaN).
//
// Encoding: FMAXV with o1=1 (bit 23): 0 1 1 01110 1 0 11000 01111 10 Rn Rd
// (0x6eb0f800).
func (b *Builder) FMINV(d, n V) { b.vec2(0x6eb0f800, "FMINV S%d, V%d.4S", d, n) }
