package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petl-go/petl"
	"github.com/petl-go/petl/serve"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveLog is a bytes.Buffer safe for the server's log and the test.
type serveLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// copyShippedAdapter copies the shipped adapter name into dir.
func copyShippedAdapter(t *testing.T, name, dir string) {
	t.Helper()
	for _, ext := range []string{".safetensors", ".json"} { // the JSON last: a reload sees whole pairs
		data, err := os.ReadFile(repoPath("models", "adapters", name+ext))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+ext), data, 0o644))
	}
}

// TestServeCommand: petl serve on a free port with the two shipped
// adapters on the shipped model answers as the tasks predict directly,
// reloads its adapters folder on SIGHUP and stops cleanly (nil: exit 0)
// when its context ends.
func TestServeCommand(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	copyShippedAdapter(t, "mrpc", dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs serveLog
	addrc := make(chan net.Addr, 1)
	hup := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveMain(ctx, []string{
			"--model", repoPath("models", "petl-bert-tiny"), "--adapter", "sst2=" + repoPath("models", "adapters", "sst2"),
			"--adapters", dir, "--addr", "127.0.0.1:0", "--pack", "off",
		}, serveEnv{log: &logs, listening: func(a net.Addr) { addrc <- a }, hup: hup})
	}()
	var url string
	select {
	case a := <-addrc:
		url = "http://" + a.String()
	case err := <-done:
		t.Fatalf("petl serve stopped: %v\n%s", err, logs.String())
	}
	assert.Regexp(t, `petl serve: .*listening on http://127\.0\.0\.1:\d+: tasks mrpc, sst2; model .*petl-bert-tiny; kernels \w+, \d+ threads; batches of up to 8192 tokens, 128 inputs, no wait`, logs.String())

	// The answers are the direct predictions of the same adapters.
	base, err := petl.Open(repoPath("models", "petl-bert-tiny"), petl.Options{Pack: "off"})
	require.NoError(t, err)
	defer base.Close()
	sst2, err := base.Load("sst2", repoPath("models", "adapters", "sst2"))
	require.NoError(t, err)
	mrpc, err := base.Load("mrpc", repoPath("models", "adapters", "mrpc"))
	require.NoError(t, err)
	texts := []string{"a gripping, funny and moving film", "dull, tedious and far too long"}
	want, err := sst2.Predict(context.Background(), petl.Text(texts[0]), petl.Text(texts[1]))
	require.NoError(t, err)
	var got [][]serve.Score
	servePost(t, url+"/predict", map[string]any{"adapter": "sst2", "inputs": texts}, 200, &got)
	require.Len(t, got, 2)
	for i := range got {
		assert.Equal(t, want[i].Label, got[i][0].Label)
		assert.Equal(t, want[i].Score, got[i][0].Score)
	}
	pair := petl.Pair("The company said profits rose.", "Profits went up, the firm said.")
	wantPair, err := mrpc.Predict(context.Background(), pair)
	require.NoError(t, err)
	var one []serve.Score
	servePost(t, url+"/tasks/mrpc/predict", map[string]any{"inputs": []string{pair.Text, pair.TextB}, "raw_scores": true}, 200, &one)
	require.Len(t, one, 2)
	for _, sc := range one {
		c := serveLabelIndex(mrpc.Labels(), sc.Label)
		assert.Equal(t, wantPair[0].Logits[c], float32(sc.Score))
	}
	var e serve.Error
	servePost(t, url+"/predict", map[string]any{"adapter": "sst2", "inputs": [][]string{{"a", "b"}}}, 422, &e)
	assert.Equal(t, serve.TypeValidation, e.Type)

	// SIGHUP: mrpc's file removed, sst2's copy added (the explicit sst2
	// stays), cola-like new task added.
	require.NoError(t, os.Remove(filepath.Join(dir, "mrpc.json")))
	copyShippedAdapter(t, "sst2", dir)
	require.NoError(t, os.Rename(filepath.Join(dir, "sst2.json"), filepath.Join(dir, "sst2-copy.json")))
	hup <- os.Interrupt
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "reload: ") }, 30*time.Second, 5*time.Millisecond)
	assert.Contains(t, logs.String(), "reload: +sst2-copy -mrpc")
	var infos []serve.TaskInfo
	serveGet(t, url+"/tasks", &infos)
	require.Len(t, infos, 2)
	assert.Equal(t, "sst2", infos[0].Name)
	assert.Equal(t, "adapter", infos[0].Source)
	assert.Equal(t, "sst2-copy", infos[1].Name)
	servePost(t, url+"/predict", map[string]any{"adapter": "mrpc", "inputs": []string{"a", "b"}}, 404, &e)
	assert.Equal(t, serve.TypeUnknownTask, e.Type)
	servePost(t, url+"/tasks/sst2-copy/predict", map[string]any{"inputs": texts[0]}, 200, &one)
	assert.Equal(t, want[0].Score, one[0].Score)

	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Regexp(t, `petl_requests_total\{code="200",task="sst2"\} 1\n`, string(metrics))
	assert.Contains(t, string(metrics), `petl_reloads_total{result="ok"} 2`) // at start and on SIGHUP

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("petl serve did not stop")
	}
	assert.Contains(t, logs.String(), "shutting down")
	assert.Contains(t, logs.String(), "stopped")
	_, err = http.Get(url + "/health")
	assert.Error(t, err, "the listener is closed")
}

