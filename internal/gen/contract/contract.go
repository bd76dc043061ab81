package contract

// Op is the contract of one kernel: its Go name without the instruction set
// suffix, its Go signature ("func(x, y []float32) float32") and its
// definition as the plain Go loop it computes, written once for every
// instruction set. Its doc comment is Doc.
type Op struct {
	Name string
	Sig  string
	// doc is the doc comment after "Name<ISA> ".
	doc []string
}

// Full returns the Go name of the kernel for isa ("DotAVX2").
func (o Op) Full(isa ISA) string { return o.Name + isa.Name }

// Doc returns the stub's doc comment for isa, one line per element: the
// first starts with the full name, code lines start with a tab.
func (o Op) Doc(isa ISA) []string {
	return append([]string{o.Full(isa) + " " + o.doc[0]}, o.doc[1:]...)
}

// ISA is an instruction set as the contracts describe it: its suffix and
// the few notes in which the kernels of different instruction sets differ
// (how a reduction is split over accumulators, how a NaN shows), so that
// the contract of each kernel is written once.
type ISA struct {
	// Name is the suffix of every kernel: AVX2, AVX512, NEON.
	Name string
	// DotOrder is how Dot's accumulators take the elements and are combined
	// (two lines of its doc comment).
	DotOrder [2]string
	// MaxNaN is the second line of Max's doc comment: NaN and signed zeros.
	MaxNaN string
	// BackwardAccumulators is the number of vector accumulators of each of
	// the sums of the layer-norm backward kernels.
	BackwardAccumulators int
	// SumFirst is set where AddLayerNorm forms a row's sum before its
	// mean (K is then the sum's first element), not in the same loop.
	SumFirst bool
	// SoftmaxScale is how the softmax kernels round scale*x (+ mask): the
	// end of a line of their contracts.
	SoftmaxScale string
}

// The instruction sets.
var (
	AVX2 = ISA{
		Name: "AVX2",
		DotOrder: [2]string{
			"(lane l of accumulator a takes i ≡ a*lanes+l mod 4*lanes), then one",
			"vector, combined pairwise, then the tail in order:"},
		MaxNaN:               "NaN when any x[i] is NaN (either zero when the largest is ±0):",
		BackwardAccumulators: 2,
		SoftmaxScale:         ", with one rounding (FMA)",
	}
	AVX512 = withName(AVX2, "AVX512")
	NEON   = ISA{
		Name: "NEON",
		DotOrder: [2]string{
			"(accumulator a takes vector a of each block of 4), then single vectors",
			"into the first, combined pairwise, then the tail in order:"},
		MaxNaN:               "NaN when any x[i] is NaN (FMAX propagates NaN):",
		BackwardAccumulators: 4,
		SumFirst:             true,
		SoftmaxScale:         " (scale·x rounded, then the mask added)",
	}
)

// withName returns isa under another name.
func withName(isa ISA, name string) ISA {
	isa.Name = name
	return isa
}
