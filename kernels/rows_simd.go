//go:build !purego && (amd64 || arm64)

package kernels

// rowKernels are one variant's assembly row kernels: vector ops, bias, layer
// norm and AdamW. register installs all of them for the variant at once, so
// that no variant has some of them and not others.
type rowKernels struct {
	add          addFunc
	axpy         axpyFunc
	scale        scaleFunc
	dot          dotFunc
	sum, max     reduceFunc
	addBias      addBiasFunc
	biasGrad     biasGradFunc
	layerNorm    layerNormFunc
	addLayerNorm addLayerNormFunc
	adamW        adamWFunc
	lnBackward   lnBackward
}

// register installs k as variant v's row kernels.
func (k *rowKernels) register(v Variant) {
	addOp.set(v, k.add)
	axpyOp.set(v, k.axpy)
	scaleOp.set(v, k.scale)
	dotOp.set(v, k.dot)
	sumOp.set(v, k.sum)
	maxOp.set(v, k.max)
	addBiasOp.set(v, k.addBias)
	biasGradOp.set(v, k.biasGrad)
	layerNormOp.set(v, k.layerNorm)
	addLayerNormOp.set(v, k.addLayerNorm)
	adamWOp.set(v, k.adamW)
	layerNormBackwardOp.set(v, k.lnBackward.backward)
	layerNormParamGradOp.set(v, k.lnBackward.paramGrad)
}

// lnBackward assembles a variant's layer-norm backward from its assembly
// kernels: one pass for dx, dgamma and dbeta together, dx alone, and the
// column sums (both, dgamma alone, or dbeta alone, which is BiasGrad).
type lnBackward struct {
	full   func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int)
	dx     func(dx, dy, x, mean, rstd, gamma []float32, rows, cols int)
	params func(dgamma, dbeta, dy, x, mean, rstd []float32, rows, cols, ld int)
	gamma  func(dgamma, dy, x, mean, rstd []float32, rows, cols, ld int)
	bias   func(db, dy []float32, rows, cols, ld int)
}

// backward is a layerNormBwdFunc.
func (k *lnBackward) backward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	if dx != nil && dgamma != nil && dbeta != nil {
		k.full(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
		return
	}
	if dx != nil {
		k.dx(dx, dy, x, mean, rstd, gamma, rows, cols)
	}
	k.paramGrad(dgamma, dbeta, dy, x, mean, rstd, rows, cols, cols)
}

// paramGrad is a lnParamGradFunc.
func (k *lnBackward) paramGrad(dgamma, dbeta, dy, x, mean, rstd []float32, rows, cols, ld int) {
	switch {
	case dgamma != nil && dbeta != nil:
		k.params(dgamma, dbeta, dy, x, mean, rstd, rows, cols, ld)
	case dgamma != nil:
		k.gamma(dgamma, dy, x, mean, rstd, rows, cols, ld)
	case dbeta != nil:
		k.bias(dbeta, dy, rows, cols, ld)
	}
}
