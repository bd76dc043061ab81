package wordpiece

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/petl-go/petl/internal/safefile"
)

// TokenizerConfigFile is the name of the Hugging Face tokenizer settings
// file in a checkpoint directory; petl reads its do_lower_case.
const TokenizerConfigFile = "tokenizer_config.json"

// maxTokenizerConfig bounds the size of tokenizer_config.json petl reads.
const maxTokenizerConfig = safefile.MaxJSON

// Casing says whether a tokenizer lower-cases its input, and what decided
// it.
type Casing struct {
	Lowercase bool
	// Source is where the decision came from, for messages: e.g.
	// "tokenizer_config.json do_lower_case", "vocabulary (no cased
	// tokens)", "adapter file", "--lowercase".
	Source string
}

// String is e.g. "lower-cased (tokenizer_config.json do_lower_case)".
func (c Casing) String() string {
	if c.Lowercase {
		return "lower-cased (" + c.Source + ")"
	}
	return "cased (" + c.Source + ")"
}

// ReadDoLowerCase reads do_lower_case from dir's tokenizer_config.json.
// ok is false when the file does not exist or does not set it; a file that
// cannot be read or parsed, or a do_lower_case that is not a boolean, is
// an error.
func ReadDoLowerCase(dir string) (lower, ok bool, err error) {
	path := filepath.Join(dir, TokenizerConfigFile)
	data, err := safefile.ReadFile(path, maxTokenizerConfig, TokenizerConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return parseDoLowerCase(path, data)
}

// parseDoLowerCase reads do_lower_case from the text of a
// tokenizer_config.json (path is for messages).
func parseDoLowerCase(path string, data []byte) (lower, ok bool, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return false, false, fmt.Errorf("%s: %w", path, err)
	}
	v, found := raw["do_lower_case"]
	if !found || string(v) == "null" {
		return false, false, nil
	}
	if err := json.Unmarshal(v, &lower); err != nil {
		return false, false, fmt.Errorf("%s: do_lower_case is %s, want true or false", path, v)
	}
	return lower, true, nil
}

// WriteDoLowerCase writes dir's tokenizer_config.json with do_lower_case
// (and the tokenizer class Hugging Face expects), atomically.
func WriteDoLowerCase(dir string, lower bool) error {
	data, err := json.MarshalIndent(map[string]any{
		"do_lower_case":    lower,
		"tokenizer_class":  "BertTokenizer",
		"model_max_length": 512,
	}, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(filepath.Join(dir, TokenizerConfigFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// CasedShare is the share of v's ordinary tokens (specials such as [CLS]
// excluded) that lower-casing would change: about 0 for an uncased
// vocabulary (bert-base-uncased has two such tokens of 30,522, ℝ and ##ℝ,
// whose upper-case letter has no lower-case form and so does not count),
// far more for a cased one ("The", "Paris", ...).
func (v *Vocab) CasedShare() float64 {
	n, cased := 0, 0
	for _, tok := range v.tokens {
		if len(tok) > 2 && tok[0] == '[' && tok[len(tok)-1] == ']' {
			continue
		}
		n++
		if strings.ToLower(tok) != tok {
			cased++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(cased) / float64(n)
}

// casedThreshold is the CasedShare above which a vocabulary is taken to
// be cased: an uncased vocabulary's is 0, a cased one holds capitalised
// forms of thousands of words.
const casedThreshold = 0.01

// VocabCasing decides the casing from the vocabulary alone: lower-case
// unless more than 1% of its tokens hold letters that lower-casing
// changes.
func VocabCasing(v *Vocab) Casing {
	s := v.CasedShare()
	if s > casedThreshold {
		return Casing{Lowercase: false, Source: fmt.Sprintf("vocabulary: %.1f%% of its tokens are cased", 100*s)}
	}
	return Casing{Lowercase: true, Source: fmt.Sprintf("vocabulary: %.2f%% of its tokens are cased", 100*s)}
}

// CheckpointCasing decides the casing of the checkpoint in dir with
// vocabulary v: do_lower_case from its tokenizer_config.json when the file
// sets it, else VocabCasing(v).
func CheckpointCasing(dir string, v *Vocab) (Casing, error) {
	lower, ok, err := ReadDoLowerCase(dir)
	if err != nil {
		return Casing{}, err
	}
	if ok {
		return Casing{Lowercase: lower, Source: TokenizerConfigFile + " do_lower_case"}, nil
	}
	return VocabCasing(v), nil
}
