package kernels

import "fmt"

// sgemmFunc is the signature shared by every SGEMM implementation. Arguments
// are already checked.
type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

var sgemmOp = newOpTable[sgemmFunc]("sgemm", sgemmGeneric)

// Sgemm computes C = alpha * op(A) * op(B) + beta * C on row-major matrices,
// where op(X) is X or its transpose as transA and transB say, op(A) is m x k,
// op(B) is k x n and C is m x n:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]   // c is not read when beta == 0
//		}
//	}
//
// with opA(i, p) = a[i*lda+p] (or a[p*lda+i] if transA) and opB(p, j) =
// b[p*ldb+j] (or b[j*ldb+p] if transB). BLAS semantics: when beta is 0, C is
// overwritten without being read (NaN in C does not survive); when alpha is 0
// or k is 0, A and B are not read; otherwise NaN and Inf in A or B propagate.
//
// Sgemm panics with a message naming the argument if a size is negative, a
// leading dimension is smaller than its row width, or a slice is too short.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	sgemmOp.active()(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkSgemm panics if the arguments of Sgemm describe memory outside the slices.
func checkSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	checkOperand("a", "lda", transA, m, k, a, lda)
	checkOperand("b", "ldb", transB, k, n, b, ldb)
	checkMatrix("c", "ldc", c, m, n, ldc)
}

// checkOperand panics unless x can hold op(X), rows x cols, stored
// transposed (cols x rows) when trans is set, with leading dimension ld.
func checkOperand(name, ldName string, trans bool, rows, cols int, x []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	checkMatrix(name, ldName, x, rows, cols, ld)
}

// checkMatrix panics unless x can hold a rows x cols row-major matrix with
// leading dimension ld.
func checkMatrix(name, ldName string, x []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels.Sgemm: %s=%d is less than the row width %d of %s", ldName, ld, cols, name))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("kernels.Sgemm: len(%s)=%d, want at least %d for %dx%d with %s=%d", name, len(x), need, rows, cols, ldName, ld))
	}
}
