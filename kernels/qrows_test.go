package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// qRowGuard is the byte written around every output row of the quantization
// tests: a stray write shows as a changed guard.
const qRowGuard = 0xa5

// qRowGuardN is the number of guard bytes on each side of an output row.
const qRowGuardN = 80

// qRowRows returns the rows of the quantization tests: random rows of every
// length 1..300 and a few thousands (normal, all positive, all negative,
// scaled from 1e-30 to 1e30), non-finite and extreme values at the first,
// a middle and the last position and at every stage boundary of the
// kernels (blocks of 64, 32 and 16 floats, vectors of 8 and 4, the tail),
// zeros of both signs, denormals, constant rows and exact halves.
func qRowRows(rng *rand.Rand) [][]float32 {
	var rows [][]float32
	scales := []float32{1, 1e-3, 1e3, 1e-30, 1e30}
	random := func(n int, kind int) []float32 {
		row := make([]float32, n)
		s := scales[rng.IntN(len(scales))]
		for i := range row {
			v := float32(rng.NormFloat64()) * s
			switch kind {
			case 1:
				v = float32(math.Abs(float64(v)))
			case 2:
				v = -float32(math.Abs(float64(v)))
			}
			row[i] = v
		}
		return row
	}
	for n := 1; n <= 300; n++ {
		rows = append(rows, random(n, n%3))
	}
	for _, n := range []int{1000, 2048, 2055, 3072, 4099} {
		rows = append(rows, random(n, 0), random(n, 1), random(n, 2))
	}

	specials := []float32{
		float32(math.NaN()), math.Float32frombits(0xffc00001), float32(math.Inf(1)), float32(math.Inf(-1)),
		3e38, -3e38, math.MaxFloat32, -math.MaxFloat32, // ranges overflowing to Inf
		float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-40, -3e-39, // -0 and denormals
		1e-38, -2e-37, 5e-37, // tiny normals: 127/width overflows or nearly
	}
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 71, 72, 79, 127, 128, 129, 200, 300} {
		pos := map[int]bool{0: true, n / 2: true, n - 1: true}
		for _, p := range []int{3, 4, 8, 15, 16, 31, 32, 63, 64, 65, 70, 71, 72, 75, 78, 79} {
			if p < n {
				pos[p] = true
			}
		}
		for p := range pos {
			for _, v := range specials {
				for _, base := range [][]float32{random(n, 0), make([]float32, n)} {
					row := append([]float32(nil), base...)
					row[p] = v
					rows = append(rows, row)
				}
			}
		}
		// Two non-finite values, and a NaN in a row with an infinity.
		if n > 1 {
			row := random(n, 0)
			row[0], row[n-1] = float32(math.Inf(1)), float32(math.Inf(-1))
			rows = append(rows, row)
			row = random(n, 0)
			row[n/2], row[n-1] = float32(math.NaN()), float32(math.Inf(1))
			rows = append(rows, row)
		}
	}

	fill := func(n int, v float32) []float32 {
		row := make([]float32, n)
		for i := range row {
			row[i] = v
		}
		return row
	}
	for _, n := range []int{1, 3, 8, 17, 64, 129} {
		for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2.5, -1e-3, 1e-45, -1e-45, 1e-38, 3e38, -3e38} {
			rows = append(rows, fill(n, v))
		}
		// denormals only, of both signs
		row := make([]float32, n)
		for i := range row {
			row[i] = math.Float32frombits(uint32(rng.IntN(1<<23)) | uint32(rng.IntN(2))<<31)
		}
		rows = append(rows, row)
	}
	// Exact halves: the range 0..127 gives inv = 1, so p + 0.5 is a tie.
	for _, n := range []int{5, 40, 130} {
		row := make([]float32, n)
		row[0] = 127
		for i := 1; i < n; i++ {
			row[i] = float32(i%127) + 0.5
			if i%3 == 0 {
				row[i] = -row[i] / 2
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// TestQuantizeRowVariants checks every variant's row quantization against
// quantizeRow, the reference, bitwise (bytes, scale, zero point), with 0..5
// bytes of padding, both shifts, misaligned rows, and guards around the
// input and the output.
func TestQuantizeRowVariants(t *testing.T) {
	forEachVariant(t, qRowOp, func(t *testing.T, v Variant, impl qRowFunc) {
		rng := rand.New(rand.NewPCG(21, 22))
		rows := qRowRows(rng)
		for i, src := range rows {
			pad := i % 6
			shift := int32(64 * (i / 6 % 2))
			off := i % 5
			in := newGuarded(len(src), off, func(p int) float32 { return src[p] })
			row := in.s()
			want, wsa, wzp := qRowRun(quantizeRow, row, pad, shift)
			got, gsa, gzp := qRowRun(impl, row, pad, shift)
			in.checkGuards(t, "row")
			what := fmt.Sprintf("%s: row %d (k=%d, padding %d, shift %d, %v...)", v, i, len(row), pad, shift, row[:min(len(row), 4)])
			if math.Float32bits(gsa) != math.Float32bits(wsa) || gzp != wzp {
				t.Fatalf("%s: sa %v (%#08x) zp %d, want %v (%#08x) zp %d", what,
					gsa, math.Float32bits(gsa), gzp, wsa, math.Float32bits(wsa), wzp)
			}
			for p := range got {
				if got[p] != want[p] {
					t.Fatalf("%s: byte %d (of %d guards, %d bytes, %d guards) is %#02x, want %#02x",
						what, p, qRowGuardN, len(row)+pad, qRowGuardN, got[p], want[p])
				}
			}
		}
	})
}

// qRowRun quantizes row with f into a row of len(row)+pad bytes and returns
// it with its guards, and the scale and zero point.
func qRowRun(f qRowFunc, row []float32, pad int, shift int32) (buf []byte, sa float32, zp int32) {
	buf = make([]byte, qRowGuardN+len(row)+pad+qRowGuardN)
	for i := range buf {
		buf[i] = qRowGuard
	}
	sa, zp = -1, -1000
	f(buf[qRowGuardN:qRowGuardN+len(row)+pad:qRowGuardN+len(row)+pad], &sa, &zp, row, shift)
	return buf, sa, zp
}

// BenchmarkQuantizeRow measures each variant's row quantization on BERT's
// widths (seconds per row; bytes are the float32 input).
func BenchmarkQuantizeRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, v := range Supported() {
		impl := qRowOp.get(v)
		for _, k := range []int{128, 768, 3072} {
			row := qRandom(rng, k, 1)
			out := make([]byte, qPadK(k))
			var sa float32
			var zp int32
			b.Run(fmt.Sprintf("%s/k=%d", v, k), func(b *testing.B) {
				b.SetBytes(int64(4 * k))
				for b.Loop() {
					impl(out, &sa, &zp, row, 0)
				}
			})
		}
	}
}
