package main

import "github.com/petl-go/petl/internal/gen/neon"

// The row kernels are written in the NEON dialect of internal/gen/neon: a
// block of a loop has a neon.Width (vec4, vec1 or scalar), its operands are
// register groups (neon.Group: one register per vector of the block) or
// broadcast registers (neon.Bcast), and the op wrappers (Add, Mul, MulAdd,
// Load, Store, ...) emit the whole block.

// The widths of the three stages of a loop over a row.
var (
	vec4   = neon.Vectors(4)
	vec1   = neon.Vectors(1)
	scalar = neon.Scalar
)

// file is the assembly file being emitted: instructions with their operands
// aligned (neon.Builder.Op) and a blank line before every label.
type file struct {
	*neon.Builder
	stubs *neon.Stubs // the Go declarations
}

// loop is one pass over count floats in three stages (blocks of 4 vectors,
// single vectors, single floats). body emits one block of the given width;
// afterVectors, if not nil, runs between the vector stages and the scalar
// tail. counter is the counter register.
func (f *file) loop(name, counter, count string, body func(w neon.Width), afterVectors func()) {
	f.Op("MOVD", count, counter)
	f.Loop(counter, []neon.Stage{
		{Label: name + "_blocks", Step: vec4.Floats(), Body: func() { body(vec4) },
			Head: func() { f.Note("for ; n >= 16; n -= 16: 4 vectors at a time") }},
		{Label: name + "_vectors", Step: vec1.Floats(), Body: func() { body(vec1) },
			Head: func() { f.Note("for ; n >= 4; n -= 4: one vector at a time") }},
		{Label: name + "_tail", Body: afterVectors},
		{Label: name + "_scalars", Step: scalar.Floats(), Body: func() { body(scalar) },
			Head: func() { f.Note("for ; n > 0; n--: one float at a time") }},
	}, name+"_done")
}
