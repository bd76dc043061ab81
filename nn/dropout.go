package nn

// Dropout zeroes each element with probability P during training and scales
// the survivors by 1/(1-P) (inverted dropout, as PyTorch). In evaluation it is
// the identity and callers skip it. The mask is stored so that Backward
// applies exactly the same pattern.
type Dropout struct {
	P float32
}

// Active reports whether the layer changes anything in the given mode.
func (d Dropout) Active(train bool) bool { return train && d.P > 0 }

// Forward draws a fresh mask and computes y = x ⊙ mask.
//
//	y    [n]  output, overwritten (may be x)
//	mask [n]  0 or 1/(1-P) per element, overwritten
//	x    [n]  input
//
// Rather than keeping the mask for Backward, a caller may keep a copy of the
// RNG taken before Forward and regenerate the same mask with Mask.
func (d Dropout) Forward(y, mask, x []float32, rng *RNG) {
	d.Mask(mask[:len(x)], rng)
	for i, m := range mask[:len(x)] {
		y[i] = x[i] * m
	}
}

// Mask draws the mask of Forward (one uniform per element, in order): with
// the same generator state it gives the same mask.
//
//	mask [n]  0 or 1/(1-P) per element, overwritten
func (d Dropout) Mask(mask []float32, rng *RNG) {
	keep := 1 - d.P
	scale := 1 / keep
	for i := range mask {
		m := float32(0)
		if rng.Float32() < keep {
			m = scale
		}
		mask[i] = m
	}
}

// Backward accumulates dx[i] += dy[i]·mask[i].
func (d Dropout) Backward(dx, dy, mask []float32) {
	for i, m := range mask {
		dx[i] += dy[i] * m
	}
}
