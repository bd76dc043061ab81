// Command loadgen drives a petl server with a closed-loop load: C clients,
// each sending its next request as soon as the previous one is answered,
// through the mixed-task GLUE request stream (../shared/anchors/
// requests-glue.tsv: task, segment length, token ids, text, second text),
// for at most N requests or D of time, whichever ends first. It prints
// requests/s, tokens/s of the stream's reference tokenisation, and the
// latency percentiles, one line per run, and fails on any answer that is
// not 200.
//
//	go run ./benchmarks/loadgen -url http://127.0.0.1:8080 -c 32 -n 2048 -d 60s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// request is one line of the stream.
type request struct {
	task   string
	tokens int
	body   []byte
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "server address")
	file := flag.String("requests", "../shared/anchors/requests-glue.tsv", "request stream (TSV: task, segment length, token ids, text, second text)")
	conc := flag.Int("c", 32, "concurrent clients (closed loop)")
	n := flag.Int("n", 2048, "requests to send at most (the stream's first N, wrapping around)")
	skip := flag.Int("skip", 0, "start at this request of the stream")
	dur := flag.Duration("d", 60*time.Second, "stop after this long")
	warm := flag.Int("warmup", 64, "requests sent before timing (not counted)")
	label := flag.String("label", "", "label printed on the result line")
	flag.Parse()
	if err := run(*url, *file, *conc, *n, *skip, *dur, *warm, *label); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(url, file string, conc, n, skip int, dur time.Duration, warm int, label string) error {
	if conc < 1 || n < 1 {
		return fmt.Errorf("-c %d -n %d: want positive numbers", conc, n)
	}
	reqs, err := readStream(file)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 60 * time.Second}
	send := func(r *request) (int, error) {
		resp, err := client.Post(url+"/predict", "application/json", bytes.NewReader(r.body))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, fmt.Errorf("%s: status %d: %s", r.task, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return resp.StatusCode, nil
	}
	// Warm-up, one client: connections, the server's arenas.
	for i := 0; i < warm; i++ {
		if _, err := send(&reqs[(skip+i)%len(reqs)]); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var next atomic.Int64
	var tokens atomic.Int64
	lat := make([][]time.Duration, conc)
	errs := make(chan error, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r := &reqs[(skip+i)%len(reqs)]
				t0 := time.Now()
				if _, err := send(r); err != nil {
					errs <- err
					cancel()
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
				tokens.Add(int64(r.tokens))
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return fmt.Errorf("no request finished in %v", dur)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	fmt.Printf("%sc=%d: %8.2f requests/s %8.0f tokens/s  p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  (%d requests in %.1f s)\n",
		label, conc, float64(len(all))/elapsed.Seconds(), float64(tokens.Load())/elapsed.Seconds(),
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), len(all), elapsed.Seconds())
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// readStream reads the request stream into ready request bodies: the text,
// or the pair as a two-element list, with the task as "adapter".
func readStream(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var reqs []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.HasPrefix(t, "#") || t == "" {
			continue
		}
		f := strings.Split(t, "\t")
		if len(f) < 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want task, segment length, ids, text[, text b]", path, line, len(f))
		}
		body := map[string]any{"adapter": f[0], "inputs": f[3]}
		if len(f) >= 5 {
			body["inputs"] = []string{f[3], f[4]}
		}
		js, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, request{task: f[0], tokens: len(strings.Fields(f[2])), body: js})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no requests", path)
	}
	return reqs, nil
}
