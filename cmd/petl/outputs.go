package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/internal/safefile"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/wordpiece"
)

// Nothing petl writes may land on what it reads, nor replace a file that
// is not petl's of the same kind: every command checks its outputs before
// its first step of work (before loading data, training or predicting), so
// that a mistyped path is an error at once and the file stays as it was.
// An output of each kind is recognised by its content (an adapter, a
// training checkpoint by their safetensors metadata, a metrics or
// predictions file by its first line, a sweep's or a pretraining run's
// folder by what it holds); an empty file or a new name is fine.

// inputFile is a file a command reads.
type inputFile struct {
	what string // for messages: "the model's model.safetensors", "--input"
	path string
}

// modelInputs are the files of the base model named by model (a --model
// value, see modelDir; none for random-tiny) and the vocabulary vocab
// ("" for the model's own).
func modelInputs(model, vocab string) []inputFile {
	var in []inputFile
	if model != randomTiny {
		if dir, err := modelDir(model); err == nil {
			in = append(in, checkpointInputs(dir)...)
		}
	} else if vocab == "" {
		vocab = defaultVocab
	}
	if vocab != "" {
		in = append(in, inputFile{"the vocabulary (--vocab)", vocab})
	}
	return in
}

// checkpointInputs are the files of the checkpoint folder dir.
func checkpointInputs(dir string) []inputFile {
	var in []inputFile
	for _, f := range []string{bert.ConfigFileName, bert.WeightsFileName, "vocab.txt", wordpiece.TokenizerConfigFile} {
		in = append(in, inputFile{"the model's " + f, filepath.Join(dir, f)})
	}
	return in
}

// adapterInputs are the files of the adapter at path: its
// configuration, STEM.safetensors and the weights it names.
func adapterInputs(path, weights string) []inputFile {
	w, c := adapter.Paths(path)
	in := []inputFile{{"the adapter's configuration", c}, {"the adapter's weights", w}}
	if weights != "" {
		in = append(in, inputFile{"the adapter's weights", filepath.Join(filepath.Dir(c), weights)})
	}
	return in
}

// sameFile reports whether a and b name the same file: the same absolute
// path, or two names of one existing file (a link, another spelling).
func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// notAnInput refuses an output (label: "--out PATH", say) that is one of
// the files the command reads.
func notAnInput(label, path string, inputs []inputFile) error {
	for _, in := range inputs {
		if sameFile(path, in.path) {
			return fmt.Errorf("%s is %s, which this command reads: choose another file", label, in.what)
		}
	}
	return nil
}

// distinctOutputs refuses two outputs of one command that are the same
// file (the adapter's weights and the checkpoint, say).
func distinctOutputs(outs ...inputFile) error {
	for i, a := range outs {
		for _, b := range outs[i+1:] {
			if sameFile(a.path, b.path) {
				return fmt.Errorf("%s and %s are the same file, %s: choose different names", a.what, b.what, a.path)
			}
		}
	}
	return nil
}

// outputKind is a kind of file petl writes.
type outputKind struct {
	name string // "a petl metrics file"
	// is recognises an existing, non-empty regular file of the kind from
	// its path and its first bytes (up to headBytes).
	is func(path string, head []byte) bool
}

// headBytes is how much of an existing file outputKind.is sees.
const headBytes = 64 << 10

// checkOutputFile checks, before any work, that the command may write the
// file path (label names it in errors: "--out PATH"): it is not one of
// inputs; its folder exists and takes new files; and if it exists, it is
// an empty regular file or one that kind recognises, so that a mistyped
// path never replaces another file.
func checkOutputFile(label, path string, kind outputKind, inputs []inputFile) error {
	if err := notAnInput(label, path, inputs); err != nil {
		return err
	}
	if err := folderTakesFiles(label, filepath.Dir(path)); err != nil {
		return err
	}
	f, size, err := safefile.Open(path, -1, "an output")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, safefile.ErrNotRegular):
		return fmt.Errorf("%s: %w", label, err)
	case err != nil:
		return fmt.Errorf("%s: %w", label, err)
	}
	defer f.Close()
	if size == 0 {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(f, headBytes))
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if !kind.is(path, head) {
		return fmt.Errorf("%s exists and is not %s: not replacing it (choose another file, or remove it first)", label, kind.name)
	}
	return nil
}

