package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/petl-go/petl/internal/safefile"
)

// MaxHeaderSize caps the JSON header length accepted by Open (the same cap
// as the reference implementation, 100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key for free-form string metadata.
const metadataKey = "__metadata__"

// nativeLittleEndian reports whether float32 data in a file can be used in
// place on this machine.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Info describes one tensor of an open file.
type Info struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are the byte offsets of the data, relative to the start
	// of the data section, as written in the header.
	Begin, End int64
	// ZeroCopy is true for an F32 tensor whose float32 slice points into
	// the file's memory mapping. It is false for F16/BF16 (converted), for
	// F32 data that is not 4-byte aligned in the file or on a big-endian
	// machine (copied), and when the file is not memory-mapped.
	ZeroCopy bool
}

// Elements is the number of elements, the product of the shape.
func (in Info) Elements() int {
	n := 1
	for _, d := range in.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file. All its methods may be called from
// several goroutines at once, except Close.
type File struct {
	path      string
	buf       []byte // the whole file: a read-only mapping, or heap memory
	dataStart int
	mapped    bool
	unmap     func([]byte) error
	tensors   map[string]*tensor
	names     []string // sorted
	metadata  map[string]string
	copied    int // F32 tensors that could not be used in place

	// For a mapped file: the open descriptor and what it was at Open, so
	// that Check can tell a file changed under the mapping.
	osf    *os.File
	opened stamp
}

type tensor struct {
	Info
	f32 []float32 // set for F32 (mapped or copied), F16, BF16
}

// Open opens and validates the safetensors file at path. On unix systems
// the file is memory-mapped read-only and shared (PROT_READ, MAP_SHARED):
// F32 tensors are returned as slices over the mapping, and writing to one
// crashes the program with a fault rather than corrupting the weights.
// Elsewhere the file is read into memory.
//
// path must be a regular file: a named pipe, a device or a directory is
// an error at once (the file is opened non-blocking and checked before
// anything is read).
//
// The mapping is shared with the page cache: if another program rewrites
// the file in place (rather than replacing it by a rename, as WriteFile
// does), the tensors change, and if the file is truncated, reading the lost
// part faults. Check tells whether the file is still the one opened, and
// Guard turns a fault on a mapped file into an error naming it. Keep
// checkpoint files immutable: replace them by rename.
//
// Every error names the file and, where one is at fault, the tensor.
func Open(path string) (*File, error) {
	osf, sz, err := safefile.Open(path, -1, "a safetensors file")
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			osf.Close()
		}
	}()
	st, err := osf.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	size := sz
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: file is %d bytes, too short for the 8-byte header length", path, size)
	}
	if uint64(size) > uint64(math.MaxInt) {
		return nil, fmt.Errorf("safetensors: %s: file of %d bytes is too large for this platform", path, size)
	}
	// Check the header length before mapping anything.
	var n [8]byte
	if _, err := io.ReadFull(osf, n[:]); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading header length: %w", path, err)
	}
	if err := checkHeaderLen(binary.LittleEndian.Uint64(n[:]), uint64(size)); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	buf, unmap, err := loadFile(osf, int(size))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	var f *File
	// The file may be truncated while it is parsed: a fault is an error
	// naming it, for which the mapping is registered meanwhile.
	parsing := &File{path: path, buf: buf}
	if unmap != nil {
		register(parsing)
	}
	err = Guard(func() error {
		var err error
		f, err = parse(path, buf)
		return err
	})
	if unmap != nil {
		unregister(parsing)
	}
	if err != nil {
		if unmap != nil {
			unmap(buf)
		}
		return nil, err
	}
	f.mapped = unmap != nil
	f.unmap = unmap
	if f.mapped {
		f.osf, keep = osf, true
		f.opened = stamp{size: st.Size(), mtime: st.ModTime()}
		register(f)
		err = Guard(func() error {
			f.opened.sample = f.sample()
			return nil
		})
		if err == nil {
			err = f.Check()
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// ReadMetadata reads the "__metadata__" map of the safetensors file at
// path from its header alone (nil when the header has none), without
// validating or mapping the rest: to tell what a file is before
// replacing it. path must be a regular file; a file that is not a
// safetensors file is an error.
func ReadMetadata(path string) (map[string]string, error) {
	f, size, err := safefile.Open(path, -1, "a safetensors file")
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, fmt.Errorf("safetensors: %s: not a safetensors file: %w", path, err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if err := checkHeaderLen(hlen, uint64(size)); err != nil {
		return nil, fmt.Errorf("safetensors: %s: not a safetensors file: %w", path, err)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	kvs, err := decodeObject(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: not a safetensors file: header: %w", path, err)
	}
	for _, kv := range kvs {
		if kv.key == metadataKey {
			md, err := decodeMetadata(kv.raw)
			if err != nil {
				return nil, fmt.Errorf("safetensors: %s: header: %s: %w", path, metadataKey, err)
			}
			return md, nil
		}
	}
	return nil, nil
}

// Parse validates a safetensors file held in memory, data, as Open
// validates a file; name is used in messages. The File's tensors are
// views of data (F32 data that is 4-byte aligned) or copies; data must not
// change while they are used. Check always succeeds on it.
func Parse(name string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: %s: file is %d bytes, too short for the 8-byte header length", name, len(data))
	}
	return parse(name, data)
}

// stamp is what a mapped file was when opened: fstat's size and
// modification time, and a copy of a sample of its bytes.
type stamp struct {
	size   int64
	mtime  time.Time
	sample []byte
}

// ErrChanged is wrapped by the errors of Check and Guard: a mapped file
// was truncated or rewritten in place while open.
var ErrChanged = errors.New("the file changed while mapped")

// changedAdvice ends the errors that wrap ErrChanged.
const changedAdvice = "petl maps model files and reads them as it runs: replace such a file by writing a new one and renaming it over the old, never truncate or rewrite it in place, and reopen the model to use the new file"

// Check reports whether a mapped file is still the file that Open mapped:
// the same size and modification time (fstat of the open descriptor, so
// a file replaced by a rename, which the mapping does not see, is fine)
// and the same bytes at a sample of places. It returns an error naming
// the file and wrapping ErrChanged when it is not: the tensors may then
// hold other values than the ones checked at Open, or fault when read. It
// is cheap (one fstat and a comparison of 1 KiB: about 2 µs) and returns
// nil for a file read into memory. Check may be called concurrently with reads.
func (f *File) Check() error {
	if !f.mapped || f.osf == nil {
		return nil
	}
	st, err := f.osf.Stat()
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", f.path, err)
	}
	switch o := f.opened; {
	case st.Size() != o.size:
		return fmt.Errorf("safetensors: %s: %w: it is now %d bytes, it was %d when opened; %s", f.path, ErrChanged, st.Size(), o.size, changedAdvice)
	case !st.ModTime().Equal(o.mtime):
		return fmt.Errorf("safetensors: %s: %w: it was modified at %s, after it was opened (then modified %s); %s",
			f.path, ErrChanged, st.ModTime().Format(time.RFC3339Nano), o.mtime.Format(time.RFC3339Nano), changedAdvice)
	}
	same := false
	if err := Guard(func() error { same = f.sameSample(f.opened.sample); return nil }); err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("safetensors: %s: %w: its bytes differ from those opened; %s", f.path, ErrChanged, changedAdvice)
	}
	return nil
}

// sampleWindows and sampleWidth place Check's sample: 16 windows of 64
// bytes spread evenly over the file, the first at its start.
const (
	sampleWindows = 16
	sampleWidth   = 64
)

// sampleAt is the start of window i of the sample.
func (f *File) sampleAt(i int) int {
	n := len(f.buf)
	lo := int(int64(n-1) * int64(i) / (sampleWindows - 1))
	return max(0, min(lo, n-sampleWidth))
}

// sample copies the sampled bytes of the file.
func (f *File) sample() []byte {
	s := make([]byte, 0, sampleWindows*sampleWidth)
	for i := 0; i < sampleWindows; i++ {
		lo := f.sampleAt(i)
		s = append(s, f.buf[lo:min(len(f.buf), lo+sampleWidth)]...)
	}
	return s
}

// sameSample reports whether the sampled bytes of the file are s.
func (f *File) sameSample(s []byte) bool {
	for i := 0; i < sampleWindows; i++ {
		lo := f.sampleAt(i)
		w := f.buf[lo:min(len(f.buf), lo+sampleWidth)]
		if len(s) < len(w) || !bytes.Equal(w, s[:len(w)]) {
			return false
		}
		s = s[len(w):]
	}
	return len(s) == 0
}

// checkHeaderLen bounds the header length by the file size and the cap.
func checkHeaderLen(n, size uint64) error {
	if n > MaxHeaderSize {
		return fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > size-8 {
		return fmt.Errorf("header length %d exceeds the %d bytes that follow it in the file", n, size-8)
	}
	if n < 2 {
		return fmt.Errorf("header length %d is too short for a JSON object", n)
	}
	return nil
}

// parse validates a whole file held in buf and builds the tensor table.
// It never keeps a tensor it has not fully checked.
func parse(path string, buf []byte) (*File, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{path}, a...)...)
	}
	if len(buf) < 8 {
		return nil, fail("file is %d bytes, too short for the 8-byte header length", len(buf))
	}
	hlen := binary.LittleEndian.Uint64(buf)
	if err := checkHeaderLen(hlen, uint64(len(buf))); err != nil {
		return nil, fail("%w", err)
	}
	header := buf[8 : 8+hlen]
	dataStart := 8 + int(hlen)
	dataLen := int64(len(buf) - dataStart)
	f := &File{path: path, buf: buf, dataStart: dataStart, tensors: map[string]*tensor{}}

	if !utf8.Valid(header) {
		return nil, fail("header is not valid UTF-8")
	}
	kvs, err := decodeObject(header)
	if err != nil {
		return nil, fail("header: %w", err)
	}
	for _, kv := range kvs {
		if kv.key == metadataKey {
			md, err := decodeMetadata(kv.raw)
			if err != nil {
				return nil, fail("header: %s: %w", metadataKey, err)
			}
			f.metadata = md
			continue
		}
		if kv.key == "" {
			return nil, fail("header: tensor with an empty name")
		}
		t, err := decodeEntry(kv.raw)
		if err != nil {
			return nil, fail("tensor %q: %w", kv.key, err)
		}
		t.Name = kv.key
		if t.End > dataLen {
			return nil, fail("tensor %q: data_offsets [%d %d] extend past the %d-byte data section", t.Name, t.Begin, t.End, dataLen)
		}
		f.tensors[t.Name] = t
		f.names = append(f.names, t.Name)
	}
	sort.Strings(f.names)

	// The tensors, in offset order, must tile the data section exactly.
	byOff := make([]*tensor, 0, len(f.tensors))
	for _, name := range f.names {
		byOff = append(byOff, f.tensors[name])
	}
	sort.SliceStable(byOff, func(i, j int) bool {
		if byOff[i].Begin != byOff[j].Begin {
			return byOff[i].Begin < byOff[j].Begin
		}
		return byOff[i].End < byOff[j].End
	})
	var next int64
	prev := ""
	for _, t := range byOff {
		switch {
		case t.Begin < next:
			return nil, fail("tensor %q: data_offsets [%d %d] overlap tensor %q, which ends at %d", t.Name, t.Begin, t.End, prev, next)
		case t.Begin > next:
			return nil, fail("tensor %q: data_offsets [%d %d] leave a gap of %d unclaimed bytes before it", t.Name, t.Begin, t.End, t.Begin-next)
		}
		next, prev = t.End, t.Name
	}
	if next != dataLen {
		return nil, fail("tensors cover %d bytes but the data section has %d (trailing or missing data)", next, dataLen)
	}

	for _, name := range f.names {
		if err := f.load(f.tensors[name]); err != nil {
			return nil, fail("tensor %q: %w", name, err)
		}
	}
	return f, nil
}

