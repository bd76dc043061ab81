package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/petl-go/petl"
)

// Error is the body of every error answer.
type Error struct {
	// Error says what was wrong and, where it helps, what to send instead.
	Error string `json:"error"`
	// Type is a stable name for the kind of error (the Type constants).
	Type string `json:"error_type"`
}

// The error types of Error.Type, each with the status it is answered with.
const (
	TypeInvalidJSON      = "invalid_json"       // 400: the body does not parse as JSON
	TypeValidation       = "validation"         // 422: JSON, but not a valid request for the task
	TypeEmpty            = "empty"              // 422: inputs missing, null or []
	TypeUnknownTask      = "unknown_task"       // 404: no task of that name is loaded
	TypeNotFound         = "not_found"          // 404: no such path
	TypeMethodNotAllowed = "method_not_allowed" // 405
	TypePayloadTooLarge  = "payload_too_large"  // 413: body over MaxBodyBytes
	TypeTooManyInputs    = "too_many_inputs"    // 413: more than MaxInputs inputs
	TypeOverloaded       = "overloaded"         // 503: the queue is full
	TypeUnavailable      = "unavailable"        // 503: the server is shutting down
	TypeBackend          = "backend"            // 500: the forward pass failed
)

// apiError is an error answer: its status and body.
type apiError struct {
	status int
	body   Error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.body.Type, e.body.Error)
}

func errorf(status int, typ, format string, args ...any) *apiError {
	return &apiError{status: status, body: Error{Error: fmt.Sprintf(format, args...), Type: typ}}
}

// Score is one class of an answer: its label and probability (or logit,
// with raw_scores). A regression task answers one Score labelled
// RegressionLabel holding the predicted value.
type Score struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// RegressionLabel is the label of a regression task's one Score.
const RegressionLabel = "value"

// request is a decoded predict body.
type request struct {
	adapter    string // "" when not given
	hasAdapter bool
	inputs     inputs
	rawScores  bool
	truncate   bool // inputs longer than the task's max_len are cut (default); false refuses them
}

// inputKind is the JSON shape of "inputs".
type inputKind int

const (
	oneText  inputKind = iota // "text"
	textList                  // ["a", "b", ...]
	pairList                  // [["a", "b"], ...]
)

// inputs are the texts of a request as sent, before the task says how to
// read them (a flat list of two is one pair for a pair task, a batch of two
// texts for a single-text task).
type inputs struct {
	kind  inputKind
	texts []string    // oneText (one) and textList
	pairs [][2]string // pairList
}

// wireRequest is a predict body as JSON.
type wireRequest struct {
	Adapter   *string         `json:"adapter"`
	Inputs    json.RawMessage `json:"inputs"`
	RawScores bool            `json:"raw_scores"`
	Truncate  *bool           `json:"truncate"`
}

// decodeRequest reads a predict body. A body that is not JSON is a 400
// (TypeInvalidJSON); JSON that is not a request (not an object, unknown
// fields, wrong types, inputs missing or empty or of another shape) is a
// 422 (TypeValidation, TypeEmpty).
func decodeRequest(body []byte) (request, *apiError) {
	var req request
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return req, errorf(http.StatusBadRequest, TypeInvalidJSON, "request body is not JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return req, errorf(http.StatusUnprocessableEntity, TypeValidation, `request body must be a JSON object such as {"inputs": "some text"}, not a JSON %s`, te.Value)
		}
		if errors.As(err, &te) {
			return req, errorf(http.StatusUnprocessableEntity, TypeValidation, "field %q must not be a JSON %s", te.Field, te.Value)
		}
		return req, errorf(http.StatusUnprocessableEntity, TypeValidation, "request body: %v (known fields: adapter, inputs, raw_scores, truncate)", err)
	}
	if w.Adapter != nil {
		req.adapter, req.hasAdapter = *w.Adapter, true
	}
	req.rawScores = w.RawScores
	req.truncate = w.Truncate == nil || *w.Truncate
	in, aerr := decodeInputs(w.Inputs)
	if aerr != nil {
		return req, aerr
	}
	req.inputs = in
	return req, nil
}

