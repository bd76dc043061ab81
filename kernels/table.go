package kernels

// numVariants is the number of Variant values.
const numVariants = int(NEON) + 1

// opTable holds the implementations of one operation, one slot per variant.
// The generic slot is always filled; a variant without its own entry runs the
// generic code, and tests report that (see forEachVariant in the tests).
type opTable[F any] struct {
	name string
	impl [numVariants]F
	has  [numVariants]bool
}

// newOpTable makes a table for the operation name with its generic reference.
func newOpTable[F any](name string, generic F) *opTable[F] {
	t := &opTable[F]{name: name}
	t.set(Generic, generic)
	return t
}

// set registers f as the implementation for v.
func (t *opTable[F]) set(v Variant, f F) {
	t.impl[v] = f
	t.has[v] = true
}

// get returns the implementation for v, or the generic one if v has none.
func (t *opTable[F]) get(v Variant) F {
	if t.has[v] {
		return t.impl[v]
	}
	return t.impl[Generic]
}

// active returns the implementation for the active variant.
func (t *opTable[F]) active() F { return t.get(Active()) }
