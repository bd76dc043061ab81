package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/petl-go/petl/adapter"
	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/task"
	"github.com/petl-go/petl/train"
	"github.com/petl-go/petl/wordpiece"
)

// One frozen base serving two tasks: an adapter is trained for each on a
// handful of sentences (plain TSV, here inline), written to a file, and then
// both are served from models built over the same memory-mapped checkpoint,
// which hold the base weights once between them.
func Example() {
	const dir = "../models/petl-bert-tiny" // any Hugging Face BERT checkpoint directory
	ck, err := bert.OpenCheckpoint(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ck.Close()
	vocab, err := wordpiece.LoadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		log.Fatal(err)
	}
	tok := wordpiece.NewTokenizer(vocab, true)
	base := adapter.Base{Fingerprint: ck.Fingerprint(), Name: dir, Config: ck.Config()}
	out, err := os.MkdirTemp("", "petl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)

	tasks := []struct{ name, tsv, inputs string }{
		{"sentiment", "text\tlabel\n" +
			"a wonderful , moving film\tpos\n" +
			"a dull and tedious film\tneg\n" +
			"the best thing i have seen this year\tpos\n" +
			"the worst thing i have seen this year\tneg\n" +
			"funny , warm and clever\tpos\n" +
			"boring , cold and stupid\tneg\n",
			"a funny and moving film\nthe most tedious film this year\n"},
		{"topic", "text\tlabel\n" +
			"the team won the match in the last minute\tsport\n" +
			"add the flour and stir in the butter\tfood\n" +
			"he scored two goals in the final\tsport\n" +
			"bake the bread for an hour\tfood\n" +
			"the players ran onto the field\tsport\n" +
			"a bowl of soup with fresh herbs\tfood\n",
			"the team scored in the last minute\nstir the soup and add the herbs\n"},
	}
	for _, tk := range tasks {
		spec, err := task.Plain(task.PlainConfig{Name: tk.name, Header: true,
			Text: task.Column{Name: "text"}, Label: task.Column{Name: "label"}})
		if err != nil {
			log.Fatal(err)
		}
		ds, err := task.Read(spec, strings.NewReader(tk.tsv), tk.name+".tsv", task.Options{})
		if err != nil {
			log.Fatal(err)
		}

		// Train: adapters of size 16 and the layer norms and head; the base
		// weights stay in the mapping, untouched.
		m, err := bert.New(ck.Config(), ck)
		if err != nil {
			log.Fatal(err)
		}
		tr, err := train.New(m, tok, ds, nil, train.Config{
			Plan:   adapter.Plan{Method: adapter.MethodAdapter, Adapter: adapter.Config{Size: 16}},
			Epochs: 40, LR: 1e-2, Batch: 6, MaxLen: 32, Seed: 1,
			Base: base, Out: filepath.Join(out, tk.name),
		})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := tr.Run(context.Background()); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", tk.name, tr.Setup().Summary())
	}

	// Serve: one model per task over the same checkpoint, each with its
	// adapter file applied.
	for _, tk := range tasks {
		f, err := adapter.Read(filepath.Join(out, tk.name))
		if err != nil {
			log.Fatal(err)
		}
		m, err := bert.New(ck.Config(), ck)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := f.Apply(m, ck.Fingerprint(), false); err != nil {
			log.Fatal(err)
		}
		spec, err := task.Plain(task.PlainConfig{Name: tk.name, Text: task.Column{Index: 1}, Labels: f.Config.Labels})
		if err != nil {
			log.Fatal(err)
		}
		ds, err := task.Read(spec, strings.NewReader(tk.inputs), "input", task.Options{Unlabelled: true})
		if err != nil {
			log.Fatal(err)
		}
		preds, err := train.Predict(m, tok, ds, 32, 8)
		if err != nil {
			log.Fatal(err)
		}
		labels := make([]string, len(preds))
		for i, p := range preds {
			labels[i] = f.Config.Labels[int(p)]
		}
		fmt.Printf("%s: %s\n", tk.name, strings.Join(labels, " "))
	}
	// Output:
	// sentiment: trained parameters per task: 18498 (0.42% of the base)
	// topic: trained parameters per task: 18498 (0.42% of the base)
	// sentiment: pos neg
	// topic: sport food
}
