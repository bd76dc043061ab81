package contract

import "fmt"

// The row kernels: element-wise vector operations and reductions, bias,
// layer norm and the AdamW update (package kernels: vector.go, layernorm.go,
// adamw.go).

// Add is dst = a + b.
var Add = Op{Name: "Add", Sig: "func(dst, a, b []float32)", doc: []string{
	"computes, for i < len(a) (dst and b at least as long):",
	"",
	"\tfor i := range a {",
	"\t\tdst[i] = a[i] + b[i]",
	"\t}"}}

// Axpy is y += alpha*x.
var Axpy = Op{Name: "Axpy", Sig: "func(alpha float32, x, y []float32)", doc: []string{
	"computes, for i < len(x) (y at least as long), with the",
	"product rounded before the sum (no fused multiply-add):",
	"",
	"\tfor i := range x {",
	"\t\ty[i] += float32(alpha * x[i])",
	"\t}"}}

// Scale is x *= alpha.
var Scale = Op{Name: "Scale", Sig: "func(alpha float32, x []float32)", doc: []string{
	"computes",
	"",
	"\tfor i := range x {",
	"\t\tx[i] *= alpha",
	"\t}"}}

// Dot is Σ x[i]*y[i]; the order of the sum depends on isa.
func Dot(isa ISA) Op {
	return Op{Name: "Dot", Sig: "func(x, y []float32) float32", doc: []string{
		"returns Σ x[i]*y[i] over i < len(x) (y at least as",
		"long), summed in float32 with fused multiply-adds into 4 vector accumulators",
		isa.DotOrder[0],
		isa.DotOrder[1],
		"",
		"\tvar s float32",
		"\tfor i := range x {",
		"\t\ts += x[i] * y[i]",
		"\t}",
		"\treturn s"}}
}

// Sum is Σ x[i].
var Sum = Op{Name: "Sum", Sig: "func(x []float32) float32", doc: []string{
	"returns Σ x[i], summed in float32 into 4 vector",
	"accumulators, combined pairwise, then the tail in order:",
	"",
	"\tvar s float32",
	"\tfor _, v := range x {",
	"\t\ts += v",
	"\t}",
	"\treturn s"}}

// Max is the largest x[i].
func Max(isa ISA) Op {
	return Op{Name: "Max", Sig: "func(x []float32) float32", doc: []string{
		"returns the largest x[i]: -Inf when x is empty,",
		isa.MaxNaN,
		"",
		"\tm := float32(math.Inf(-1))",
		"\tfor _, v := range x {",
		"\t\tif v != v {",
		"\t\t\treturn v",
		"\t\t}",
		"\t\tm = max(m, v)",
		"\t}",
		"\treturn m"}}
}

// AddBias adds bias to every row of x.
var AddBias = Op{Name: "AddBias", Sig: "func(x, bias []float32, rows, cols int)", doc: []string{
	"adds bias to each of rows rows of x, in place:",
	"",
	"\tfor r := 0; r < rows; r++ {",
	"\t\tfor c := 0; c < cols; c++ {",
	"\t\t\tx[r*cols+c] += bias[c]",
	"\t\t}",
	"\t}"}}

// BiasGrad accumulates the column sums of dy into db.
var BiasGrad = Op{Name: "BiasGrad", Sig: "func(db, dy []float32, rows, cols, ld int)", doc: []string{
	"accumulates the column sums of the rows x cols block",
	"of dy with row stride ld into db, adding the rows in order (so the result",
	"is that of the plain loop, bit for bit):",
	"",
	"\tfor r := 0; r < rows; r++ {",
	"\t\tfor c := 0; c < cols; c++ {",
	"\t\t\tdb[c] += dy[r*ld+c]",
	"\t\t}",
	"\t}"}}

// LayerNorm layer-normalises every row of x.
func LayerNorm(isa ISA) Op {
	doc := []string{
		"layer-normalises each of rows rows of x of width",
		"cols >= 1; mean and rstd may be nil (not stored). Statistics are taken",
		"about K = x[r*cols] so that a constant row has exactly μ = K and σ² = 0:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tz, o := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]",
		"\t\tK := z[0]",
		"\t\tvar d float32",
		"\t\tfor c := range z {",
		"\t\t\td += z[c] - K",
		"\t\t}",
	}
	return Op{Name: "LayerNorm", Sig: "func(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32)",
		doc: append(doc, layerNormRest(isa)...)}
}

// AddLayerNorm forms sum = a + b and layer-normalises it.
func AddLayerNorm(isa ISA) Op {
	doc := []string{
		"forms sum = a + b and layer-normalises it, for each",
		"of rows rows of width cols >= 1; mean and rstd may be nil (not stored).",
		"Statistics are taken about K = sum[r*cols] so that a constant row has",
		"exactly μ = K and σ² = 0:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\ts, t := a[r*cols:(r+1)*cols], b[r*cols:(r+1)*cols]",
		"\t\tz, o := sum[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]",
	}
	if isa.SumFirst {
		doc = append(doc,
			"\t\tfor c := range z {",
			"\t\t\tz[c] = s[c] + t[c]",
			"\t\t}",
			"\t\tK := z[0]",
			"\t\tvar d float32",
			"\t\tfor c := range z {",
			"\t\t\td += z[c] - K",
			"\t\t}")
	} else {
		doc = append(doc,
			"\t\tK := s[0] + t[0]",
			"\t\tvar d float32",
			"\t\tfor c := range z {",
			"\t\t\tz[c] = s[c] + t[c]",
			"\t\t\td += z[c] - K",
			"\t\t}")
	}
	return Op{Name: "AddLayerNorm", Sig: "func(y, sum, mean, rstd, a, b, gamma, beta []float32, rows, cols int, eps float32)",
		doc: append(doc, layerNormRest(isa)...)}
}

