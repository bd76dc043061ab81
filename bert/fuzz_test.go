package bert

import (
	"os"
	"path/filepath"
	"testing"
)

// The fuzz target of the reader of outside input in this package,
// config.json (the tokenizer's files are fuzzed in package wordpiece): it
// may not panic, and what it accepts must be usable. Its seeds are the
// shipped model's file and testdata, plus testdata/fuzz/<name>/; plain go
// test runs them all.

// shippedFile reads a file of the shipped BERT-tiny (nil when absent).
func shippedFile(name string) []byte {
	data, _ := os.ReadFile(filepath.Join("..", "models", "petl-bert-tiny", name))
	return data
}

// FuzzParseConfig decodes arbitrary bytes as config.json: an error, or a
// config whose every size is in range and whose tensor list can be built.
func FuzzParseConfig(f *testing.F) {
	f.Add(shippedFile(ConfigFileName))
	if b, err := os.ReadFile(filepath.Join("testdata", "tiny", ConfigFileName)); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"vocab_size":5,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":8}`))
	f.Add([]byte(`{"vocab_size":5,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":8,"id2label":{"0":"a","1":"b"},"label2id":{"a":0,"b":7}}`))
	f.Add([]byte(`{"vocab_size":1e400}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"vocab_size":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, v := range []int{c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize, c.MaxPositions, c.TypeVocabSize} {
			if v < 1 || v > cfgMaxDim {
				t.Fatalf("accepted a size %d out of range: %+v", v, c)
			}
		}
		if c.NumLayers > 1024 {
			t.Fatalf("accepted %d layers", c.NumLayers)
		}
		_ = c.BaseTensors()
		_ = c.HeadTensors()
		if _, err := c.MarshalIndent(); err != nil {
			t.Fatal(err)
		}
	})
}
