// Package coef holds the polynomial coefficients shared by the amd64
// (internal/gen/act/amd64) and arm64 (internal/gen/act/arm64) generators of
// the transcendental row kernels, so both instruction sets compute the same
// approximations.
package coef

// The polynomial coefficients below were fitted for this package by a
// weighted least-squares minimax iteration (Lawson's algorithm) in float64
// against 30-digit reference values, then rounded to float32; the error
// bounds quoted in kernels/math.go are measured on the rounded float32
// evaluation by the tests in kernels/math_test.go.

// Exp: e^r ≈ 1 + r + r²·(c2 + c3 r + c4 r² + c5 r³ + c6 r⁴) on
// |r| ≤ ln2/2, relative error 3.1e-9 before rounding. Highest degree first.
var Exp = []float64{
	0.0013814613133192998, 0.008368709999521577, 0.041668387376057894,
	0.16666520688342454, 0.49999993451608743,
}

// Tanh: tanh(a) ≈ a + a³·P(a²) on 0 ≤ a ≤ 0.625, relative error 4.4e-9.
var Tanh = []float64{
	-0.00570498345560372, 0.020639084101510215, -0.053739714124053935,
	0.13331442186549392, -0.3333328194156977,
}

// ErfcTP and ErfcT: erfc(a) ≈ t·e^(-a²)·R(t), t = 1/(1 + ErfcTP·a), on
// 0 ≤ a ≤ 14.2, R of degree 9 in t, relative error 1.9e-8. It shares e^(-a²)
// with the normal density, which the GELU derivative also needs.
const ErfcTP = 0.4

var ErfcT = []float64{
	-0.022839664980952877, 0.16203881433056547, -0.4160753054621874,
	0.43985578900905953, -0.1974384377149948, 0.2269196654735156,
	0.14471076267416033, 0.21183275526368356, 0.2253059864619933,
	0.22568965367941882,
}

// Lower-degree fits used by the GELU forward kernels, whose stated
// tolerance (1e-7 absolute + 1e-6 relative) leaves room for them; highest
// degree first like the others.

// ErfSmallGELU: erf(a) ≈ a·P(a²) on 0 ≤ a ≤ 1, six terms, relative error 4.0e-8.
var ErfSmallGELU = []float64{
	-0.0005631422170206124, 0.004917551556568922, -0.026711311588731454,
	0.1128018013077347, -0.3761232619128867, 1.128379122496947,
}

// ErfcLogGELU: erfc(a) ≈ exp(P(a)) on 1 ≤ a ≤ 4, degree 5, absolute error
// of erfc 1.6e-8.
var ErfcLogGELU = []float64{
	-0.0011504212434417793, 0.014778114690629396, -0.08863416242873001,
	-0.6544889582408168, -1.1174384789510494, -0.002671702211868081,
}

// ExpGELU: e^r ≈ 1 + r + r²·(c2 + c3 r + c4 r² + c5 r³) on |r| ≤ ln2/2,
// relative error 1.05e-7.
var ExpGELU = []float64{
	0.008312525316231997, 0.041890114581501596, 0.16667114465615887,
	0.49999231781048886,
}