// load prepares the float32 view of a float tensor: a slice over buf for
// aligned F32 data on a little-endian machine, a converted copy otherwise.
func (f *File) load(t *tensor) error {
	if !t.DType.IsFloat() {
		return nil
	}
	n := t.Elements()
	data := f.buf[f.dataStart+int(t.Begin) : f.dataStart+int(t.End)]
	if n == 0 {
		t.f32 = []float32{}
		return nil
	}
	switch t.DType {
	case F32:
		p := unsafe.Pointer(unsafe.SliceData(data))
		if nativeLittleEndian && uintptr(p)%4 == 0 {
			t.f32 = unsafe.Slice((*float32)(p), n)
			t.ZeroCopy = true
			return nil
		}
		t.f32 = make([]float32, n)
		f32Slice(t.f32, data)
		f.copied++
	case F16:
		t.f32 = make([]float32, n)
		f16Slice(t.f32, data)
	case BF16:
		t.f32 = make([]float32, n)
		bf16Slice(t.f32, data)
	}
	return nil
}

// Path is the file's path, as given to Open.
func (f *File) Path() string { return f.path }

// Mapped reports whether the file is memory-mapped (false where the
// platform has no mmap and the file was read into memory).
func (f *File) Mapped() bool { return f.mapped }

// CopiedF32 is the number of F32 tensors that could not be used in place
// and were copied: their data is not 4-byte aligned in the file (the data
// section starts at 8 + header length, which a valid file need not make a
// multiple of 4), or the machine is big-endian.
func (f *File) CopiedF32() int { return f.copied }

