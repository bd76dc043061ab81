package bert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
)

// Packed weights. Every dense layer's product x·Wᵀ packs W into the layout
// of the SGEMM micro-kernel on every call (kernels.Sgemm); for frozen
// weights that work can be done once. Model.PackWeights does it and keeps
// the result in a file that is memory-mapped read-only, as the checkpoint
// is, so that the packed weights are shared page cache, not heap: a
// safetensors file with one F32 tensor per dense weight, named as the
// weight, of the kernels' layout shape ([k blocks, slivers, kc, nr]), and
// metadata naming the format, the kernel variant and the key of the
// weights it was made from.

const (
	packFormat  = "petl-packed-weights"
	packVersion = "1"
	// packSamples is how many floats of each packed tensor are checked
	// against the weights when a file is reused (kernels.PackedB.Verify).
	packSamples = 257
)

// PackStats reports what Model.PackWeights did.
type PackStats struct {
	Path    string // the file; "" for packing on the heap
	Variant kernels.Variant
	Tensors int   // dense weights packed
	Bytes   int64 // their packed size
	// Written is true when the file was (re)written, with the reason in
	// Why ("no file yet", "made for avx512", a verification failure, ...);
	// false when an existing file was mapped.
	Written bool
	Why     string
}

// packedLinears returns the dense layers whose weights PackWeights packs:
// the six of every encoder layer and the pooler, with their weight names.
// (The classifier has a handful of rows; packing it would gain nothing.)
func (m *Model) packedLinears() []*nn.Linear {
	ls := make([]*nn.Linear, 0, 6*len(m.Layers)+1)
	for i := range m.Layers {
		L := &m.Layers[i]
		ls = append(ls, &L.Query, &L.Key, &L.Value, &L.AttnOut, &L.FFIn, &L.FFOut)
	}
	return append(ls, &m.Pooler)
}

// DefaultPackPath returns where PackWeights keeps the packed weights of the
// base model identified by key (a fingerprint, see Checkpoint.Fingerprint)
// for the active kernel variant: a file under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux), petl/packed/.
func DefaultPackPath(key string) (string, error) {
	return cacheFile("packed", key, "-"+kernels.Active().String())
}

// cacheFile is where the derived weights of kind ("packed", "int8") of the
// base identified by key are kept: petl/<kind>/ under the user's cache
// directory, named by a hash of key and suffix.
func cacheFile(kind, key, suffix string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("bert: no cache directory for %s weights: %w", kind, err)
	}
	h := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "petl", kind, hex.EncodeToString(h[:12])+suffix+".safetensors"), nil
}

// PackWeights packs the frozen weights of the encoder's and the pooler's
// dense layers for the active kernel variant (kernels.PackB), so that
// forward passes skip packing them on every call; the results are bitwise
// the same. It changes how the model computes, not what: a weight that is
// trainable, or made trainable later, is multiplied unpacked.
//
// With path "", the packed weights are on the heap (a copy of about the
// size of those weights: meant for models that are on the heap anyway, as
// NewRandom's). Otherwise they are the file at path, memory-mapped
// read-only: if the file holds the packing of the weights identified by
// key for the active variant, and a sample of every tensor agrees with the
// weights, it is used as it is; if not (missing, for another variant or
// key, damaged but for its header, or disagreeing), it is written anew,
// atomically, and mapped; but a file at path that is not a petl
// packed-weights file (by its header) is never replaced: that is an
// error. key must identify the weights (Checkpoint.Fingerprint does); a file whose
// key matches but whose contents do not is caught only as far as the
// sample reaches, so do not reuse a key for other weights. The mapping
// stays until Unpack, and the model must not be used after Unpack has
// closed it while another goroutine runs a forward pass.
//
// PackWeights replaces an earlier packing. It does nothing (and reports
// no tensors) when the active variant has no packed layout.
func (m *Model) PackWeights(path, key string) (PackStats, error) {
	if err := m.Unpack(); err != nil {
		return PackStats{}, err
	}
	ls := m.packedLinears()
	v, shape := kernels.PackedBLayout(ls[0].In, ls[0].Out)
	st := PackStats{Path: path, Variant: v}
	if shape == nil {
		return st, nil
	}
	for _, l := range ls {
		if !l.W.Frozen {
			return st, fmt.Errorf("bert: packing weights: %s is trainable; only frozen weights can be packed", l.W.Name)
		}
	}
	if path == "" {
		for _, l := range ls {
			_, shape := kernels.PackedBLayout(l.In, l.Out)
			l.Packed = kernels.PackB(make([]float32, prod(shape)), true, l.In, l.Out, l.W.W, l.In)
		}
		return packStats(st, ls), nil
	}
	if key == "" {
		return st, fmt.Errorf("bert: packing weights into %s: no key identifying the weights", path)
	}
	f, pbs, why := m.openPacked(path, key, v)
	if f == nil {
		if err := notForeign(path, packFormat, "packed-weights"); err != nil {
			return st, err
		}
		st.Written, st.Why = true, why
		if err := m.writePacked(path, key, v); err != nil {
			return st, err
		}
		if f, pbs, why = m.openPacked(path, key, v); f == nil {
			return st, fmt.Errorf("bert: packed weights just written to %s do not read back: %s", path, why)
		}
	}
	for i, l := range ls {
		l.Packed = pbs[i]
	}
	m.packFile = f
	return packStats(st, ls), nil
}

// packStats adds the count and packed size of ls to st.
func packStats(st PackStats, ls []*nn.Linear) PackStats {
	for _, l := range ls {
		_, shape := kernels.PackedBLayout(l.In, l.Out)
		st.Tensors++
		st.Bytes += 4 * int64(prod(shape))
	}
	return st
}

