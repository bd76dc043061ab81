// Package splitmix is SplitMix64's finaliser, the one hash petl draws all
// its randomness through: nn's generator and dropout masks, the seeds that
// train and pretrain derive per step and per epoch, and the test fixtures
// that must match the PyTorch scripts' counter-based streams bit for bit.
package splitmix

// Golden is SplitMix64's increment, 2⁶⁴/φ rounded to odd.
const Golden = 0x9E3779B97F4A7C15

// Mix64 is the SplitMix64 finaliser: a bijective scrambling of z. Output i
// (from 1) of the stream seeded with s is Mix64(s + i*Golden).
func Mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
