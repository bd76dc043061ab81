// Command gluetext writes the text (never the labels) of the GLUE training
// splits as corpus documents, and the dev and test texts as a list of lines
// that the corpus builder must leave out.
//
// Usage (from the repository root):
//
//	go run ./scripts/corpus/gluetext -data ../shared/data/glue -train train.txt -heldout heldout.txt
//
// train.txt: one text per line, a blank line between documents. Consecutive
// single-sentence examples (CoLA, SST-2) are grouped 16 to a document; each
// example of a pair task (MRPC, STS-B, RTE, WNLI) is a document of its two
// texts. heldout.txt: every dev and test text, one per line; it is read only
// so that no corpus line equals one of them.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/petl-go/petl/task"
)

func main() {
	data := flag.String("data", "", "folder holding the GLUE task folders (CoLA/, SST-2/, ...)")
	train := flag.String("train", "glue-train.txt", "output: training text as documents")
	heldout := flag.String("heldout", "glue-heldout.txt", "output: dev and test texts, one per line")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "gluetext: -data is required")
		os.Exit(2)
	}
	if err := run(*data, *train, *heldout); err != nil {
		fmt.Fprintln(os.Stderr, "gluetext:", err)
		os.Exit(1)
	}
}

func run(data, trainPath, heldoutPath string) error {
	tf, err := os.Create(trainPath)
	if err != nil {
		return fmt.Errorf("creating the training text: %w", err)
	}
	defer tf.Close()
	hf, err := os.Create(heldoutPath)
	if err != nil {
		return fmt.Errorf("creating the held-out list: %w", err)
	}
	defer hf.Close()
	tw, hw := bufio.NewWriter(tf), bufio.NewWriter(hf)

	for _, spec := range task.GLUE() {
		ds, err := task.Load(spec, data, "train", task.Options{SkipBad: true, Unlabelled: true})
		if err != nil {
			return fmt.Errorf("%s train: %w", spec.Name, err)
		}
		for i, ex := range ds.Examples {
			if spec.Pair {
				fmt.Fprintf(tw, "%s\n%s\n\n", clean(ex.A), clean(ex.B))
				continue
			}
			fmt.Fprintf(tw, "%s\n", clean(ex.A))
			if (i+1)%16 == 0 || i == len(ds.Examples)-1 {
				fmt.Fprint(tw, "\n")
			}
		}
		fmt.Fprintf(os.Stderr, "gluetext: %s train: %d examples\n", spec.Name, len(ds.Examples))
		for _, split := range []string{"dev", "test"} {
			ds, err := task.Load(spec, data, split, task.Options{SkipBad: true, Unlabelled: true})
			if err != nil {
				fmt.Fprintf(os.Stderr, "gluetext: %s %s: %v (nothing to leave out)\n", spec.Name, split, err)
				continue
			}
			for _, ex := range ds.Examples {
				fmt.Fprintln(hw, clean(ex.A))
				if ex.B != "" {
					fmt.Fprintln(hw, clean(ex.B))
				}
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", trainPath, err)
	}
	if err := hw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", heldoutPath, err)
	}
	if err := tf.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", trainPath, err)
	}
	return hf.Close()
}

// clean puts a text on one line.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }
