// Command load is assistd's load benchmark. It builds the real binary,
// starts `assistd serve` on a free loopback port with a fresh data directory,
// and measures:
//
//   - message creates per second (POST /v1/threads/{id}/messages) at a fixed
//     concurrency for a fixed duration, spread over several threads;
//   - the latency of GET /v1/threads/{id}/messages?limit=20 at concurrency 1
//     on a thread with at least 100 messages (p50/p90/p99);
//   - the server's peak resident memory (VmHWM from /proc/PID/status).
//
// Usage, from the repository root:
//
//	go run ./bench/load [-duration 10s] [-concurrency 16] [-list-requests 5000]
//
// Every request loop is bounded in both count and time, and only loopback is
// used.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/assistd/assistd/bench/internal/benchkit"
)

// Targets the numbers are compared with.
const (
	targetCreatesPerSec = 5000
	targetListP50       = time.Millisecond
)

type options struct {
	bin          string
	duration     time.Duration
	concurrency  int
	threads      int
	listMessages int
	listWarmup   int
	listRequests int
	keep         bool
	check        bool
	database     string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the message-create phase runs")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients in the message-create phase")
	flag.IntVar(&o.threads, "threads", 16, "threads the message creates are spread over")
	flag.IntVar(&o.listMessages, "list-messages", 120, "messages in the thread the list phase reads (>= 100)")
	flag.IntVar(&o.listWarmup, "list-warmup", 500, "list requests before measuring")
	flag.IntVar(&o.listRequests, "list-requests", 5000, "measured list requests (sequential)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL: serve --database on a fresh schema, dropped at the end (default: SQLite in the data directory)")
	flag.Parse()
	if o.concurrency < 1 || o.threads < 1 || o.duration <= 0 || o.listRequests < 1 || o.listMessages < 20 {
		fmt.Fprintln(os.Stderr, "load: -concurrency, -threads, -duration and -list-requests must be positive, -list-messages >= 20")
		os.Exit(2)
	}
	benchkit.Main("load", func() (int, error) { return run(o) })
}

func run(o options) (int, error) {
	tmp, bin, cleanup, err := benchkit.Prepare("assistd-bench-", o.keep, o.bin)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	data := filepath.Join(tmp, "data")

	// Without ASSISTD_* settings, so that the benchmark measures the defaults.
	env := benchkit.Env([]string{"ASSISTD_"})
	dbArgs, backend, dropSchema, err := benchkit.Database(o.database)
	if err != nil {
		return 1, err
	}
	defer dropSchema()
	key, err := benchkit.CreateKey(bin, data, env, dbArgs...)
	if err != nil {
		return 1, err
	}
	srv, err := benchkit.StartServer(bin, data, env, dbArgs...)
	if err != nil {
		return 1, err
	}
	defer srv.Stop()
	fmt.Fprintf(os.Stderr, "server pid %d on %s\n", srv.Pid(), srv.Addr)

	c := &client{
		base: "http://" + srv.Addr,
		key:  key,
		http: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        4 * o.concurrency,
				MaxIdleConnsPerHost: 4 * o.concurrency,
				IdleConnTimeout:     time.Minute,
				DisableCompression:  true,
			},
		},
	}

	creates, err := benchCreates(c, o)
	if err != nil {
		return 1, fmt.Errorf("message creates: %w", err)
	}
	list, err := benchList(c, o)
	if err != nil {
		return 1, fmt.Errorf("message list: %w", err)
	}
	hwm, err := benchkit.PeakRSS(srv.Pid())
	if err != nil {
		return 1, err
	}

	rep := benchkit.NewTable(46, 10, 22)
	rep.Row(fmt.Sprintf("message creates/s (c=%d, %d threads, %s)", o.concurrency, o.threads, o.duration),
		fmt.Sprintf(">= %d", targetCreatesPerSec), fmt.Sprintf("%.0f", creates.perSec), benchkit.OK(creates.perSec >= targetCreatesPerSec))
	rep.Row("  create latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(creates.p50), ms(creates.p99)), nil)
	rep.Row("  creates ok / failed", "", fmt.Sprintf("%d / %d", creates.ok, creates.failed), nil)
	rep.Row(fmt.Sprintf("list messages limit=20 p50 (c=1, n=%d)", list.n), "<= 1 ms", ms(list.p50), benchkit.OK(list.p50 <= targetListP50))
	rep.Row("list messages limit=20 p90", "", ms(list.p90), nil)
	rep.Row("list messages limit=20 p99", "", ms(list.p99), nil)
	rep.Row("peak RSS of the server (VmHWM)", "", benchkit.MiB(hwm), nil)
	fmt.Printf("\nassistd load benchmark (%s, %s)\n\n", backend, srv.Addr)
	rep.Print()
	return rep.ExitCode(o.check), nil
}

