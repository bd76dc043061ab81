package nn

import (
	"math"

	"github.com/petl-go/petl/internal/splitmix"
	"github.com/petl-go/petl/kernels"
)

// Dropout zeroes each element with probability P during training and scales
// the survivors by 1/(1-P) (inverted dropout, as PyTorch). In evaluation it is
// the identity and callers skip it.
//
// The mask draws one uniform per element, in order, from an RNG (element i
// is kept when the i-th Float32 is below 1-P). A caller need not store it:
// a copy of the generator taken before Forward (or Apply) regenerates the
// same mask with Mask, or applies it again with Apply.
type Dropout struct {
	P float32
}

// Active reports whether the layer changes anything in the given mode.
func (d Dropout) Active(train bool) bool { return train && d.P > 0 }

// keepBelow returns the threshold and the scale of the mask: an element
// whose draw u has u>>40 < thr is kept and scaled by scale. Since Float32
// returns (u>>40)·2⁻²⁴ exactly, this is Float32() < 1-P.
func (d Dropout) keepBelow() (thr uint64, scale float32) {
	keep := 1 - d.P
	if !(keep > 0) {
		return 0, 0
	}
	return uint64(math.Ceil(float64(keep) * (1 << 24))), 1 / keep
}

// maskValue returns the mask element of the draw splitmix.Mix64(s): scale when kept,
// else 0 (without a branch: kept draws are random, so a branch would
// mispredict).
func maskValue(s, thr uint64, scaleBits uint32) float32 {
	kept := uint32(((splitmix.Mix64(s) >> 40) - thr) >> 63) // 1 when u>>40 < thr (both < 2^25)
	return math.Float32frombits(scaleBits & -kept)
}

// Forward draws a fresh mask and computes y = x ⊙ mask.
//
//	y    [n]  output, overwritten (may be x)
//	mask [n]  0 or 1/(1-P) per element, overwritten
//	x    [n]  input
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
func (d Dropout) Mask(mask []float32, rng *RNG) { d.MaskRows(mask, len(mask), len(mask), rng) }

// Apply computes y = x ⊙ mask with a freshly drawn mask, without storing
// it: the same as Forward, and Backward's dx = dy ⊙ mask when given the
// generator state Forward started from.
//
//	y [n]  output, overwritten (may be x)
//	x [n]  input
func (d Dropout) Apply(y, x []float32, rng *RNG) { d.ApplyRows(y, x, len(x), len(x), rng) }

// MaskRows is Mask for chunks of a larger tensor: mask holds chunks of n
// elements that start stride elements apart in a tensor whose whole mask
// Mask would draw, and each chunk gets the elements of that whole mask at
// its place. The generator ends where the whole mask would leave it
// (len(mask)/n chunks of stride draws each). With n = stride it is Mask.
// A layer that computes only some rows (the [CLS] rows, say) thus drops
// exactly what the full layer would drop in those rows.
func (d Dropout) MaskRows(mask []float32, n, stride int, rng *RNG) {
	d.rows(mask, nil, n, stride, rng)
}

// ApplyRows is Apply for chunks of a larger tensor, as MaskRows: y = x ⊙
// the whole tensor's mask at each chunk's place.
func (d Dropout) ApplyRows(y, x []float32, n, stride int, rng *RNG) {
	d.rows(y[:len(x)], x, n, stride, rng)
}

// rows writes the mask (x nil) or x ⊙ mask into y, chunk by chunk.
func (d Dropout) rows(y, x []float32, n, stride int, rng *RNG) {
	if len(y) == 0 {
		return
	}
	if n <= 0 || stride < n || len(y)%n != 0 {
		panic("nn.Dropout: chunks of n elements stride apart must tile the slice")
	}
	thr, scale := d.keepBelow()
	a := dropArgs{y: y, x: x, n: n, stride: stride, s: rng.state, thr: thr, sb: math.Float32bits(scale)}
	a.run()
	rng.state += uint64(len(y)/n*stride) * splitmix.Golden
}