// Names lists the tensor names, sorted.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Metadata returns a copy of the "__metadata__" map (nil when absent).
func (f *File) Metadata() map[string]string {
	if f.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// Info describes the named tensor.
func (f *File) Info(name string) (Info, bool) {
	t, ok := f.tensors[name]
	if !ok {
		return Info{}, false
	}
	in := t.Info
	in.Shape = append([]int{}, t.Shape...)
	return in, true
}

func (f *File) lookup(name string) (*tensor, error) {
	t, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", f.path, name)
	}
	return t, nil
}

// Float32 returns the values of a float tensor (F32, F16 or BF16) in
// row-major order. For a ZeroCopy tensor (see Info) the slice is the
// file's read-only mapping: it must not be written (writing faults) and
// must not be used after Close. Other tensors return memory owned by the
// File; callers must not modify it either, since every call returns the
// same slice.
func (f *File) Float32(name string) ([]float32, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s, not a float type (F32, F16, BF16)", f.path, name, t.DType)
	}
	return t.f32, nil
}

// Int64 returns the values of an integer tensor (I64, I32, I16, I8, U64,
// U32, U16, U8 or BOOL) as a new []int64. A U64 value above the int64
// range or a BOOL byte other than 0 or 1 is an error.
func (f *File) Int64(name string) ([]int64, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsInt() {
		return nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s, not an integer type", f.path, name, t.DType)
	}
	data := f.buf[f.dataStart+int(t.Begin) : f.dataStart+int(t.End)]
	le := binary.LittleEndian
	out := make([]int64, t.Elements())
	for i := range out {
		switch t.DType {
		case I64:
			out[i] = int64(le.Uint64(data[8*i:]))
		case U64:
			v := le.Uint64(data[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("safetensors: %s: tensor %q: element %d = %d overflows int64", f.path, name, i, v)
			}
			out[i] = int64(v)
		case I32:
			out[i] = int64(int32(le.Uint32(data[4*i:])))
		case U32:
			out[i] = int64(le.Uint32(data[4*i:]))
		case I16:
			out[i] = int64(int16(le.Uint16(data[2*i:])))
		case U16:
			out[i] = int64(le.Uint16(data[2*i:]))
		case I8:
			out[i] = int64(int8(data[i]))
		case U8:
			out[i] = int64(data[i])
		case BOOL:
			if data[i] > 1 {
				return nil, fmt.Errorf("safetensors: %s: tensor %q: element %d = %d is not a bool (0 or 1)", f.path, name, i, data[i])
			}
			out[i] = int64(data[i])
		}
	}
	return out, nil
}

// Bytes returns the raw little-endian data of any tensor. It is part of
// the file's memory: do not modify it and do not use it after Close.
func (f *File) Bytes(name string) ([]byte, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	b := f.buf[f.dataStart+int(t.Begin) : f.dataStart+int(t.End)]
	return b[:len(b):len(b)], nil
}

// Evict tells the system that the named tensor's values need not stay in
// the process's resident memory, for a tensor that will not be read for a
// while (its values are used in another form, say): the whole pages of a
// ZeroCopy tensor leave the resident set, and are read back from the page
// cache or the file if the tensor is touched again, with the same values.
// It does nothing for other tensors or when the file is not mapped.
func (f *File) Evict(name string) error {
	t, err := f.lookup(name)
	if err != nil || !f.mapped || !t.ZeroCopy {
		return err
	}
	page := os.Getpagesize()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.buf))) // page-aligned: a mapping
	begin := f.dataStart + int(t.Begin)
	end := f.dataStart + int(t.End)
	begin = (begin + page - 1) / page * page
	end = end / page * page
	if base%uintptr(page) != 0 || begin >= end {
		return nil
	}
	if err := dontNeed(f.buf[begin:end]); err != nil {
		return fmt.Errorf("safetensors: %s: evicting %q: %w", f.path, name, err)
	}
	return nil
}

