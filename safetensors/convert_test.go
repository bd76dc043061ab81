package safetensors

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Digests printed by testdata/convert_reference.py (NumPy for binary16,
// PyTorch for bfloat16) over the same inputs as the tests below.
const (
	refF16ToF32  = "680bbc22915f61aa1bbfc7265bc3882a6aa42d299bfd2c571807196e5544de2e"
	refBF16ToF32 = "ba630f4dd7aba313174b044090cfc5353bc4f587c4f6c2848056051239b777b0"
	refF32ToF16  = "3e507754dec67cee54c7e60b70a22e618414af171c21229bc8eb59aed5445f9b"
	refF32ToBF16 = "bffe75ac5e7019865cb9db3e2bd2d77eaef87800acbdff1296eee811760aa44f"
)

func TestF16KnownValues(t *testing.T) {
	tests := []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},                 // largest finite
		{0x0400, math.Ldexp(1, -14)},    // smallest normal
		{0x0001, math.Ldexp(1, -24)},    // smallest subnormal
		{0x03ff, math.Ldexp(1023, -24)}, // largest subnormal
		{0x8001, -math.Ldexp(1, -24)},
		{0x7c00, math.Inf(1)},
		{0xfc00, math.Inf(-1)},
	}
	for _, tt := range tests {
		got := F16ToFloat32(tt.bits)
		assert.Equal(t, float32(tt.want), got, "F16 %#04x", tt.bits)
		assert.Equal(t, tt.bits, Float32ToF16(got), "round trip %#04x", tt.bits)
	}
	negZero := F16ToFloat32(0x8000)
	assert.Equal(t, uint32(0x80000000), math.Float32bits(negZero), "-0 keeps its sign")
	for _, nan := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		assert.True(t, math.IsNaN(float64(F16ToFloat32(nan))), "%#04x is NaN", nan)
	}
}

func TestBF16KnownValues(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3f80, 1},
		{0xc000, -2},
		{0x4049, 3.140625},
		{0x7f7f, math.Float32frombits(0x7f7f0000)},
		{0x0001, math.Float32frombits(0x00010000)}, // subnormal
		{0x7f80, float32(math.Inf(1))},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, BF16ToFloat32(tt.bits), "BF16 %#04x", tt.bits)
		assert.Equal(t, tt.bits, Float32ToBF16(tt.want))
	}
	assert.True(t, math.IsNaN(float64(BF16ToFloat32(0x7fc0))))
	assert.True(t, math.IsNaN(float64(BF16ToFloat32(Float32ToBF16(float32(math.NaN()))))))
}

// TestF16Exhaustive checks every binary16 pattern against the value defined
// by the format, computed in float64: (-1)^s * 2^(e-15) * (1 + m/1024), or
// 2^-14 * m/1024 for e = 0.
func TestF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		s, e, m := h>>15, int(h>>10)&0x1f, float64(h&0x3ff)
		got := float64(F16ToFloat32(h))
		var want float64
		switch e {
		case 0x1f:
			if m != 0 {
				require.True(t, math.IsNaN(got), "%#04x", h)
				require.Equal(t, h|0x200, Float32ToF16(float32(got)), "NaN %#04x keeps sign and payload, quieted", h)
				continue
			}
			want = math.Inf(1)
		case 0:
			want = math.Ldexp(m/1024, -14)
		default:
			want = math.Ldexp(1+m/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		require.Equal(t, want, got, "%#04x", h)
		require.Equal(t, h, Float32ToF16(float32(got)), "round trip %#04x", h)
	}
}

// TestF32ToF16Ties checks round-half-to-even at the boundaries.
func TestF32ToF16Ties(t *testing.T) {
	ulp := math.Ldexp(1, -10) // binary16 spacing in [1, 2)
	tests := []struct {
		x    float64
		want uint16
	}{
		{1 + ulp/2, 0x3c00},                      // tie, even below
		{1 + 3*ulp/2, 0x3c02},                    // tie, even above
		{1 + ulp/2 + math.Ldexp(1, -23), 0x3c01}, // just above the tie
		{65504 + 16, 0x7c00},                     // tie at the top rounds to infinity
		{65504 + 15.99, 0x7bff},                  // below it stays finite
		{math.Ldexp(1, -25), 0x0000},             // half the smallest subnormal: tie to 0
		{math.Ldexp(1.5, -25), 0x0001},           // above it
		{math.Ldexp(3, -25), 0x0002},             // 1.5 subnormal ulps: tie to even 2
		{math.Ldexp(1023.5, -24), 0x0400},        // largest subnormal + half: to smallest normal
		{1e-10, 0x0000},
		{-1e-10, 0x8000},
		{1e10, 0x7c00},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Float32ToF16(float32(tt.x)), "%g", tt.x)
	}
}

func digestU32(vals []uint32) string {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func digestU16(vals []uint16) string {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestConversionsMatchReference compares the conversions with NumPy and
// PyTorch through the digests of testdata/convert_reference.py.
func TestConversionsMatchReference(t *testing.T) {
	var f16, bf16 []uint32
	for i := 0; i < 1<<16; i++ {
		if v := F16ToFloat32(uint16(i)); !math.IsNaN(float64(v)) {
			f16 = append(f16, math.Float32bits(v))
		}
		if v := BF16ToFloat32(uint16(i)); !math.IsNaN(float64(v)) {
			bf16 = append(bf16, math.Float32bits(v))
		}
	}
	assert.Equal(t, refF16ToF32, digestU32(f16), "F16 -> F32 differs from NumPy")
	assert.Equal(t, refBF16ToF32, digestU32(bf16), "BF16 -> F32 differs from PyTorch")

	var to16, tobf []uint16
	for i := uint64(0); i < 1<<20; i++ {
		x := math.Float32frombits(uint32(i * 4093 % (1 << 32)))
		if math.IsNaN(float64(x)) {
			continue
		}
		to16 = append(to16, Float32ToF16(x))
		tobf = append(tobf, Float32ToBF16(x))
	}
	assert.Equal(t, refF32ToF16, digestU16(to16), "F32 -> F16 differs from NumPy")
	assert.Equal(t, refF32ToBF16, digestU16(tobf), "F32 -> BF16 differs from PyTorch")
}
