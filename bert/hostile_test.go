package bert

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/petl-go/petl/internal/nohang"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/wordpiece"
	"github.com/stretchr/testify/require"
)

// TestCheckpointFilesNotRegular puts a named pipe, /dev/zero (a link to
// it) and a folder in place of each file of a checkpoint: opening it, or
// reading its vocabulary or casing, is an immediate error naming the file
// (a FIFO as model.safetensors or config.json used to hang for good, and
// /dev/zero as vocab.txt or config.json to run out of memory).
func TestCheckpointFilesNotRegular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes")
	}
	cfg := ckptTestConfig()
	good := ckptWrite(t, cfg, ckptBase(cfg, 1))
	vocab := testVocabTokens(cfg.VocabSize)
	for _, file := range []string{ConfigFileName, WeightsFileName, "vocab.txt", wordpiece.TokenizerConfigFile} {
		for _, kind := range []string{"fifo", "zero", "dir"} {
			t.Run(file+"/"+kind, func(t *testing.T) {
				dir := t.TempDir()
				for _, f := range []string{ConfigFileName, WeightsFileName} {
					data, err := os.ReadFile(filepath.Join(good, f))
					require.NoError(t, err)
					require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(vocab), 0o644))
				require.NoError(t, wordpiece.WriteDoLowerCase(dir, true))
				path := filepath.Join(dir, file)
				require.NoError(t, os.Remove(path))
				switch kind {
				case "fifo":
					require.NoError(t, syscall.Mkfifo(path, 0o644))
				case "zero":
					require.NoError(t, os.Symlink("/dev/zero", path))
				case "dir":
					require.NoError(t, os.Mkdir(path, 0o755))
				}
				err := nohang.Run(t, func() error {
					ck, err := OpenCheckpoint(dir)
					if err != nil {
						return err
					}
					defer ck.Close()
					v, err := wordpiece.LoadVocab(filepath.Join(dir, "vocab.txt"))
					if err != nil {
						return err
					}
					_, err = wordpiece.CheckpointCasing(dir, v)
					return err
				})
				require.ErrorIs(t, err, safefile.ErrNotRegular)
				require.ErrorContains(t, err, path)
			})
		}
	}
}

// TestSmallFilesLimited checks the size limits of the files read whole: a
// config.json or tokenizer_config.json over 1 MiB, a vocab.txt over 16
// MiB.
func TestSmallFilesLimited(t *testing.T) {
	dir := t.TempDir()
	big := func(name string, n int) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(int64(n)))
		require.NoError(t, f.Close())
		return p
	}
	_, err := LoadConfig(big(ConfigFileName, safefile.MaxJSON+1))
	require.ErrorIs(t, err, safefile.ErrTooLarge)
	_, err = wordpiece.LoadVocab(big("vocab.txt", safefile.MaxVocab+1))
	require.ErrorIs(t, err, safefile.ErrTooLarge)
	big(wordpiece.TokenizerConfigFile, safefile.MaxJSON+1)
	_, _, err = wordpiece.ReadDoLowerCase(dir)
	require.ErrorIs(t, err, safefile.ErrTooLarge)
}

// testVocabTokens is a vocabulary file of n tokens, the specials first.
func testVocabTokens(n int) string {
	s := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
	for i := 5; i < n; i++ {
		s += fmt.Sprintf("w%d\n", i)
	}
	return s
}

// TestBaseFingerprintCoversVocab checks that the base's identity changes
// with any change of its vocabulary (a truncated or reordered vocab.txt
// used to pass the fingerprint check) and not with how the file ends its
// lines.
func TestBaseFingerprintCoversVocab(t *testing.T) {
	dir := t.TempDir()
	load := func(text string) *wordpiece.Vocab {
		p := filepath.Join(dir, "vocab.txt")
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		v, err := wordpiece.LoadVocab(p)
		require.NoError(t, err)
		return v
	}
	text := testVocabTokens(40)
	v := load(text)
	w := "sha256:" + fmt.Sprintf("%064x", 1)
	fp := BaseFingerprint(w, v)
	require.Regexp(t, `^v2:sha256:[0-9a-f]{64}$`, fp)
	require.Equal(t, fp, BaseFingerprint(w, load(text[:len(text)-1])), "no final newline")
	crlf := ""
	for _, l := range splitLines(text) {
		crlf += l + "\r\n"
	}
	require.Equal(t, fp, BaseFingerprint(w, load(crlf)), "CRLF line ends")
	for name, other := range map[string]string{
		"truncated": testVocabTokens(39),
		"reordered": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nw6\nw5\n" + text[len(testVocabTokens(7)):],
		"one token": text[:len(text)-4] + "wX\n",
	} {
		require.NotEqual(t, fp, BaseFingerprint(w, load(other)), name)
	}
	require.NotEqual(t, fp, BaseFingerprint("sha256:"+fmt.Sprintf("%064x", 2), v), "other weights")
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
