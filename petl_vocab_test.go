package petl_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/petl-go/petl"
	"github.com/stretchr/testify/require"
)

// TestAdapterRefusesOtherVocabulary replaces the vocab.txt of a copy of
// the shipped model by a truncated one and by one with two tokens
// swapped: the shipped SST-2 adapter refuses the base, saying that the
// vocabulary differs. (The fingerprint covered the weights alone: a
// truncated vocabulary passed silently and SST-2 dev accuracy fell from
// 0.64 to 0.48.)
func TestAdapterRefusesOtherVocabulary(t *testing.T) {
	vocab, err := os.ReadFile(filepath.Join("models", "petl-bert-tiny", "vocab.txt"))
	require.NoError(t, err)
	lines := bytes.SplitAfter(vocab, []byte("\n"))
	swapped := append([][]byte{}, lines...)
	swapped[2000], swapped[2001] = swapped[2001], swapped[2000]
	for name, text := range map[string][]byte{
		"truncated": bytes.Join(lines[:20000], nil),
		"swapped":   bytes.Join(swapped, nil),
	} {
		t.Run(name, func(t *testing.T) {
			dir := tinyCopy(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), text, 0o644))
			b, err := petl.Open(dir, petl.Options{Pack: "off"})
			require.NoError(t, err)
			defer b.Close()
			_, err = b.Load("sst2", "models/adapters/sst2")
			require.ErrorContains(t, err, "another vocabulary")
			require.ErrorContains(t, err, "sst2.json")
		})
	}
	// The same files, copied: accepted.
	b, err := petl.Open(tinyCopy(t), petl.Options{Pack: "off"})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Load("sst2", "models/adapters/sst2")
	require.NoError(t, err)
}