// MaskAt is MaskRows for chunks at any places of the whole tensor: chunk c
// of mask (n elements) gets the elements of the whole mask from element
// at[c]*unit on. The generator is a copy and does not move: a caller that
// stands for the whole tensor skips its size (RNG.Skip) afterwards.
//
//	mask [len(at)*n]  0 or 1/(1-P) per element, overwritten
func (d Dropout) MaskAt(mask []float32, n int, at []int32, unit int, rng RNG) {
	d.at(mask, nil, n, at, unit, rng)
}

// ApplyAt is Apply for chunks at any places of the whole tensor, as MaskAt:
// y = x ⊙ the whole tensor's mask at each chunk's place. The generator is a
// copy and does not move.
//
//	y, x [len(at)*n]  y overwritten (may be x)
func (d Dropout) ApplyAt(y, x []float32, n int, at []int32, unit int, rng RNG) {
	d.at(y[:len(x)], x, n, at, unit, rng)
}

// at writes the mask (x nil) or x ⊙ mask into y, chunk c from the draws
// after at[c]*unit of the whole tensor's.
func (d Dropout) at(y, x []float32, n int, at []int32, unit int, rng RNG) {
	if len(y) == 0 {
		return
	}
	if n <= 0 || len(y) != len(at)*n {
		panic("nn.Dropout: MaskAt and ApplyAt need one place per chunk of n elements")
	}
	thr, scale := d.keepBelow()
	a := dropArgs{y: y, x: x, n: n, at: at, unit: unit, s: rng.state, thr: thr, sb: math.Float32bits(scale)}
	a.run()
}

// dropArgs are the operands of one mask or application of dropout over y:
// chunks of n elements, chunk c's draws starting after those of element
// c*stride of the whole tensor (at nil) or at[c]*unit, from generator
// state s. Every element's draw depends on its place alone, so the
// elements can be split between the threads (dropJobs, in blocks of
// dropBlock) for the same result.
type dropArgs struct {
	y, x      []float32
	n, stride int
	at        []int32
	unit      int
	s, thr    uint64
	sb        uint32
}

// dropBlock is the unit in which the threads share a large dropout.
const dropBlock = 1 << 13

var dropJobs = kernels.NewJobs(func(a *dropArgs, lo, hi int) {
	a.fill(lo*dropBlock, min(hi*dropBlock, len(a.y)))
})

// run fills y, on the kernel threads when it is large.
func (a *dropArgs) run() {
	if len(a.y) < 4*dropBlock || kernels.Threads() == 1 {
		a.fill(0, len(a.y))
		return
	}
	dropJobs.Run((len(a.y)+dropBlock-1)/dropBlock, *a)
}

// fill writes elements [lo, hi) of y.
func (a *dropArgs) fill(lo, hi int) {
	for lo < hi {
		c, i := lo/a.n, lo%a.n
		end := min(hi, (c+1)*a.n)
		place := c*a.stride + i
		if a.at != nil {
			place = int(a.at[c])*a.unit + i
		}
		s := a.s + uint64(place)*splitmix.Golden
		if a.x == nil {
			maskChunk(a.y[lo:end], s, a.thr, a.sb)
		} else {
			applyChunk(a.y[lo:end], a.x[lo:end], s, a.thr, a.sb)
		}
		lo = end
	}
}

// maskChunk writes the mask elements of the draws after generator state s.
func maskChunk(y []float32, s, thr uint64, sb uint32) {
	for i := range y {
		s += splitmix.Golden
		y[i] = maskValue(s, thr, sb)
	}
}

// applyChunk writes x ⊙ the mask elements of the draws after state s.
func applyChunk(y, x []float32, s, thr uint64, sb uint32) {
	x = x[:len(y)]
	for i := range y {
		s += splitmix.Golden
		y[i] = x[i] * maskValue(s, thr, sb)
	}
}

// Backward accumulates dx[i] += dy[i]·mask[i].
func (d Dropout) Backward(dx, dy, mask []float32) {
	for i, m := range mask {
		dx[i] += dy[i] * m
	}
}
