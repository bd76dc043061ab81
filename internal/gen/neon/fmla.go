package neon

import "fmt"

// Single-precision multiply and multiply-add by element, which the Go arm64
// assembler lacks (it has VFMLA for the vector form only).

// FMLAElem emits FMLA Vd.4S, Vn.4S, Vm.S[idx]: d[l] += n[l] * m[idx] for the
// four lanes l.
//
// Encoding (FMLA by element, single precision, Q=1):
// 0 1 0 01111 1 0 L M Rm(4) 0001 H 0 Rn Rd, with idx = H:L and Vm = M:Rm.
func (b *Builder) FMLAElem(d, n, m V, idx int) {
	b.Word(byElement(0x4f801000, d, n, m, idx), fmt.Sprintf("FMLA V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, idx))
}

// FMULElem emits FMUL Vd.4S, Vn.4S, Vm.S[idx]: d[l] = n[l] * m[idx].
//
// Encoding (FMUL by element, single precision, Q=1):
// 0 1 0 01111 1 0 L M Rm(4) 1001 H 0 Rn Rd, with idx = H:L and Vm = M:Rm.
func (b *Builder) FMULElem(d, n, m V, idx int) {
	b.Word(byElement(0x4f809000, d, n, m, idx), fmt.Sprintf("FMUL V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, idx))
}

// byElement fills the register and index fields of a by-element
// instruction on 32-bit elements (.S[idx], or SDOT's .4B[idx]).
func byElement(base uint32, d, n, m V, idx int) uint32 {
	if idx < 0 || idx > 3 {
		panic(fmt.Sprintf("neon: lane index %d out of range 0..3", idx))
	}
	h, l := uint32(idx>>1), uint32(idx&1)
	return base | l<<21 | m.check()<<16 | h<<11 | n.check()<<5 | d.check()
}
