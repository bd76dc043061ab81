//go:build race

package wordpiece

// tokRace is true under the race detector, where sync.Pool drops items at
// random, so allocation counts are not meaningful.
const tokRace = true