func ms(d time.Duration) string { return benchkit.Millis(d, 3) }

type client struct {
	base string
	key  string
	http *http.Client
}

// do sends one request, drains the body and decodes it into out when out is
// non-nil. A status other than 200 is an error.
func (c *client) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *client) createThread() (string, error) {
	var t struct{ ID string }
	if err := c.do(http.MethodPost, "/v1/threads", []byte(`{}`), &t); err != nil {
		return "", err
	}
	if t.ID == "" {
		return "", errors.New("thread without id")
	}
	return t.ID, nil
}

func messageBody(i int) []byte {
	return []byte(`{"role":"user","content":"benchmark message ` + strconv.Itoa(i) + `: the quick brown fox jumps over the lazy dog"}`)
}

type createResult struct {
	perSec     float64
	ok, failed int64
	p50, p99   time.Duration
}

// maxCreatesPerWorker bounds the create loop by count as well as by time.
const maxCreatesPerWorker = 5_000_000

func benchCreates(c *client, o options) (createResult, error) {
	threads := make([]string, o.threads)
	for i := range threads {
		id, err := c.createThread()
		if err != nil {
			return createResult{}, err
		}
		threads[i] = id
	}
	// Warm the connection pool and the server.
	for i := range 2 * o.concurrency {
		if err := c.do(http.MethodPost, "/v1/threads/"+threads[i%len(threads)]+"/messages", messageBody(i), nil); err != nil {
			return createResult{}, err
		}
	}

	r, err := benchkit.ClosedLoop("create", o.concurrency, o.duration, maxCreatesPerWorker, func(w, i int) error {
		return c.do(http.MethodPost, "/v1/threads/"+threads[w%len(threads)]+"/messages", messageBody(i), nil)
	})
	if err != nil {
		return createResult{}, err
	}
	return createResult{
		perSec: r.PerSec,
		ok:     r.OK,
		failed: r.Failed,
		p50:    benchkit.Percentile(r.Latencies, 0.50),
		p99:    benchkit.Percentile(r.Latencies, 0.99),
	}, nil
}

type listResult struct {
	n             int
	p50, p90, p99 time.Duration
}

// listPhaseTimeout bounds the whole list phase.
const listPhaseTimeout = 5 * time.Minute

func benchList(c *client, o options) (listResult, error) {
	thread, err := c.createThread()
	if err != nil {
		return listResult{}, err
	}
	for i := range o.listMessages {
		if err := c.do(http.MethodPost, "/v1/threads/"+thread+"/messages", messageBody(i), nil); err != nil {
			return listResult{}, err
		}
	}
	path := "/v1/threads/" + thread + "/messages?limit=20"
	var page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if err := c.do(http.MethodGet, path, nil, &page); err != nil {
		return listResult{}, err
	}
	if len(page.Data) != 20 || !page.HasMore {
		return listResult{}, fmt.Errorf("list returned %d messages (has_more=%v), want 20 and more", len(page.Data), page.HasMore)
	}

	deadline := time.Now().Add(listPhaseTimeout)
	for range o.listWarmup {
		if err := c.do(http.MethodGet, path, nil, nil); err != nil {
			return listResult{}, err
		}
	}
	lat := make([]time.Duration, 0, o.listRequests)
	for range o.listRequests {
		if time.Now().After(deadline) {
			break
		}
		t0 := time.Now()
		if err := c.do(http.MethodGet, path, nil, nil); err != nil {
			return listResult{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return listResult{
		n:   len(lat),
		p50: benchkit.Percentile(lat, 0.50),
		p90: benchkit.Percentile(lat, 0.90),
		p99: benchkit.Percentile(lat, 0.99),
	}, nil
}