func servePost(t *testing.T, url string, body any, status int, out any) {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(data))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s", data)
	require.NoError(t, json.Unmarshal(data, out), "%s", data)
}

func serveGet(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func serveLabelIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestServeFlags: flag values that make no sense are usage errors (exit 2)
// naming the flag; a bad adapter or address is an error (exit 1).
func TestServeFlags(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	sst2 := "sst2=" + repoPath("models", "adapters", "sst2")
	model := repoPath("models", "petl-bert-tiny")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "no tasks"},
		{[]string{"--adapter", sst2, "--max-batch-tokens", "0"}, 2, "--max-batch-tokens"},
		{[]string{"--adapter", sst2, "--max-batch-requests", "-1"}, 2, "--max-batch-requests"},
		{[]string{"--adapter", sst2, "--max-wait", "-1ms"}, 2, "--max-wait"},
		{[]string{"--adapter", sst2, "--queue", "0"}, 2, "--queue"},
		{[]string{"--adapter", sst2, "--queue", "10"}, 2, "smaller than --max-inputs"},
		{[]string{"--adapter", sst2, "--max-body", "0"}, 2, "--max-body"},
		{[]string{"--adapter", sst2, "--max-inputs", "0"}, 2, "--max-inputs"},
		{[]string{"--adapter", sst2, "--max-len", "1"}, 2, "--max-len"},
		{[]string{"--adapter", sst2, "--threads", "-1"}, 2, "--threads"},
		{[]string{"--adapter", sst2, "--adapter", sst2}, 2, "given twice"},
		{[]string{"--adapter", "x="}, 2, "want NAME=FILE"},
		{[]string{"--adapter", sst2, "stray"}, 2, "unexpected arguments"},
		{[]string{"--model", model, "--pack", "off", "--adapter", "sst2=nowhere/sst2"}, 1, "nowhere"},
		{[]string{"--model", model, "--pack", "off", "--adapter", "bad/name=" + repoPath("models", "adapters", "sst2")}, 1, "task name"},
		{[]string{"--model", model, "--pack", "off", "--adapters", "nowhere"}, 1, "nowhere"},
		{[]string{"--model", model, "--pack", "off", "--adapter", sst2, "--addr", "127.0.0.1:99999"}, 1, "--addr"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"serve"}, c.args...)...)
			assert.Equal(t, c.code, code, stderr)
			assert.Contains(t, stderr, c.want)
		})
	}
}

// TestServeAdapterFlag: --adapter NAME=FILE, or FILE named by its stem.
func TestServeAdapterFlag(t *testing.T) {
	var a adapterFlags
	require.NoError(t, a.Set("x=dir/file"))
	require.NoError(t, a.Set("models/adapters/mrpc.json"))
	require.NoError(t, a.Set("out/sst2"))
	assert.Equal(t, adapterFlags{{"x", "dir/file"}, {"mrpc", "models/adapters/mrpc.json"}, {"sst2", "out/sst2"}}, a)
	assert.Error(t, a.Set("sst2=other"))
}

// TestServeHelp: petl help serve and serve -h print the help, whose
// examples use real flags.
func TestServeHelp(t *testing.T) {
	code, help, stderr := runCLI(t, "help", "serve")
	require.Equal(t, 0, code, stderr)
	require.True(t, strings.HasPrefix(help, "Usage: petl serve"))
	require.Contains(t, help, "\nFlags:\n\n  --")
	code, h, _ := runCLI(t, "serve", "-h")
	require.Equal(t, 0, code)
	require.Equal(t, help, h)
	have := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z0-9-]+)`).FindAllStringSubmatch(help, -1) {
		have[m[1]] = true
	}
	for _, ex := range docs["serve"].examples {
		if strings.HasPrefix(ex, "#") {
			continue
		}
		for _, f := range strings.Fields(ex) {
			if name, ok := strings.CutPrefix(f, "--"); ok {
				assert.True(t, have[name], "example flag --%s", name)
			}
		}
	}
}