// probePrefix begins the name of the file folderTakesFiles makes and
// removes at once. Another petl process may be probing the same folder (the
// tasks of a sweep's array job start together), so folder checks pass over
// such files.
const probePrefix = ".petl-probe"

// folderTakesFiles checks that dir is a folder in which new files can be
// made (by making one and removing it).
func folderTakesFiles(label, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: its folder: %w", label, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", label, dir)
	}
	probe, err := os.CreateTemp(dir, probePrefix+"*")
	if err != nil {
		return fmt.Errorf("%s: the folder %s does not take new files: %w", label, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// firstLine is the first line of head, and whether it is complete.
func firstLine(head []byte) ([]byte, bool) {
	line, _, found := bytes.Cut(head, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), found
}

// jsonKeys reports whether line is a JSON object with every key.
func jsonKeys(line []byte, keys ...string) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return false
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			return false
		}
	}
	return true
}

var (
	// metricsKind: train's --metrics, one JSON object per evaluation.
	metricsKind = outputKind{"a petl metrics file (JSON lines with step and epoch)", func(_ string, head []byte) bool {
		line, _ := firstLine(head)
		return jsonKeys(line, "step", "epoch")
	}}
	// checkpointKind: train's --checkpoint, a safetensors file whose
	// metadata holds the run's state.
	checkpointKind = outputKind{"a petl training checkpoint", func(path string, _ []byte) bool {
		md, err := safetensors.ReadMetadata(path)
		_, ok := md["petl_train_state"]
		return err == nil && ok
	}}
	// predictionsKind: predict's --out, TSV with the submission header or
	// JSON lines with an index.
	predictionsKind = outputKind{"a petl predictions file (index<TAB>prediction..., or JSON lines with an index)", func(_ string, head []byte) bool {
		line, _ := firstLine(head)
		return bytes.HasPrefix(line, []byte("index\tprediction")) || jsonKeys(line, "index")
	}}
	// profileKind: a CPU profile (pprof's gzip-compressed protocol buffer).
	profileKind = outputKind{"a CPU profile", func(_ string, head []byte) bool {
		return bytes.HasPrefix(head, []byte{0x1f, 0x8b})
	}}
)

// sweepFile matches the names of the files petl sweep writes in its
// folder, and the temporary files it renames into place.
var sweepFile = regexp.MustCompile(`^\.?(results\.jsonl|results\.md|figure(-[a-z0-9]+)?\.svg)(\.tmp[0-9]*)?$`)

// outFolder opens the output folder dir (label: "--out DIR") of a command
// that writes several files into it (what: what it writes, for the error
// when dir is a file): a folder that does not exist is made (made: then
// there is nothing to check but that files can be made in it), else its
// entries are listed for the caller to check.
func outFolder(label, dir, what string) (entries []os.DirEntry, made bool, err error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, true, fmt.Errorf("%s: %w", label, err)
		}
		return nil, true, folderTakesFiles(label, dir)
	case err != nil:
		return nil, false, fmt.Errorf("%s: %w", label, err)
	case !st.IsDir():
		return nil, false, fmt.Errorf("%s is a file, not a folder: %s (choose another name)", label, what)
	}
	entries, err = os.ReadDir(dir)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", label, err)
	}
	return entries, false, nil
}