// Close releases the file. After Close, every slice returned by Float32
// for a ZeroCopy tensor and by Bytes is invalid: the memory is unmapped
// and touching it crashes the program. Close is idempotent.
func (f *File) Close() error {
	if f.buf == nil {
		return nil
	}
	var err error
	if f.mapped {
		unregister(f)
	}
	if f.unmap != nil {
		err = f.unmap(f.buf)
	}
	if f.osf != nil {
		f.osf.Close()
		f.osf = nil
	}
	f.buf = nil
	f.tensors = nil
	f.names = nil
	if err != nil {
		return fmt.Errorf("safetensors: %s: unmapping: %w", f.path, err)
	}
	return nil
}

// --- strict JSON decoding -------------------------------------------------

type keyValue struct {
	key string
	raw json.RawMessage
}

// decodeObject decodes one JSON object into its members in order,
// rejecting duplicate keys and anything after the object but whitespace.
func decodeObject(data []byte) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var kvs []keyValue
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", tok)
		}
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		kvs = append(kvs, keyValue{key, raw})
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if err := expectEnd(dec); err != nil {
		return nil, err
	}
	return kvs, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("unexpected end of JSON, expected '%c'", rune(want))
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("found %v where '%c' was expected", tok, rune(want))
	}
	return nil
}

