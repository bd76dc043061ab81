package contract

// The row kernels of Qgemm's activation quantization (package kernels,
// qrows.go): the range of a row, then its bytes. The scalar decisions
// between them (the width, the scale, the zero point, the rows that take
// the reference path) are Go code shared by every variant.

// QRowRange is the range of a row, zero included.
var QRowRange = Op{Name: "QRowRange", Sig: "func(x []float32) (lo, hi float32)", doc: []string{
	"returns the range of x with zero included:",
	"",
	"\tlo, hi = 0, 0",
	"\tfor _, v := range x {",
	"\t\tlo, hi = min(lo, v), max(hi, v)",
	"\t}",
	"",
	"up to the sign of a zero result, except that when some x[i] is NaN",
	"lo or hi is NaN, and on amd64 also when some x[i] is ±Inf (lo is",
	"then NaN: every x[i]*0 is summed into it). Either way hi - lo is",
	"NaN or ±Inf exactly when the loop's is.",
}}

// QRowBytes is the quantized bytes of a row, given its constants.
var QRowBytes = Op{Name: "QRowBytes", Sig: "func(dst []byte, x []float32, inv float32, z, shift int32)", doc: []string{
	"quantizes x into dst[:len(x)] (dst at least as long), with",
	"roundEven rounding half to even (the default rounding mode):",
	"",
	"\tfor i, v := range x {",
	"\t\tq := roundEven(v*inv) + z",
	"\t\tdst[i] = byte(min(127, max(0, q)) - shift)",
	"\t}",
	"",
	"for |x[i]*inv| < 2²² and 0 <= z <= 127, shift 0 or 64. It writes",
	"dst[:len(x)] and nothing else.",
}}
