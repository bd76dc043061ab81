package splitmix

import "testing"

// TestMix64Stream checks the first outputs of the stream seeded with 0
// against SplitMix64's published reference values.
func TestMix64Stream(t *testing.T) {
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := Mix64(uint64(i+1) * Golden); got != w {
			t.Errorf("output %d: %#x, want %#x", i+1, got, w)
		}
	}
}
