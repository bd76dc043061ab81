package contract

import "fmt"

// QgemmTile is the contract of Qgemm's integer tile (package kernels,
// qgemm.go): the int32 sums of mr rows of quantized activations by the 16
// channels of one sliver of a QuantizedB. signed says how the activation
// bytes are read: as int8 (q-64, for instructions that multiply signed
// bytes) or as uint8. how names the instructions, for the doc comment.
func QgemmTile(mr int, signed bool, how string) Op {
	elem := "uint8"
	if signed {
		elem = "int8"
	}
	return Op{Name: "QgemmTile", Sig: "func(acc []int32, a []byte, lda int, b []int8, kp int)", doc: []string{
		fmt.Sprintf("computes the int32 sums of one tile of Qgemm, mr = %d rows of", mr),
		"quantized activations (a, rows lda bytes apart, read as " + elem + ") by the 16",
		"channels of one sliver of a QuantizedB (b: kp/4 groups of 16 channels x 4",
		"bytes), over kp bytes, kp a positive multiple of 4:",
		"",
		"\tfor r := 0; r < mr; r++ {",
		"\t\tfor j := 0; j < 16; j++ {",
		"\t\t\tvar s int32",
		"\t\t\tfor p := 0; p < kp; p++ {",
		"\t\t\t\ts += int32(" + elem + "(a[r*lda+p])) * int32(b[(p/4)*64+j*4+p%4])",
		"\t\t\t}",
		"\t\t\tacc[r*16+j] = s",
		"\t\t}",
		"\t}",
		"",
		"The products are summed with " + how + ",",
		"exactly: no product or partial sum saturates for activations",
		"in 0..127 (-64..63 signed) and weights in -127..127. It reads",
		"a[r*lda : r*lda+kp] for r < mr, b[:16*kp] and writes acc[:mr*16],",
		"nothing else; the caller checks the lengths.",
	}}
}