// decodeInputs reads "inputs": a string, a list of strings, or a list of
// pairs (lists of two strings).
func decodeInputs(raw json.RawMessage) (inputs, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return inputs{}, errorf(http.StatusUnprocessableEntity, TypeEmpty, `"inputs" is missing: send a text ("inputs": "..."), a list of texts, or for pair tasks a pair (["a", "b"]) or a list of pairs`)
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs": %v`, err)
		}
		return inputs{kind: oneText, texts: []string{s}}, nil
	case '[':
	default:
		return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs" must be a text, a list of texts or a list of pairs of texts, not %s`, jsonKind(raw[0]))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs": %v`, err)
	}
	if len(items) == 0 {
		return inputs{}, errorf(http.StatusUnprocessableEntity, TypeEmpty, `"inputs" is an empty list: send at least one input`)
	}
	first := bytes.TrimSpace(items[0])
	if len(first) > 0 && first[0] == '[' {
		in := inputs{kind: pairList, pairs: make([][2]string, len(items))}
		for i, it := range items {
			pair, ok := stringList(it)
			if !ok {
				return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs"[%d]: a list of pairs must hold only pairs of texts, ["a", "b"]`, i)
			}
			if len(pair) != 2 {
				return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs"[%d]: a pair is two texts, ["a", "b"], not %d`, i, len(pair))
			}
			in.pairs[i] = [2]string{pair[0], pair[1]}
		}
		return in, nil
	}
	in := inputs{kind: textList, texts: make([]string, len(items))}
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &in.texts[i]) != nil {
			return inputs{}, errorf(http.StatusUnprocessableEntity, TypeValidation, `"inputs"[%d]: a list of texts must hold only texts (strings), not %s; pairs go in a list of pairs, [["a", "b"], ...]`, i, jsonKind(firstByte(it)))
		}
	}
	return in, nil
}

// stringList decodes a JSON list of strings (no nulls).
func stringList(raw json.RawMessage) ([]string, bool) {
	var items []json.RawMessage
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		if it = bytes.TrimSpace(it); len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &out[i]) != nil {
			return nil, false
		}
	}
	return out, true
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// jsonKind names the JSON value starting with c.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "a list"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "that"
}

// count is the number of inputs as sent (a flat list counted as texts).
func (in inputs) count() int {
	if in.kind == pairList {
		return len(in.pairs)
	}
	return len(in.texts)
}

// forTask reads the inputs for a task that takes pairs or single texts:
// for a pair task a flat list of two texts is one pair and a list of pairs
// a batch; for a single-text task a flat list is a batch and pairs are an
// error. single says the answer is one list of scores, not a list of them.
func (in inputs) forTask(name string, pair bool) (ins []petl.Input, single bool, err *apiError) {
	switch in.kind {
	case oneText:
		return []petl.Input{petl.Text(in.texts[0])}, true, nil
	case textList:
		if !pair {
			ins = make([]petl.Input, len(in.texts))
			for i, s := range in.texts {
				ins[i] = petl.Text(s)
			}
			return ins, false, nil
		}
		if len(in.texts) != 2 {
			return nil, false, errorf(http.StatusUnprocessableEntity, TypeValidation,
				`task %s takes pairs of texts: send one pair as ["a", "b"] or a batch as [["a", "b"], ["c", "d"]], not a list of %d texts`, name, len(in.texts))
		}
		return []petl.Input{petl.Pair(in.texts[0], in.texts[1])}, true, nil
	case pairList:
		if !pair {
			return nil, false, errorf(http.StatusUnprocessableEntity, TypeValidation,
				`task %s takes one text per input, not pairs: send "text" or ["text 1", "text 2"]`, name)
		}
		ins = make([]petl.Input, len(in.pairs))
		for i, p := range in.pairs {
			ins[i] = petl.Pair(p[0], p[1])
		}
		return ins, false, nil
	}
	return nil, false, errorf(http.StatusUnprocessableEntity, TypeEmpty, `"inputs" is missing`)
}

// scores turns a prediction into its answer: every class sorted by score,
// highest first (ties in class order); probabilities, or logits when raw.
// A regression task gives one Score labelled RegressionLabel.
func scores(t *petl.Task, p *petl.Prediction, raw bool) []Score {
	if t.Regression() {
		return []Score{{Label: RegressionLabel, Score: p.Score}}
	}
	labels := t.Spec().Labels
	out := make([]Score, len(labels))
	for c, l := range labels {
		out[c].Label = l
		if raw {
			out[c].Score = float64(p.Logits[c])
		} else {
			out[c].Score = p.Probs[c]
		}
	}
	slices.SortStableFunc(out, func(a, b Score) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

// readBody reads r's body up to limit bytes: over it, a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errorf(http.StatusRequestEntityTooLarge, TypePayloadTooLarge, "request body is over the limit of %d bytes (--max-body)", limit)
		}
		return nil, errorf(http.StatusBadRequest, TypeInvalidJSON, "reading the request body: %v", err)
	}
	return body, nil
}