// checkSweepFolder checks, before any work, that petl sweep may write its
// results in dir (label: "--out DIR"): a new or empty folder, or a
// sweep's, which holds results.jsonl (other sweeps in subfolders are
// fine); never a file, nor a folder of other files (a model's, the
// data's), and the files a sweep writes there, where they exist, are a
// sweep's, as are the subfolders it writes (runs/, slurm/, k8s/:
// checkSweepSubfolders). The folder is made if need be.
func checkSweepFolder(label, dir string) error {
	entries, made, err := outFolder(label, dir, "a sweep writes results.jsonl, results.md and figures into a folder")
	if err != nil || made {
		return err
	}
	var other []string
	hasResults := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue // checkSweepSubfolders checks the ones a sweep writes
		}
		if strings.HasPrefix(name, probePrefix) {
			continue // another petl's probe, there for an instant
		}
		if !sweepFile.MatchString(name) {
			other = append(other, name)
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue // a temporary file of an interrupted write
		}
		path := filepath.Join(dir, name)
		hasResults = hasResults || name == "results.jsonl"
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: %s is not a regular file", label, path)
		}
		if !sweepsOwn(path, name) {
			return fmt.Errorf("%s: %s exists and is not a sweep's: not replacing it (choose another folder)", label, path)
		}
	}
	if len(other) > 0 && !hasResults {
		return fmt.Errorf("%s holds %s, and no sweep (results.jsonl): a sweep writes into a new or empty folder, or continues its own; choose another folder", label, listSome(other))
	}
	if err := checkSweepSubfolders(label, dir); err != nil {
		return err
	}
	return folderTakesFiles(label, dir)
}

// sweepsOwn reports whether the file name in a sweep's folder (at path)
// is what a sweep writes there.
func sweepsOwn(path, name string) bool {
	head, err := readHead(path, 4096)
	if err != nil {
		return false
	}
	if len(head) == 0 {
		return true
	}
	switch {
	case name == "results.jsonl":
		return head[0] == '{'
	case name == "results.md":
		return bytes.HasPrefix(head, []byte("# Sweep on "))
	default: // a figure
		return bytes.Contains(head, []byte("<svg"))
	}
}

// readHead reads the first n bytes of the regular file at path.
func readHead(path string, n int64) ([]byte, error) {
	f, _, err := safefile.Open(path, -1, "a file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// pretrainEntry matches what petl pretrain writes in its folder.
var pretrainEntry = regexp.MustCompile(`^(\.?checkpoint-[0-9]+(\.tmp)?|pretrain_result\.json(\.tmp[0-9]*)?|\.pretrain_result\.json\.tmp[0-9]*)$`)

// checkPretrainFolder checks, before any work, that petl pretrain may
// write its checkpoints in dir (label: "--out DIR"): a new or empty
// folder, or one of an earlier run (a petl checkpoint-N folder or
// pretrain_result.json); never a file (the corpus, say) nor a model's
// folder, and every checkpoint-N in it is petl's (pretrain replaces and
// prunes them). The folder is made if need be.
func checkPretrainFolder(label, dir string) error {
	entries, made, err := outFolder(label, dir, "pretrain writes checkpoint-N folders into a folder")
	if err != nil || made {
		return err
	}
	var other []string
	ours := false
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case name == bert.ConfigFileName || name == bert.WeightsFileName:
			return fmt.Errorf("%s holds a model (%s): pretrain writes checkpoint-N folders into a folder of its own; choose another folder", label, name)
		case !pretrainEntry.MatchString(name):
			other = append(other, name)
		case strings.HasPrefix(name, "."):
			// an interrupted checkpoint's temporary folder: replaced
		case name == "pretrain_result.json":
			head, err := readHead(path, 1)
			if err != nil || (len(head) > 0 && head[0] != '{') {
				return fmt.Errorf("%s: %s exists and is not pretrain's: not replacing it (choose another folder)", label, path)
			}
			ours = true
		default: // checkpoint-N
			if !e.IsDir() || !isPretrainCheckpoint(path) {
				return fmt.Errorf("%s: %s is not a checkpoint of petl pretrain (which replaces and prunes them): choose another folder", label, path)
			}
			ours = true
		}
	}
	if len(other) > 0 && !ours {
		return fmt.Errorf("%s holds %s, and no pretraining run: pretrain writes into a new or empty folder, or continues its own; choose another folder", label, listSome(other))
	}
	return folderTakesFiles(label, dir)
}

// isPretrainCheckpoint reports whether dir is a checkpoint folder of petl
// pretrain: its trainer_state.json has pretrain's format.
func isPretrainCheckpoint(dir string) bool {
	data, err := safefile.ReadFile(filepath.Join(dir, "trainer_state.json"), safefile.MaxAdapterJSON, "trainer_state.json")
	if err != nil {
		return false
	}
	var st struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(data, &st) == nil && st.Format == "petl-pretrain-state"
}

// listSome lists up to three names.
func listSome(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, ", ")
}
