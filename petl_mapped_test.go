package petl_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/safetensors"
	"github.com/stretchr/testify/require"
)

// tinyCopy copies the shipped BERT-tiny checkpoint into a folder of its
// own, which the test may damage.
func tinyCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} {
		in, err := os.Open(filepath.Join("models", "petl-bert-tiny", f))
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dir, f))
		require.NoError(t, err)
		_, err = io.Copy(out, in)
		require.NoError(t, err)
		in.Close()
		require.NoError(t, out.Close())
	}
	return dir
}

// TestMappedBaseChanged damages model.safetensors while a base is open on
// it, with packed weights in a file and without: truncated, the next
// prediction is an error naming the file (it used to kill the process
// with SIGBUS); rewritten in place with the same size, an error too (it
// used to change predictions silently); replaced by a rename, the open
// base goes on with the file it mapped.
func TestMappedBaseChanged(t *testing.T) {
	for _, pack := range []string{"off", "file"} {
		for _, damage := range []string{"truncate", "rewrite", "rename"} {
			t.Run(pack+"/"+damage, func(t *testing.T) {
				dir := tinyCopy(t)
				opts := petl.Options{Pack: "off"}
				if pack == "file" {
					opts.Pack = filepath.Join(t.TempDir(), "packed.safetensors")
				}
				b, err := petl.Open(dir, opts)
				require.NoError(t, err)
				defer b.Close()
				sst2, err := b.Load("sst2", "models/adapters/sst2")
				require.NoError(t, err)
				in := petl.Text("a gripping, funny and moving film")
				want, err := sst2.Predict(context.Background(), in)
				require.NoError(t, err)
				require.NoError(t, b.Check())

				path := filepath.Join(dir, "model.safetensors")
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				switch damage {
				case "truncate":
					require.NoError(t, os.Truncate(path, int64(len(data)/3)))
				case "rewrite":
					time.Sleep(10 * time.Millisecond)
					f, err := os.OpenFile(path, os.O_WRONLY, 0)
					require.NoError(t, err)
					junk := make([]byte, len(data)-4096)
					for i := range junk {
						junk[i] = byte(i * 7)
					}
					_, err = f.WriteAt(junk, 4096)
					require.NoError(t, err)
					require.NoError(t, f.Close())
				case "rename":
					tmp := path + ".new"
					require.NoError(t, os.WriteFile(tmp, data[:len(data)/2], 0o644))
					require.NoError(t, os.Rename(tmp, path))
				}
				got, err := sst2.Predict(context.Background(), in)
				if damage == "rename" {
					require.NoError(t, err)
					require.Equal(t, want, got, "a rename leaves the mapped file as it was")
					return
				}
				require.ErrorIs(t, err, safetensors.ErrChanged)
				require.ErrorContains(t, err, path)
				require.ErrorContains(t, err, "renaming it over the old")
				require.Nil(t, got)
				_, err = sst2.Predict(context.Background(), in)
				require.ErrorIs(t, err, safetensors.ErrChanged, "every later prediction fails too")
			})
		}
	}
}

// TestGuardFaultIsError reads the embeddings of a base whose file was
// truncated under it, inside Base.Guard: an error naming the file, not
// SIGBUS.
func TestGuardFaultIsError(t *testing.T) {
	dir := tinyCopy(t)
	b, err := petl.Open(dir, petl.Options{Pack: "off"})
	require.NoError(t, err)
	defer b.Close()
	w := b.Model().Embeddings.Word.W.W
	path := filepath.Join(dir, "model.safetensors")
	require.NoError(t, os.Truncate(path, 0))
	var sum float32
	err = safetensors.Guard(func() error {
		for _, v := range w {
			sum += v
		}
		return nil
	})
	require.ErrorIs(t, err, safetensors.ErrChanged)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "truncated")
}

// TestTruncatedDuringPredictions truncates model.safetensors while
// predictions run without pause on one thread: each one either succeeds
// (it ran before) or fails naming the file; none crashes the process, and
// after the truncation every prediction fails. (With several threads, a
// fault on a kernel's worker goroutine is not covered by Guard: see
// safetensors.Guard.)
func TestTruncatedDuringPredictions(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(1)
	dir := tinyCopy(t)
	b, err := petl.Open(dir, petl.Options{Pack: "off"})
	require.NoError(t, err)
	defer b.Close()
	sst2, err := b.Load("sst2", "models/adapters/sst2")
	require.NoError(t, err)
	in := make([]petl.Input, 16)
	for i := range in {
		in[i] = petl.Text("the plot is dull but the actors are great and the music is fun")
	}
	path := filepath.Join(dir, "model.safetensors")
	res := make(chan error, 1)
	var passes int
	go func() {
		for {
			_, err := sst2.Predict(context.Background(), in...)
			if err != nil {
				res <- err
				return
			}
			passes++
		}
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, os.Truncate(path, 1<<20))
	select {
	case err := <-res:
		require.ErrorIs(t, err, safetensors.ErrChanged)
		require.ErrorContains(t, err, path)
		t.Logf("%d passes, then: %v", passes, err)
	case <-time.After(10 * time.Second):
		t.Fatal("predictions go on after the truncation")
	}
	_, err = sst2.Predict(context.Background(), in...)
	require.ErrorIs(t, err, safetensors.ErrChanged)
}

// BenchmarkCheck is the cost Base.Guard adds to every pass, twice: one
// Check of the mapped checkpoint and packed file.
func BenchmarkCheck(b *testing.B) {
	base, err := petl.Open(filepath.Join("models", "petl-bert-tiny"), petl.Options{Pack: filepath.Join(b.TempDir(), "packed.safetensors")})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	for b.Loop() {
		if err := base.Check(); err != nil {
			b.Fatal(err)
		}
	}
}
