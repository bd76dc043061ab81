package serve

import (
	"testing"

	"github.com/petl-go/petl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeDecodeRequest: the shapes of "inputs" and how a single-text or a
// pair task reads each.
func TestServeDecodeRequest(t *testing.T) {
	for _, c := range []struct {
		name, body string
		pair       bool
		want       []petl.Input
		single     bool
		status     int // 0: no error
		typ        string
	}{
		{"text", `{"inputs": "a film"}`, false, []petl.Input{petl.Text("a film")}, true, 0, ""},
		{"empty text", `{"inputs": ""}`, false, []petl.Input{petl.Text("")}, true, 0, ""},
		{"texts", `{"inputs": ["a", "b"]}`, false, []petl.Input{petl.Text("a"), petl.Text("b")}, false, 0, ""},
		{"one text in a list", `{"inputs": ["a"]}`, false, []petl.Input{petl.Text("a")}, false, 0, ""},
		{"pair", `{"inputs": ["a", "b"]}`, true, []petl.Input{petl.Pair("a", "b")}, true, 0, ""},
		{"pairs", `{"inputs": [["a", "b"], ["c", ""]]}`, true, []petl.Input{petl.Pair("a", "b"), petl.Pair("c", "")}, false, 0, ""},
		{"one pair in a list", `{"inputs": [["a", "b"]]}`, true, []petl.Input{petl.Pair("a", "b")}, false, 0, ""},
		{"text to a pair task", `{"inputs": "a"}`, true, []petl.Input{petl.Text("a")}, true, 0, ""}, // the task decides (petl.Task.Check)
		{"whitespace", " \n{ \"inputs\" : [ [ \"a\" , \"b\" ] ] }\n ", true, []petl.Input{petl.Pair("a", "b")}, false, 0, ""},
		{"unicode", `{"inputs": "caf\u00e9 \ud83c\udfac"}`, false, []petl.Input{petl.Text("café 🎬")}, true, 0, ""},
		{"three texts to a pair task", `{"inputs": ["a", "b", "c"]}`, true, nil, false, 422, TypeValidation},
		{"pairs to a single-text task", `{"inputs": [["a", "b"]]}`, false, nil, false, 422, TypeValidation},
		{"pair of one", `{"inputs": [["a"]]}`, true, nil, false, 422, TypeValidation},
		{"pair with a number", `{"inputs": [["a", 1]]}`, true, nil, false, 422, TypeValidation},
		{"pairs then a text", `{"inputs": [["a", "b"], "c"]}`, true, nil, false, 422, TypeValidation},
		{"texts then a pair", `{"inputs": ["a", ["b", "c"]]}`, false, nil, false, 422, TypeValidation},
		{"null text", `{"inputs": ["a", null]}`, false, nil, false, 422, TypeValidation},
		{"object", `{"inputs": {"text": "a"}}`, false, nil, false, 422, TypeValidation},
		{"missing", `{}`, false, nil, false, 422, TypeEmpty},
		{"null", `{"inputs": null}`, false, nil, false, 422, TypeEmpty},
		{"empty list", `{"inputs": []}`, false, nil, false, 422, TypeEmpty},
		{"unknown field", `{"inputs": "a", "truncation_direction": "left"}`, false, nil, false, 422, TypeValidation},
		{"adapter not a string", `{"adapter": 1, "inputs": "a"}`, false, nil, false, 422, TypeValidation},
		{"a list body", `[1]`, false, nil, false, 422, TypeValidation},
		{"a string body", `"a"`, false, nil, false, 422, TypeValidation},
		{"null body", `null`, false, nil, false, 422, TypeEmpty},
		{"syntax", `{"inputs": "a",}`, false, nil, false, 400, TypeInvalidJSON},
		{"two objects", `{"inputs": "a"}{"inputs": "b"}`, false, nil, false, 400, TypeInvalidJSON},
		{"nothing", ``, false, nil, false, 400, TypeInvalidJSON},
		{"invalid UTF-8 outside strings", "{\"inputs\": \"a\"}\xff", false, nil, false, 400, TypeInvalidJSON},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := decodeRequest([]byte(c.body))
			var ins []petl.Input
			var single bool
			if err == nil {
				ins, single, err = req.inputs.forTask("t", c.pair)
			}
			if c.status != 0 {
				require.NotNil(t, err)
				assert.Equal(t, c.status, err.status, "%v", err)
				assert.Equal(t, c.typ, err.body.Type, "%v", err)
				return
			}
			require.Nil(t, err)
			assert.Equal(t, c.want, ins)
			assert.Equal(t, c.single, single)
		})
	}
	req, err := decodeRequest([]byte(`{"adapter": "sst2", "inputs": "a", "raw_scores": true, "truncate": false}`))
	require.Nil(t, err)
	assert.Equal(t, "sst2", req.adapter)
	assert.True(t, req.hasAdapter && req.rawScores && !req.truncate)
	req, err = decodeRequest([]byte(`{"inputs": "a"}`))
	require.Nil(t, err)
	assert.True(t, !req.hasAdapter && !req.rawScores && req.truncate)
}

