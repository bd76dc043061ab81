package kernels

// sgemmGeneric is the reference SGEMM: the loop in Sgemm's doc comment, one
// dot product per element, summed in order of p.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if alpha != 0 {
				for p := 0; p < k; p++ {
					var x, y float32
					if transA {
						x = a[p*lda+i]
					} else {
						x = a[i*lda+p]
					}
					if transB {
						y = b[j*ldb+p]
					} else {
						y = b[p*ldb+j]
					}
					s += x * y
				}
			}
			ci := i*ldc + j
			if beta == 0 {
				c[ci] = alpha * s
			} else {
				c[ci] = alpha*s + beta*c[ci]
			}
		}
	}
}