func expectEnd(dec *json.Decoder) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("unexpected JSON %v after the object", tok)
}

// decodeString decodes a JSON string value (null and other types are
// errors).
func decodeString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("%s is not a string", abbrev(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// decodeInts decodes a JSON array of non-negative integers, each at most
// MaxInt64 (and at most math.MaxInt on this platform).
func decodeInts(raw json.RawMessage) ([]int64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := expectDelim(dec, '['); err != nil {
		return nil, fmt.Errorf("%s is not an array", abbrev(raw))
	}
	out := []int64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("array element %v is not a number", tok)
		}
		v, err := strconv.ParseUint(string(num), 10, 63)
		if err != nil || uint64(v) > uint64(math.MaxInt) {
			return nil, fmt.Errorf("array element %s is not a non-negative integer in range", num)
		}
		out = append(out, int64(v))
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeMetadata decodes the "__metadata__" object: string keys to string
// values only.
func decodeMetadata(raw json.RawMessage) (map[string]string, error) {
	kvs, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	md := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		s, err := decodeString(kv.raw)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", kv.key, err)
		}
		md[kv.key] = s
	}
	return md, nil
}

// decodeEntry decodes and checks one tensor's header entry: exactly the
// keys dtype, shape and data_offsets; a known dtype; an element count times
// the dtype size, computed without overflow, equal to end - begin.
func decodeEntry(raw json.RawMessage) (*tensor, error) {
	kvs, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	t := &tensor{}
	var haveDType, haveShape, haveOffsets bool
	var shape, offs []int64
	for _, kv := range kvs {
		switch kv.key {
		case "dtype":
			s, err := decodeString(kv.raw)
			if err != nil {
				return nil, fmt.Errorf("dtype: %w", err)
			}
			if t.DType, err = parseDType(s); err != nil {
				return nil, err
			}
			haveDType = true
		case "shape":
			if shape, err = decodeInts(kv.raw); err != nil {
				return nil, fmt.Errorf("shape: %w", err)
			}
			haveShape = true
		case "data_offsets":
			if offs, err = decodeInts(kv.raw); err != nil {
				return nil, fmt.Errorf("data_offsets: %w", err)
			}
			if len(offs) != 2 {
				return nil, fmt.Errorf("data_offsets has %d elements, want [begin, end]", len(offs))
			}
			haveOffsets = true
		default:
			return nil, fmt.Errorf("unknown key %q in tensor entry", kv.key)
		}
	}
	switch {
	case !haveDType:
		return nil, errors.New("entry has no dtype")
	case !haveShape:
		return nil, errors.New("entry has no shape")
	case !haveOffsets:
		return nil, errors.New("entry has no data_offsets")
	}
	t.Begin, t.End = offs[0], offs[1]
	if t.End < t.Begin {
		return nil, fmt.Errorf("data_offsets [%d %d] end before they begin", t.Begin, t.End)
	}
	// Element count and byte length, with overflow checks.
	var n uint64 = 1
	overflow := false
	t.Shape = make([]int, len(shape))
	for i, d := range shape {
		t.Shape[i] = int(d)
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			overflow = true
		}
		n = lo
	}
	hi, nbytes := bits.Mul64(n, uint64(t.DType.Size()))
	if overflow || hi != 0 || n > uint64(math.MaxInt) {
		return nil, fmt.Errorf("shape %v of %s overflows", t.Shape, t.DType)
	}
	if nbytes != uint64(t.End-t.Begin) {
		return nil, fmt.Errorf("shape %v of %s is %d bytes but data_offsets [%d %d] hold %d",
			t.Shape, t.DType, nbytes, t.Begin, t.End, t.End-t.Begin)
	}
	return t, nil
}

// abbrev shortens raw JSON for an error message.
func abbrev(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}