// TestServeScoresOrder: every class, highest first, ties in class order.
func TestServeScoresOrder(t *testing.T) {
	b := testBase(t, 4)
	s, err := New(b, Options{})
	require.NoError(t, err)
	defer s.Shutdown(t.Context())
	tasks := loadTasks(t, s)
	p := petl.Prediction{Logits: []float32{0.5, 0.5}, Probs: []float64{0.5, 0.5}}
	assert.Equal(t, []Score{{"0", 0.5}, {"1", 0.5}}, scores(tasks["sst2"], &p, false))
	p = petl.Prediction{Logits: []float32{-1, 2}, Probs: []float64{0.1, 0.9}}
	assert.Equal(t, []Score{{"1", 0.9}, {"0", 0.1}}, scores(tasks["sst2"], &p, false))
	assert.Equal(t, []Score{{"1", 2}, {"0", -1}}, scores(tasks["sst2"], &p, true))
	p = petl.Prediction{Logits: []float32{3.25}, Score: 3.25, Class: -1}
	assert.Equal(t, []Score{{RegressionLabel, 3.25}}, scores(tasks["stsb"], &p, false))
	assert.Equal(t, []Score{{RegressionLabel, 3.25}}, scores(tasks["stsb"], &p, true))
}

// FuzzDecodeRequest: the decoder never panics, its errors are 4xx with a
// type and a message, and what it accepts a task of either kind reads
// without panicking, as inputs or as a 422.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"adapter": "sst2", "inputs": "a fine film"}`,
		`{"inputs": ["a", "b"], "raw_scores": true}`,
		`{"inputs": [["a", "b"], ["c", "d"]], "truncate": false}`,
		`{"inputs": [["a"]]}`,
		`{"inputs": ["a", ["b"]]}`,
		`{"inputs": [["a", null]]}`,
		`{"inputs": []}`,
		`{"inputs": null}`,
		`{"inputs": {"a": 1}}`,
		`{"inputs": 1e999}`,
		`{"adapter": null, "inputs": "\ud800"}`,
		`{"inputs": "a"} x`,
		`[]`, `null`, `"x"`, `{`, ``, "\xff",
		`{"inputs": [[[["a"]]]]}`,
		`{"inputs": ["a", "b"], "inputs": "c"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeRequest(data)
		if err != nil {
			checkAPIError(t, err)
			return
		}
		for _, pair := range []bool{false, true} {
			ins, single, err := req.inputs.forTask("t", pair)
			if err != nil {
				checkAPIError(t, err)
				if err.status != 422 {
					t.Fatalf("forTask: status %d", err.status)
				}
				continue
			}
			if len(ins) == 0 || single && len(ins) != 1 {
				t.Fatalf("%d inputs, single %v", len(ins), single)
			}
			for _, in := range ins {
				if in.Pair != pair && !(req.inputs.kind == oneText && !in.Pair) {
					t.Fatalf("input %+v for a pair task %v", in, pair)
				}
			}
		}
	})
}

func checkAPIError(t *testing.T, err *apiError) {
	t.Helper()
	if err.status < 400 || err.status > 499 || err.body.Type == "" || err.body.Error == "" {
		t.Fatalf("error %+v: want a typed 4xx", err)
	}
}
