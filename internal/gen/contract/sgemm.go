// Package contract holds the definition of the SGEMM micro-kernel that the
// amd64 and arm64 generators write into their stubs' doc comments, so that
// every architecture documents the same contract in the same words.
package contract

import "fmt"

// Kernel is the doc comment of the micro-kernel name computing an mr x nr
// tile with instruction set isa: its definition as a Go loop.
func Kernel(name, isa string, mr, nr int) []string {
	lines := []string{
		fmt.Sprintf("%s computes a %dx%d tile of C from packed panels of A and B,", name, mr, nr),
		fmt.Sprintf("with %s (mr = %d, nr = %d; k >= 1):", isa, mr, nr),
		"",
	}
	lines = append(lines, loop("a[p*mr+i]")...)
	return append(append(lines,
		"",
		"a points at k*mr floats, b at k*nr floats and c at an mr x nr tile with",
		"leading dimension ldc. The products are summed with FMA in order of p.",
		""), prefetch...)
}

// prefetch is the doc comment's paragraph on the kernels' pf argument.
var prefetch = []string{
	"pf is a hint: in trip t of its loop over p (unroll steps a trip) the",
	"kernel asks for the 64-byte cache line at pf + 64*t to be brought into",
	"L1, k/unroll lines in all, for the next panel of B; a prefetch neither",
	"faults nor changes memory.",
}

// KernelDirect is the doc comment of the micro-kernel name that does what
// the kernel packed does with A read in place: row i of the tile's A at
// a[i*lda:], contiguous over p, instead of a packed panel.
func KernelDirect(name, packed, isa string, mr, nr int) []string {
	lines := []string{
		fmt.Sprintf("%s is %s with A read in place: it computes a %dx%d", name, packed, mr, nr),
		fmt.Sprintf("tile of C from %d rows of A, lda floats apart, and a packed panel of B,", mr),
		fmt.Sprintf("with %s (k >= 1):", isa),
		"",
	}
	lines = append(lines, loop("a[i*lda+p]")...)
	return append(append(lines,
		"",
		"It reads a[i*lda : i*lda+k] for each row i and nothing else of a. The",
		fmt.Sprintf("products are summed with FMA in order of p, as in %s, so the two", packed),
		"give bitwise the same tile for the same operands.",
		""), prefetch...)
}

// loop is a kernel's definition as a Go loop, A's element (i, p) written as
// aElem.
func loop(aElem string) []string {
	return []string{
		"\tfor i := 0; i < mr; i++ {",
		"\t\tfor j := 0; j < nr; j++ {",
		"\t\t\tvar s float32",
		"\t\t\tfor p := 0; p < k; p++ {",
		"\t\t\t\ts += " + aElem + " * b[p*nr+j]",
		"\t\t\t}",
		"\t\t\tif beta == 0 {",
		"\t\t\t\tc[i*ldc+j] = alpha * s // c is not read",
		"\t\t\t} else {",
		"\t\t\t\tc[i*ldc+j] = alpha*s + beta*c[i*ldc+j]",
		"\t\t\t}",
		"\t\t}",
		"\t}",
	}
}
