package safetensors

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen opens arbitrary bytes as a safetensors file: Open must return
// an error or a file whose every tensor can be read, never panic. The seed
// corpus is a valid file, some of its prefixes and the corrupt cases.
func FuzzOpen(f *testing.F) {
	full := sampleFile(f)
	f.Add(full)
	for _, n := range []int{0, 7, 8, 9, len(full) / 2, len(full) - 1} {
		f.Add(full[:n])
	}
	for _, c := range corruptCases() {
		f.Add(c.file)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(p)
		if err != nil {
			if file != nil {
				t.Fatal("Open returned both a file and an error")
			}
			return
		}
		readAll(t, file)
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
