package nn

import (
	"fmt"

	"github.com/petl-go/petl/kernels"
)

// Linear is a fully connected layer y = x·Wᵀ + b with W stored [Out, In], as
// Hugging Face (and PyTorch's nn.Linear) store it.
type Linear struct {
	In, Out int
	W       *Param // [Out, In]
	B       *Param // [Out]; nil for no bias

	// Packed, when set, is W packed ahead of time for the product of
	// Forward and ForwardGELU (kernels.PackB with transB, k = In, n = Out),
	// which then skip packing W on every call. It is used only while W is
	// frozen and still the slice it was packed from (a weight made
	// trainable is copied and trained, and the packing would be stale).
	Packed *kernels.PackedB

	// Quantized, when set, is W quantized to int8 (kernels.QuantizeB with
	// n = Out, k = In): Forward and ForwardGELU then compute x·Wᵀ in int8
	// (kernels.Qgemm), before Packed. It is used only while W is frozen.
	Quantized *kernels.QuantizedB
}

// NewLinear returns a Linear over the given parameters after checking their
// sizes. b may be nil.
func NewLinear(w, b *Param, in, out int) (Linear, error) {
	if w == nil || w.Len() != in*out {
		return Linear{}, fmt.Errorf("nn.NewLinear: weight %v does not hold [%d %d]", w, out, in)
	}
	if b != nil && b.Len() != out {
		return Linear{}, fmt.Errorf("nn.NewLinear: bias %v does not hold [%d]", b, out)
	}
	return Linear{In: in, Out: out, W: w, B: b}, nil
}

// Forward computes y = x·Wᵀ + b over rows rows.
//
//	y [rows, Out]   output, overwritten
//	x [rows, In]    input
func (l *Linear) Forward(y, x []float32, rows int) {
	l.product(y, x, rows)
	if l.B != nil {
		kernels.AddBias(y, l.B.W, rows, l.Out)
	}
}

// product computes y = x·Wᵀ: in int8 when W is quantized, else by the
// packed W when there is a usable one.
func (l *Linear) product(y, x []float32, rows int) {
	if q := l.Quantized; q != nil && l.W.Frozen {
		kernels.Qgemm(rows, x, l.In, q, y, l.Out)
		return
	}
	if pb := l.Packed; pb != nil && l.W.Frozen && pb.Of(l.W.W) {
		kernels.SgemmPacked(false, rows, 1, x, l.In, pb, 0, y, l.Out)
		return
	}
	kernels.Sgemm(false, true, rows, l.Out, l.In, 1, x, l.In, l.W.W, l.In, 0, y, l.Out)
}

// ForwardGELU computes the feed-forward expansion y = GELU(x·Wᵀ + b) with the
// bias and activation fused, keeping the pre-activation for Backward.
//
//	y   [rows, Out]  output, overwritten
//	pre [rows, Out]  x·Wᵀ + b, overwritten (saved for GELUBackward)
//	x   [rows, In]   input
func (l *Linear) ForwardGELU(y, pre, x []float32, rows int) {
	l.product(pre, x, rows)
	if l.B != nil {
		kernels.AddBiasGELU(y, pre, l.B.W, rows, l.Out)
		return
	}
	kernels.GELU(y[:rows*l.Out], pre[:rows*l.Out])
}

// Backward accumulates the gradients of Forward given dy:
//
//	dx [rows, In]   += dy·W        (skipped when dx is nil)
//	dW [Out, In]    += dyᵀ·x       (only when W is trainable)
//	db [Out]        += Σ_rows dy   (only when b is trainable)
//
// x [rows, In] is the input of Forward; it is read only for dW and may be nil
// when W is frozen.
func (l *Linear) Backward(dx, dy, x []float32, rows int) {
	if dx != nil {
		l.BackwardInput(dx, dy, rows)
	}
	l.BackwardParams(dy, x, rows)
}

// BackwardInput is the input half of Backward: dx [rows, In] += dy·W.
func (l *Linear) BackwardInput(dx, dy []float32, rows int) {
	kernels.Sgemm(false, false, rows, l.In, l.Out, 1, dy, l.Out, l.W.W, l.In, 1, dx, l.In)
}

// BackwardParams is the parameter half of Backward: dW += dyᵀ·x when W is
// trainable (x may be nil otherwise), db += Σ_rows dy when b is.
func (l *Linear) BackwardParams(dy, x []float32, rows int) {
	if l.W.Trainable() {
		kernels.Sgemm(true, false, l.Out, l.In, rows, 1, dy, l.Out, x, l.In, 1, l.W.G, l.In)
	}
	if l.B != nil && l.B.Trainable() {
		kernels.BiasGrad(l.B.G, dy, rows, l.Out)
	}
}

// Params returns the layer's parameters (W, then b if present).
func (l *Linear) Params() []*Param {
	if l.B == nil {
		return []*Param{l.W}
	}
	return []*Param{l.W, l.B}
}