// openPacked opens the file at path if it holds what PackWeights would
// write there now, with the packed operand of each of packedLinears;
// otherwise it returns nil and why not.
func (m *Model) openPacked(path, key string, v kernels.Variant) (*safetensors.File, []*kernels.PackedB, string) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "no file yet"
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, err.Error()
	}
	var pbs []*kernels.PackedB
	why := func() string {
		md := f.Metadata()
		switch {
		case md["format"] != packFormat || md["version"] != packVersion:
			return fmt.Sprintf("format %q version %q, want %q version %q", md["format"], md["version"], packFormat, packVersion)
		case md["variant"] != v.String():
			return fmt.Sprintf("made for the %s kernels, these are %s", md["variant"], v)
		case md["key"] != key:
			return "made for other weights (key differs)"
		}
		ls := m.packedLinears()
		if n := len(f.Names()); n != len(ls) {
			return fmt.Sprintf("%d tensors, want %d", n, len(ls))
		}
		for _, l := range ls {
			_, shape := kernels.PackedBLayout(l.In, l.Out)
			info, ok := f.Info(l.W.Name)
			switch {
			case !ok:
				return fmt.Sprintf("no tensor %s", l.W.Name)
			case info.DType != safetensors.F32 || !slices.Equal(info.Shape, shape):
				return fmt.Sprintf("tensor %s is %s %v, want F32 %v", l.W.Name, info.DType, info.Shape, shape)
			}
			data, err := f.Float32(l.W.Name)
			if err != nil {
				return err.Error()
			}
			if f.Mapped() && uintptr(unsafe.Pointer(unsafe.SliceData(data)))%64 != 0 {
				// SIMD loads would straddle cache lines: files from
				// before the writer aligned its data section are
				// replaced.
				return fmt.Sprintf("tensor %s is not aligned to 64 bytes", l.W.Name)
			}
			pb, err := kernels.PackedBFrom(data, v, true, l.In, l.Out, l.W.W, l.In)
			if err == nil {
				err = pb.Verify(packSamples)
			}
			if err != nil {
				return fmt.Sprintf("tensor %s: %v", l.W.Name, err)
			}
			pbs = append(pbs, pb)
		}
		return ""
	}()
	if why != "" {
		f.Close()
		return nil, nil, why
	}
	return f, pbs, ""
}

// notForeign refuses to replace a file at path whose header does not name
// format (what names the kind: "packed-weights"): a mistyped path must not
// overwrite a model, a vocabulary or anything else.
func notForeign(path, format, what string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	md, err := safetensors.ReadMetadata(path)
	if err != nil {
		return fmt.Errorf("bert: not writing into %s: %w (it exists and is not a petl %s file: choose another path, or remove it)", path, err, what)
	}
	if md["format"] != format {
		return fmt.Errorf("bert: not writing into %s: it exists and is not a petl %s file (its format is %q): choose another path, or remove it", path, what, md["format"])
	}
	return nil
}

// closeMapped closes the mapping *f of derived weights, if any, and forgets
// it.
func closeMapped(f **safetensors.File, what string) error {
	if *f == nil {
		return nil
	}
	err := (*f).Close()
	*f = nil
	if err != nil {
		return fmt.Errorf("bert: closing %s: %w", what, err)
	}
	return nil
}

// writePacked writes the packing of m's dense weights for variant v to
// path, one tensor at a time, atomically.
func (m *Model) writePacked(path, key string, v kernels.Variant) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bert: writing packed weights: %w", err)
	}
	var ts []safetensors.Tensor
	for _, l := range m.packedLinears() {
		_, shape := kernels.PackedBLayout(l.In, l.Out)
		ts = append(ts, safetensors.Tensor{Name: l.W.Name, DType: safetensors.F32, Shape: shape,
			Fill: func(dst []float32) { kernels.PackB(dst, true, l.In, l.Out, l.W.W, l.In) }})
	}
	md := map[string]string{"format": packFormat, "version": packVersion, "variant": v.String(), "key": key}
	if err := safetensors.WriteFile(path, ts, md); err != nil {
		return fmt.Errorf("bert: writing packed weights: %w", err)
	}
	return nil
}

// PackedWeights returns the names of the weights that forward passes
// multiply in packed form now (none before PackWeights or after Unpack,
// nor when the active kernel variant is not the one they were packed for).
// Their source values are then read only where a weight is made
// trainable: a mapped checkpoint can let them go (Checkpoint.Evict).
func (m *Model) PackedWeights() []string {
	var names []string
	for _, l := range m.packedLinears() {
		if l.Packed != nil && l.Packed.Packed() && l.Packed.Of(l.W.W) {
			names = append(names, l.W.Name)
		}
	}
	return names
}

// CheckPacked reports whether the files of packed and of int8 weights,
// when the model has them mapped, are still the files opened
// (safetensors.File.Check); nil when the weights are in neither.
func (m *Model) CheckPacked() error {
	if f := m.packFile; f != nil {
		if err := f.Check(); err != nil {
			return fmt.Errorf("bert: packed weights: %w", err)
		}
	}
	if f := m.quantFile; f != nil {
		if err := f.Check(); err != nil {
			return fmt.Errorf("bert: int8 weights: %w", err)
		}
	}
	return nil
}

// Unpack drops the packed weights of PackWeights (forward passes pack
// again on every call) and closes their file. Nothing may run a forward
// pass on the model meanwhile.
func (m *Model) Unpack() error {
	m.dropPacked()
	return closeMapped(&m.packFile, "packed weights")
}

// dropPacked forgets the packed weights of every dense layer.
func (m *Model) dropPacked() {
	for _, l := range m.packedLinears() {
		l.Packed = nil
	}
}
