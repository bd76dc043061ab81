package nn

import (
	"math"

	"github.com/petl-go/petl/internal/splitmix"
)

// RNG is a small deterministic random number generator (SplitMix64) for
// weight initialisation and dropout masks. The zero value is a valid stream
// (seed 0). It is not safe for concurrent use.
type RNG struct {
	state uint64
	spare float64 // second normal of the last Box-Muller pair
	has   bool    // spare is valid
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return &RNG{state: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.state += splitmix.Golden
	return splitmix.Mix64(r.state)
}

// Skip advances the generator past n draws of Uint64 (or Float32, or
// Float64) in constant time, as if they had been made.
func (r *RNG) Skip(n int) { r.state += uint64(n) * splitmix.Golden }

// Float32 returns a uniform float in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 {
	return float32(r.Uint64()>>40) * (1.0 / (1 << 24))
}

// Float64 returns a uniform float in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 {
	return float64(r.Uint64()>>11) * (1.0 / (1 << 53))
}

// Normal returns a standard normal variate (Box-Muller).
func (r *RNG) Normal() float64 {
	if r.has {
		r.has = false
		return r.spare
	}
	u := 1 - r.Float64() // (0, 1]
	v := r.Float64()
	rad := math.Sqrt(-2 * math.Log(u))
	s, c := math.Sincos(2 * math.Pi * v)
	r.spare, r.has = rad*s, true
	return rad * c
}

// FillNormal sets w[i] to independent normal variates with the given mean
// and standard deviation.
func (r *RNG) FillNormal(w []float32, mean, std float64) {
	for i := range w {
		w[i] = float32(mean + std*r.Normal())
	}
}
