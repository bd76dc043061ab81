package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
)

// ErrNonFinite is returned by ClipGradNorm when a gradient holds NaN or
// ±Inf: training should stop (a diverged step) rather than apply it.
var ErrNonFinite = errors.New("non-finite gradient")

// GradNorm returns the global L2 norm of the trainable parameters'
// gradients, √(Σ_p Σ_i G_p[i]²), summed in float64 (which cannot overflow
// for finite float32 gradients: it is +Inf or NaN only when a gradient is).
// Frozen parameters are ignored.
func GradNorm(params []*nn.Param) float64 {
	var sum float64
	for _, p := range params {
		if p.Trainable() {
			sum += sumSquares(p.G)
		}
	}
	return math.Sqrt(sum)
}

// ClipGradNorm scales the trainable parameters' gradients so that their
// global L2 norm (GradNorm) is at most maxNorm, as torch.nn.utils.
// clip_grad_norm_ does: when norm > maxNorm, every gradient is multiplied by
// maxNorm/(norm + 1e-6). It returns the norm before clipping. maxNorm <= 0
// only measures. When the norm is not finite nothing is scaled and the
// error (wrapping ErrNonFinite) names the first parameter whose gradient
// holds NaN or Inf.
func ClipGradNorm(params []*nn.Param, maxNorm float64) (float64, error) {
	norm := GradNorm(params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		for _, p := range params {
			if !p.Trainable() {
				continue
			}
			for i, g := range p.G {
				if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
					return norm, fmt.Errorf("%w: gradient norm is %v; %s has %v at index %d", ErrNonFinite, norm, p, g, i)
				}
			}
		}
		return norm, fmt.Errorf("%w: gradient norm is %v", ErrNonFinite, norm)
	}
	if maxNorm > 0 && norm > maxNorm {
		scale := float32(maxNorm / (norm + 1e-6))
		for _, p := range params {
			if p.Trainable() {
				kernels.Scale(scale, p.G)
			}
		}
	}
	return norm, nil
}

// sumSquares is Σ x[i]² in float64, with four partial sums.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		v := float64(x[i])
		s0 += v * v
	}
	return (s0 + s1) + (s2 + s3)
}
