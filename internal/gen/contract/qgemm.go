package contract

import "fmt"

// QgemmTile is the contract of Qgemm's tile (package kernels, qgemm.go):
// mr rows of quantized activations by the 16 channels of one sliver of a
// QuantizedB, summed exactly in int32, corrected by the rows' zero points
// and scaled to float32. signed says how the activation bytes are read: as
// int8 (q-64, for instructions that multiply signed bytes) or as uint8.
// how names the instructions, for the doc comment.
func QgemmTile(mr int, signed bool, how string) Op {
	elem := "uint8"
	if signed {
		elem = "int8"
	}
	return Op{Name: "QgemmTile",
		Sig: "func(c []float32, ldc int, a []byte, lda int, b []int8, kp int, zp []int32, sa []float32, sum []int32, scale []float32)",
		doc: []string{
			fmt.Sprintf("computes one tile of Qgemm, mr = %d rows of quantized", mr),
			"activations (a, rows lda bytes apart, read as " + elem + ") by the 16 channels of",
			"one sliver of a QuantizedB (b: kp/4 groups of 16 channels x 4 bytes), over",
			"kp bytes (a positive multiple of 4), into c (rows ldc floats apart):",
			"",
			"\tfor r := 0; r < mr; r++ {",
			"\t\tfor j := 0; j < 16; j++ {",
			"\t\t\tvar s int32",
			"\t\t\tfor p := 0; p < kp; p++ {",
			"\t\t\t\ts += int32(" + elem + "(a[r*lda+p])) * int32(b[(p/4)*64+j*4+p%4])",
			"\t\t\t}",
			"\t\t\tc[r*ldc+j] = float32(s-zp[r]*sum[j]) * (sa[r] * scale[j])",
			"\t\t}",
			"\t}",
			"",
			"The products are summed with " + how + ",",
			"exactly: no product or partial sum saturates for activations in 0..127",
			"(-64..63 signed) and weights in -127..127. The int32 arithmetic wraps and",
			"the float32 operations round as Go's do, so the tile equals the loop bit for",
			"bit. It reads a[r*lda : r*lda+kp], zp[r] and sa[r] for r < mr, b[:16*kp],",
			"sum[:16] and scale[:16], and writes c[r*ldc : r*ldc+16] for r < mr, nothing",
			"else; the caller checks the lengths.",
		}}
}

// QgemmTileMR is the Go declaration, beside a tile's stub, of the constant
// name+"MR" that tells package kernels the tile's rows.
func QgemmTileMR(name string, mr int) string {
	return fmt.Sprintf("\n// %sMR is the number of rows %s computes.\nconst %sMR = %d\n", name, name, name, mr)
}
