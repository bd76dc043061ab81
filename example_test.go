package petl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/petl-go/petl"
)

// Open the shipped base once, load two tasks' adapters onto it (both share
// its one read-only copy of BERT), and predict with each. The adapters in
// models/adapters were trained on the shipped BERT-tiny by petl train
// (SST-2: sentiment, labels 0 and 1; MRPC: paraphrase pairs).
func Example() {
	base, err := petl.Open("models/petl-bert-tiny", petl.Options{Pack: "off"}) // the zero Options also pack the weights for speed
	if err != nil {
		log.Fatal(err)
	}
	defer base.Close()
	sst2, err := base.Load("sst2", "models/adapters/sst2")
	if err != nil {
		log.Fatal(err)
	}
	mrpc, err := base.Load("mrpc", "models/adapters/mrpc")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	preds, err := sst2.Predict(ctx, petl.Text("a gripping, funny and moving film"), petl.Text("dull, tedious and far too long"))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range preds {
		fmt.Printf("sst2 label %s (p=%.1f)\n", p.Label, p.Score)
	}
	preds, err = mrpc.Predict(ctx, petl.Pair("The company said profits rose.", "Profits went up, the firm said."))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("mrpc label %s, %d classes\n", preds[0].Label, len(preds[0].Probs))
	// Output:
	// sst2 label 1 (p=1.0)
	// sst2 label 0 (p=0.8)
	// mrpc label 1, 2 classes
}
