package nn

import "math"

// CrossEntropy is the mean softmax cross-entropy over a batch of logits with
// integer labels, as PyTorch's F.cross_entropy with reduction "mean".
type CrossEntropy struct{}

// Forward returns the mean loss and writes the softmax probabilities, saved
// for Backward.
//
//	probs  [B, L]  overwritten
//	logits [B, L]
//	labels [B]     in [0, L)
func (CrossEntropy) Forward(probs, logits []float32, labels []int32, B, L int) float32 {
	var loss float64
	for b := 0; b < B; b++ {
		z, p := logits[b*L:(b+1)*L], probs[b*L:(b+1)*L]
		m := math.Inf(-1)
		for _, v := range z {
			m = max(m, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range z {
			p[i] = float32(math.Exp(float64(v)-m) / s)
		}
		loss += m + math.Log(s) - float64(z[labels[b]])
	}
	return float32(loss / float64(B))
}

// Backward accumulates the gradient of the mean loss (times scale, usually 1):
// dlogits[b, i] += scale·(probs[b, i] - [i == labels[b]])/B.
func (CrossEntropy) Backward(dlogits, probs []float32, labels []int32, B, L int, scale float32) {
	f := scale / float32(B)
	for b := 0; b < B; b++ {
		for i := 0; i < L; i++ {
			g := probs[b*L+i]
			if int32(i) == labels[b] {
				g--
			}
			dlogits[b*L+i] += f * g
		}
	}
}

// MSE is the mean squared error over a batch of scalar predictions, as
// PyTorch's F.mse_loss (regression heads, STS-B).
type MSE struct{}

// Forward returns mean((pred - target)²).
//
//	pred, target [B]
func (MSE) Forward(pred, target []float32) float32 {
	var s float64
	for i, p := range pred {
		d := float64(p) - float64(target[i])
		s += d * d
	}
	return float32(s / float64(len(pred)))
}

// Backward accumulates dpred[i] += scale·2(pred[i]-target[i])/B.
func (MSE) Backward(dpred, pred, target []float32, scale float32) {
	f := 2 * scale / float32(len(pred))
	for i, p := range pred {
		dpred[i] += f * (p - target[i])
	}
}
