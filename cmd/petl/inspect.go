package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/safetensors"
	"github.com/petl-go/petl/wordpiece"
)

func init() {
	commands["inspect"] = command{"print a BERT checkpoint's config and parameter counts, and verify it", runInspect}
}

func runInspect(ctx context.Context, args []string) error {
	return inspectContext(ctx, os.Stdout, args)
}

// inspectContext is inspect, stopped by ctx: the report is written to w
// once complete (reading a large checkpoint's weights for the fingerprint
// takes a while), or not at all when ctx is done first.
func inspectContext(ctx context.Context, w io.Writer, args []string) error {
	var buf bytes.Buffer
	_, err := interruptible(ctx, func() (struct{}, error) {
		return struct{}{}, inspect(&buf, args)
	}, nil)
	if ctx.Err() != nil && err == ctx.Err() {
		return err
	}
	if _, werr := w.Write(buf.Bytes()); err == nil {
		err = werr
	}
	return err
}

// inspect opens the checkpoint named by --model, prints what it holds and
// verifies it; a checkpoint that fails verification is an error, after
// everything that could be read has been printed.
func inspect(w io.Writer, args []string) error {
	fs := newFlagSet("inspect")
	dir := fs.String("model", "", "checkpoint `directory` (config.json, model.safetensors)")
	vocab := fs.String("vocab", "", "vocabulary `file` of the base fingerprint (default: the checkpoint's vocab.txt)")
	fingerprint := fs.Bool("fingerprint", true, "print the base model's fingerprints (reads every base weight once)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return badFlag("--model DIR is required")
	}
	c, err := bert.OpenCheckpointUnverified(*dir)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := c.Config()
	wf := c.Weights()

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "checkpoint\t%s\n", *dir)
	fmt.Fprintf(tw, "config\tlayers %d, hidden %d, heads %d (head size %d), intermediate %d\n",
		cfg.NumLayers, cfg.HiddenSize, cfg.NumHeads, cfg.HeadDim(), cfg.IntermediateSize)
	fmt.Fprintf(tw, "\tvocab %d, positions %d (%s), token types %d\n",
		cfg.VocabSize, cfg.MaxPositions, cfg.PositionEmbeddingType, cfg.TypeVocabSize)
	fmt.Fprintf(tw, "\thidden_act %s, layer_norm_eps %g, dropout hidden %g attention %g\n",
		cfg.HiddenAct, cfg.LayerNormEps, cfg.HiddenDropout, cfg.AttentionDropout)
	if cfg.NumLabels > 0 {
		fmt.Fprintf(tw, "\tlabels %d%s\n", cfg.NumLabels, inspectLabels(cfg))
	}

	// Parameter counts by part, dtypes, and how the float tensors are held.
	parts := map[string]int{}
	dtypes := map[safetensors.DType][2]int{} // tensors, values
	var zeroCopy, converted, copied, floats int
	for _, name := range c.Names() {
		info, _ := c.Info(name)
		n := info.Elements()
		parts[inspectPart(name)] += n
		d := dtypes[info.DType]
		dtypes[info.DType] = [2]int{d[0] + 1, d[1] + n}
		if !info.DType.IsFloat() {
			continue
		}
		floats++
		switch {
		case info.ZeroCopy:
			zeroCopy++
		case info.DType == safetensors.F32:
			copied++
		default:
			converted++
		}
	}
	st, err := os.Stat(wf.Path())
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "weights\t%s, %s, %d tensors\n", wf.Path(), inspectBytes(st.Size()), len(c.Names()))
	var dts []string
	for d, v := range dtypes {
		dts = append(dts, fmt.Sprintf("%s %d tensors (%s values)", d, v[0], inspectCount(v[1])))
	}
	sort.Strings(dts)
	fmt.Fprintf(tw, "dtypes\t%s\n", strings.Join(dts, "; "))
	if wf.Mapped() {
		fmt.Fprintf(tw, "memory\tmapped read-only and shared: %d of %d float tensors are slices over the mapping", zeroCopy, floats)
	} else {
		fmt.Fprintf(tw, "memory\tread into memory (no mmap on this platform)")
	}
	if converted > 0 {
		fmt.Fprintf(tw, ", %d converted to float32 in memory", converted)
	}
	if copied > 0 {
		fmt.Fprintf(tw, ", %d F32 copied (misaligned in the file)", copied)
	}
	fmt.Fprintln(tw)

	fmt.Fprintf(tw, "parameters\t\n")
	total := 0
	for _, p := range []string{"embeddings", "encoder", "pooler", "heads"} {
		fmt.Fprintf(tw, "  %s\t%15s\n", p, inspectCount(parts[p]))
		total += parts[p]
	}
	fmt.Fprintf(tw, "  total\t%15s\n", inspectCount(total))
	var heads []string
	for _, h := range []string{"cls.predictions", "cls.seq_relationship", "classifier"} {
		if c.Has(h+".bias") || c.Has(h+".weight") || c.Has(h+".transform.dense.weight") {
			heads = append(heads, h)
		}
	}
	if len(heads) > 0 {
		tied := ""
		if c.Has("cls.predictions.bias") && !c.Has("cls.predictions.decoder.weight") {
			tied = " (decoder tied to the word embeddings)"
		}
		fmt.Fprintf(tw, "heads\t%s%s\n", strings.Join(heads, ", "), tied)
	}
	if s := c.Skipped(); len(s) > 0 {
		fmt.Fprintf(tw, "skipped\t%s\n", strings.Join(s, ", "))
	}
	if u := c.Unexpected(); len(u) > 0 {
		fmt.Fprintf(tw, "unexpected\t%s\n", strings.Join(u, ", "))
	}
	verr := c.Verify()
	if *fingerprint && verr == nil {
		fp := c.Fingerprint()
		fmt.Fprintf(tw, "fingerprint\t%s (weights and config)\n", fp)
		vpath := *vocab
		if vpath == "" {
			vpath = filepath.Join(*dir, "vocab.txt")
		}
		if v, err := wordpiece.LoadVocab(vpath); err != nil {
			fmt.Fprintf(tw, "base\tnone: %v\n", err)
		} else {
			fmt.Fprintf(tw, "base\t%s (with the vocabulary %s, %d tokens: what adapters record)\n", bert.BaseFingerprint(fp, v), vpath, v.Size())
		}
	}
	if verr == nil {
		fmt.Fprintf(tw, "verify\tok: every tensor the config implies is present with the right shape\n")
	} else {
		fmt.Fprintf(tw, "verify\tFAILED\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return verr
}

// inspectPart assigns a canonical tensor name to a part of the model.
func inspectPart(name string) string {
	for _, p := range []string{"embeddings", "encoder", "pooler"} {
		if strings.HasPrefix(name, p+".") {
			return p
		}
	}
	return "heads"
}

// inspectLabels lists the labels in class order, if the config names them.
func inspectLabels(cfg bert.Config) string {
	if len(cfg.ID2Label) == 0 {
		return ""
	}
	var ls []string
	for i := 0; i < cfg.NumLabels; i++ {
		ls = append(ls, cfg.ID2Label[fmt.Sprint(i)])
	}
	return ": " + strings.Join(ls, ", ")
}

// inspectCount writes n with thousands separators.
func inspectCount(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inspectBytes writes a file size in MiB (or bytes when small).
func inspectBytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