// layerNormRest is the end of the layer-norm forward contracts, from μ on.
func layerNormRest(isa ISA) []string {
	return []string{
		"\t\tμ := K + d/float32(cols)",
		"\t\tvar q float32",
		"\t\tfor c := range z {",
		"\t\t\tq += (z[c] - μ) * (z[c] - μ)",
		"\t\t}",
		"\t\tρ := 1 / sqrt(q/float32(cols) + eps)",
		"\t\tfor c := range z {",
		"\t\t\to[c] = (z[c]-μ)*ρ*gamma[c] + beta[c]",
		"\t\t}",
		"\t\tmean[r], rstd[r] = μ, ρ",
		"\t}",
		"",
		"with the sums in 4 vector accumulators as in Sum" + isa.Name + " and fused multiply-adds.",
	}
}

// LayerNormBackward accumulates dx, dgamma and dbeta in one pass.
func LayerNormBackward(isa ISA) Op {
	return Op{Name: "LayerNormBackward", Sig: "func(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int)",
		doc: append([]string{"accumulates the layer-norm gradients dx, dgamma",
			"and dbeta of rows rows of width cols, in one pass over each row",
			"(dgamma and dbeta take the rows in order):", ""}, layerNormBackwardLoop(isa, true)...)}
}

// LayerNormBackwardDX accumulates dx only.
func LayerNormBackwardDX(isa ISA) Op {
	return Op{Name: "LayerNormBackwardDX", Sig: "func(dx, dy, x, mean, rstd, gamma []float32, rows, cols int)",
		doc: append([]string{"accumulates the layer-norm input gradient dx of rows",
			"rows of width cols (LayerNormBackward" + isa.Name + " without dgamma and dbeta):", ""},
			layerNormBackwardLoop(isa, false)...)}
}

// layerNormBackwardLoop is the loop of the layer-norm backward contracts,
// with or without the parameter gradients.
func layerNormBackwardLoop(isa ISA, params bool) []string {
	body := []string{
		"\tfor r := 0; r < rows; r++ {",
		"\t\tμ, ρ := mean[r], rstd[r]",
		"\t\tvar sg, sgx float32",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*cols+c] - μ) * ρ",
		"\t\t\tg := dy[r*cols+c] * gamma[c]",
		"\t\t\tsg += g",
		"\t\t\tsgx += g * xh",
	}
	if params {
		body = append(body,
			"\t\t\tdgamma[c] += dy[r*cols+c] * xh",
			"\t\t\tdbeta[c] += dy[r*cols+c]")
	}
	return append(body,
		"\t\t}",
		"\t\tB, C := ρ*(sg/float32(cols)), ρ*(sgx/float32(cols))",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*cols+c] - μ) * ρ",
		"\t\t\tg := dy[r*cols+c] * gamma[c]",
		"\t\t\tdx[r*cols+c] += g*ρ - (C*xh + B)",
		"\t\t}",
		"\t}",
		"",
		fmt.Sprintf("with sg and sgx summed in %d vector accumulators each and fused multiply-adds.", isa.BackwardAccumulators))
}

// LayerNormParamGrad accumulates dgamma and dbeta over a column block.
func LayerNormParamGrad(isa ISA) Op {
	return layerNormParamGrad(isa, true)
}

// LayerNormGammaGrad accumulates dgamma over a column block.
func LayerNormGammaGrad(isa ISA) Op {
	return layerNormParamGrad(isa, false)
}

// layerNormParamGrad is LayerNormParamGrad or, without beta,
// LayerNormGammaGrad.
func layerNormParamGrad(isa ISA, beta bool) Op {
	op := Op{Name: "LayerNormGammaGrad", Sig: "func(dgamma, dy, x, mean, rstd []float32, rows, cols, ld int)"}
	what := "accumulates the layer-norm gradient dgamma over the"
	if beta {
		op.Name, op.Sig = "LayerNormParamGrad", "func(dgamma, dbeta, dy, x, mean, rstd []float32, rows, cols, ld int)"
		what = "accumulates the layer-norm gradients dgamma and dbeta over the"
	}
	op.doc = []string{what,
		"rows x cols block of dy and x with row stride ld, adding the rows in order",
		"(LayerNormBackward" + isa.Name + " gives the same bits):",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor c := 0; c < cols; c++ {",
		"\t\t\txh := (x[r*ld+c] - mean[r]) * rstd[r]",
		"\t\t\tdgamma[c] += dy[r*ld+c] * xh"}
	if beta {
		op.doc = append(op.doc, "\t\t\tdbeta[c] += dy[r*ld+c]")
	}
	op.doc = append(op.doc, "\t\t}", "\t}")
	return op
}

// AdamW is one AdamW update.
var AdamW = Op{Name: "AdamW", Sig: "func(p, g, m, v []float32, decay, b1, c1, b2, c2, step, eps float32)", doc: []string{
	"applies one AdamW update to p[i], i < len(p) (g, m",
	"and v at least as long), each operation rounded to float32 in this order:",
	"",
	"\tfor i := range p {",
	"\t\tm[i] = float32(m[i]*b1) + float32(g[i]*c1)",
	"\t\tv[i] = float32(v[i]*b2) + float32(float32(g[i]*c2)*g[i])",
	"\t\tp[i] = float32(p[i]*decay) - float32(m[i]*step)/(sqrt(v[i])+eps)",
	"\t}"}}
