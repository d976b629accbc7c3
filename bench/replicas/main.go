// Command replicas compares assistd on PostgreSQL with 1 and with 3 serve
// replicas on one database. For each replica count N it creates a fresh
// schema, starts N `assistd serve` processes on it (each with its own data
// directory, every model routed to a scripted model server in this process)
// and spreads its clients over them round-robin. It measures, with the same
// loads for every N:
//
//   - message creates/s (POST /v1/threads/{id}/messages) at a fixed
//     concurrency for a fixed duration, and their p50/p99 latency;
//   - list latency (GET /v1/threads/{id}/messages?limit=20) at concurrency 1,
//     alternating replicas (p50/p99), and lists/s at the create concurrency;
//   - runs: polled runs (create, then retrieves with X-Stainless-Poll-Helper
//     on another replica until completed) at a fixed concurrency: runs/s,
//     latency p50/p99 and its ratio to the bare model call;
//   - the CPU each party used during each phase (the replicas, PostgreSQL's
//     processes when it runs on this machine, this process: clients and the
//     model), in cores, to show what limits the throughput; and the peak RSS
//     of every replica.
//
// It prints one table with a column per replica count. Usage, from the
// repository root:
//
//	go run ./bench/replicas [-database postgres://…] [-replicas 1,3] [-duration 10s]
//	    [-concurrency 32] [-runs 400] [-run-concurrency 64]
//
// Only loopback is used, and every loop is bounded in both count and time.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/assistd/assistd/bench/internal/benchkit"
	"github.com/assistd/assistd/internal/modelstub"
)

// defaultDatabase is the PostgreSQL the test suites use by default.
const defaultDatabase = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type options struct {
	bin            string
	database       string
	replicas       []int
	duration       time.Duration
	concurrency    int
	threads        int
	listMessages   int
	listRequests   int
	runs           int
	runConcurrency int
	latency        time.Duration
	tps            float64
	tokens         int
	phaseTimeout   time.Duration
	pool           int
	keep           bool
}

func main() {
	var o options
	var replicas string
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL; each replica count gets a fresh schema there, dropped at the end (default: $ASSISTD_TEST_DATABASE_URL, else "+defaultDatabase+")")
	flag.StringVar(&replicas, "replicas", "1,3", "comma-separated replica counts to compare")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the create phase and the list throughput phase each run")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent clients of the create and list throughput phases")
	flag.IntVar(&o.threads, "threads", 32, "threads the message creates are spread over")
	flag.IntVar(&o.listMessages, "list-messages", 120, "messages in the thread the list phases read")
	flag.IntVar(&o.listRequests, "list-requests", 2000, "sequential list requests measured for the latency")
	flag.IntVar(&o.runs, "runs", 400, "polled runs in the run phase")
	flag.IntVar(&o.runConcurrency, "run-concurrency", 64, "runs in flight at once in the run phase")
	flag.DurationVar(&o.latency, "latency", 500*time.Millisecond, "the scripted model's latency before its first byte")
	flag.Float64Var(&o.tps, "tps", 100, "the scripted model's tokens per second")
	flag.IntVar(&o.tokens, "tokens", 20, "tokens (words) in the scripted reply")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 3*time.Minute, "bound of the run phase")
	flag.IntVar(&o.pool, "pool", 0, "pool_max_conns of every replica (0: the server's default, the larger of 4 and the CPU count)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directories")
	flag.Parse()
	for _, f := range strings.Split(replicas, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			fmt.Fprintf(os.Stderr, "replicas: -replicas %q: want counts from 1 to 16, comma-separated\n", replicas)
			os.Exit(2)
		}
		o.replicas = append(o.replicas, n)
	}
	if o.concurrency < 1 || o.threads < 1 || o.duration <= 0 || o.listRequests < 1 || o.listMessages < 20 ||
		o.runs < 1 || o.runConcurrency < 1 || o.tps <= 0 || o.tokens < 1 || o.latency < 0 || o.pool < 0 {
		fmt.Fprintln(os.Stderr, "replicas: counts and durations must be positive, -list-messages >= 20")
		os.Exit(2)
	}
	if o.database == "" {
		o.database = os.Getenv("ASSISTD_TEST_DATABASE_URL")
	}
	if o.database == "" {
		o.database = defaultDatabase
	}
	benchkit.Main("replicas", func() (int, error) { return run(o) })
}

func run(o options) (int, error) {
	nofile := benchkit.RaiseNoFile()
	tmp, bin, cleanup, err := benchkit.Prepare("assistd-bench-replicas-", o.keep, o.bin)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	model, err := startModel(o)
	if err != nil {
		return 1, err
	}
	defer model.close()

	load := benchkit.LoadAvg()
	var results []*result
	for _, n := range o.replicas {
		fmt.Fprintf(os.Stderr, "== %d replica(s)\n", n)
		r, err := measure(o, bin, filepath.Join(tmp, fmt.Sprint("n", n)), model, n)
		if err != nil {
			return 1, fmt.Errorf("%d replicas: %w", n, err)
		}
		results = append(results, r)
	}

	fmt.Printf("\nassistd on PostgreSQL, 1 vs more replicas (%d CPUs, load average %s at start, %s at end; open files %s)\n",
		runtime.NumCPU(), load, benchkit.LoadAvg(), nofile)
	pool := "default"
	if o.pool > 0 {
		pool = strconv.Itoa(o.pool)
	}
	fmt.Printf("model: %s latency, %d tokens at %.0f/s; creates and lists: %d clients for %s; runs: %d, %d in flight; pool_max_conns per replica: %s\n\n",
		o.latency, o.tokens, o.tps, o.concurrency, o.duration, o.runs, o.runConcurrency, pool)
	printTable(results)
	return 0, nil
}

// result is what one replica count measured.
type result struct {
	n                          int
	creates                    rate
	listSeq                    benchkit.Stats
	lists                      rate
	runs                       rate
	bare                       benchkit.Stats
	createCPU, listCPU, runCPU cpuShare
	rss                        []int64
}

// rate is a throughput phase: ok requests per second and their latency.
type rate struct {
	perSec     float64
	ok, failed int64
	lat        benchkit.Stats
}

func measure(o options, bin, dir string, m *model, n int) (*result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	schemaURL, drop, err := benchkit.FreshSchema(o.database)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "drop schema:", err)
		}
	}()
	if o.pool > 0 {
		// pgx reads pool_max_conns from the URL (a plain connection, as
		// FreshSchema makes, would send it to the server and fail).
		u, err := url.Parse(schemaURL)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		q.Set("pool_max_conns", strconv.Itoa(o.pool))
		u.RawQuery = q.Encode()
		schemaURL = u.String()
	}
	env := benchkit.Env([]string{"ASSISTD_", "OPENAI_", "ANTHROPIC_"})
	key, err := benchkit.CreateKey(bin, filepath.Join(dir, "r0"), env, "--database", schemaURL)
	if err != nil {
		return nil, err
	}
	srvEnv := benchkit.Env([]string{"ASSISTD_", "OPENAI_", "ANTHROPIC_"}, "OPENAI_BASE_URL="+m.base+"/v1", "OPENAI_API_KEY=sk-bench")
	var servers []*benchkit.Server
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	for i := range n {
		s, err := benchkit.StartServer(bin, filepath.Join(dir, fmt.Sprint("r", i)), srvEnv, "--database", schemaURL)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
		fmt.Fprintf(os.Stderr, "replica %d: pid %d on %s\n", i, s.Pid(), s.Addr)
	}
	conns := 4 * max(o.concurrency, o.runConcurrency)
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
	defer httpc.CloseIdleConnections()
	cs := make([]*benchkit.Client, n)
	pids := make([]int, n)
	for i, s := range servers {
		cs[i] = &benchkit.Client{Base: "http://" + s.Addr, Key: key, HTTP: httpc}
		pids[i] = s.Pid()
	}
	b := &bench{o: o, cs: cs, model: m, pids: pids}
	r := &result{n: n}

	fmt.Fprintln(os.Stderr, "message creates ...")
	snap := b.cpu()
	if r.creates, err = b.creates(); err != nil {
		return nil, fmt.Errorf("creates: %w", err)
	}
	r.createCPU = b.cpu().since(snap)

	fmt.Fprintln(os.Stderr, "message lists ...")
	if r.listSeq, err = b.listSequential(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	snap = b.cpu()
	if r.lists, err = b.listThroughput(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	r.listCPU = b.cpu().since(snap)

	fmt.Fprintln(os.Stderr, "runs ...")
	if r.bare, err = b.bareCalls(5); err != nil {
		return nil, fmt.Errorf("bare model calls: %w", err)
	}
	snap = b.cpu()
	if r.runs, err = b.polledRuns(); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	r.runCPU = b.cpu().since(snap)

	for _, pid := range pids {
		hwm, err := benchkit.PeakRSS(pid)
		if err != nil {
			return nil, err
		}
		r.rss = append(r.rss, hwm)
	}
	return r, nil
}

type bench struct {
	o     options
	cs    []*benchkit.Client // one per replica
	model *model
	pids  []int
	rr    atomic.Uint64
}

// next is the client of the next replica round-robin.
func (b *bench) next() *benchkit.Client {
	return b.cs[int(b.rr.Add(1)%uint64(len(b.cs)))]
}

func (b *bench) newThread(messages int) (string, error) {
	var th struct{ ID string }
	if err := b.next().Do(http.MethodPost, "/v1/threads", map[string]any{}, &th); err != nil {
		return "", err
	}
	for i := range messages {
		if err := b.next().Send(messageReq(b.next(), th.ID, i), nil); err != nil {
			return "", err
		}
	}
	return th.ID, nil
}

func messageReq(c *benchkit.Client, thread string, i int) *http.Request {
	body := `{"role":"user","content":"benchmark message ` + strconv.Itoa(i) + `: the quick brown fox jumps over the lazy dog"}`
	req, err := http.NewRequest(http.MethodPost, c.Base+"/v1/threads/"+thread+"/messages", strings.NewReader(body))
	if err != nil {
		panic(err) // the URL is ours
	}
	c.Header(req)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// maxPerWorker bounds a throughput loop by count as well as by time.
const maxPerWorker = 2_000_000

// throughput runs do from o.concurrency workers for o.duration; worker w
// always uses replica w mod N, so the load is spread evenly.
func (b *bench) throughput(do func(w, i int, c *benchkit.Client) error) (rate, error) {
	r, err := benchkit.ClosedLoop("request", b.o.concurrency, b.o.duration, maxPerWorker, func(w, i int) error {
		return do(w, i, b.cs[w%len(b.cs)])
	})
	if err != nil {
		return rate{}, err
	}
	return rate{perSec: r.PerSec, ok: r.OK, failed: r.Failed, lat: benchkit.Summarize(r.Latencies)}, nil
}

func (b *bench) creates() (rate, error) {
	threads := make([]string, b.o.threads)
	for i := range threads {
		id, err := b.newThread(1)
		if err != nil {
			return rate{}, err
		}
		threads[i] = id
	}
	return b.throughput(func(w, i int, c *benchkit.Client) error {
		return c.Send(messageReq(c, threads[w%len(threads)], i), nil)
	})
}

// listThread is the thread the list phases read, made once per replica
// count.
func (b *bench) listThread() (string, error) {
	return b.newThread(b.o.listMessages)
}

func (b *bench) listSequential() (benchkit.Stats, error) {
	th, err := b.listThread()
	if err != nil {
		return benchkit.Stats{}, err
	}
	path := "/v1/threads/" + th + "/messages?limit=20"
	for range 200 { // warm-up
		if err := b.next().Do(http.MethodGet, path, nil, nil); err != nil {
			return benchkit.Stats{}, err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	lat := make([]time.Duration, 0, b.o.listRequests)
	for range b.o.listRequests {
		if time.Now().After(deadline) {
			break
		}
		c := b.next()
		t0 := time.Now()
		if err := c.Do(http.MethodGet, path, nil, nil); err != nil {
			return benchkit.Stats{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	return benchkit.Summarize(lat), nil
}

func (b *bench) listThroughput() (rate, error) {
	th, err := b.listThread()
	if err != nil {
		return rate{}, err
	}
	path := "/v1/threads/" + th + "/messages?limit=20"
	return b.throughput(func(_, _ int, c *benchkit.Client) error { return c.Do(http.MethodGet, path, nil, nil) })
}

// bareCalls times n chat completions straight to the model server, as the
// engine sends them (streamed), to the end of the stream.
func (b *bench) bareCalls(n int) (benchkit.Stats, error) {
	body, _ := json.Marshal(map[string]any{
		"model": modelName, "stream": true,
		"messages": []map[string]any{{"role": "system", "content": instructions}, {"role": "user", "content": userText}},
	})
	var lat []time.Duration
	for range n {
		req, err := http.NewRequest(http.MethodPost, b.model.base+"/v1/chat/completions", bytes.NewReader(body))
		if err != nil {
			return benchkit.Stats{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := b.cs[0].HTTP.Do(req)
		if err != nil {
			return benchkit.Stats{}, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return benchkit.Stats{}, fmt.Errorf("model: %d %v", resp.StatusCode, err)
		}
		lat = append(lat, time.Since(t0))
	}
	return benchkit.Summarize(lat), nil
}

const (
	instructions = "You are a benchmark assistant. Answer briefly."
	userText     = "Tell me about the quick brown fox."
	modelName    = "gpt-4o-mini"
)

type runObj struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	LastError json.RawMessage `json:"last_error"`
}

// polledRuns runs o.runs runs, o.runConcurrency at a time: each creates a
// thread with the user message and a run in one request (create thread and
// run) on one replica, then polls as the SDKs' poll helpers do, each poll on
// the next replica, until the run ends. Its latency is from the create to
// the poll that shows it completed.
func (b *bench) polledRuns() (rate, error) {
	var asst struct{ ID string }
	if err := b.next().Do(http.MethodPost, "/v1/assistants", map[string]any{"model": modelName, "instructions": instructions}, &asst); err != nil {
		return rate{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.o.phaseTimeout)
	defer cancel()
	jobs := make(chan int, b.o.runs)
	for i := range b.o.runs {
		jobs <- i
	}
	close(jobs)
	var failed atomic.Int64
	var firstErr atomic.Value
	lat := make([]time.Duration, b.o.runs)
	start := time.Now()
	var wg sync.WaitGroup
	for range b.o.runConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d, err := b.polledRun(ctx, asst.ID)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[i] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "first run error:", e)
	}
	ok := slices.DeleteFunc(lat, func(d time.Duration) bool { return d == 0 })
	if len(ok) == 0 {
		return rate{}, fmt.Errorf("no run completed: %v", firstErr.Load())
	}
	return rate{perSec: float64(len(ok)) / elapsed.Seconds(), ok: int64(len(ok)), failed: failed.Load(), lat: benchkit.Summarize(ok)}, nil
}

var terminal = map[string]bool{"completed": true, "failed": true, "cancelled": true, "expired": true, "incomplete": true, "requires_action": true}

func (b *bench) polledRun(ctx context.Context, asst string) (time.Duration, error) {
	t0 := time.Now()
	var r struct {
		runObj
		ThreadID string `json:"thread_id"`
	}
	if err := b.next().Do(http.MethodPost, "/v1/threads/runs", map[string]any{
		"assistant_id": asst,
		"thread":       map[string]any{"messages": []map[string]any{{"role": "user", "content": userText}}},
	}, &r); err != nil {
		return 0, err
	}
	for !terminal[r.Status] {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		c := b.next()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/v1/threads/"+r.ThreadID+"/runs/"+r.ID, nil)
		if err != nil {
			return 0, err
		}
		c.Header(req)
		req.Header.Set("X-Stainless-Poll-Helper", "true")
		if err := c.Send(req, &r.runObj); err != nil {
			return 0, err
		}
	}
	if r.Status != "completed" {
		return 0, fmt.Errorf("run %s ended %s %s", r.ID, r.Status, r.LastError)
	}
	return time.Since(t0), nil
}

// model is the scripted model server.
type model struct {
	stub *modelstub.Server
	srv  *http.Server
	base string
	done chan struct{}
}

func startModel(o options) (*model, error) {
	words := make([]string, o.tokens)
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	script := &modelstub.Script{Default: &modelstub.Reply{Text: strings.Join(words, " ")}}
	m := &model{stub: modelstub.New(script, modelstub.Options{Latency: o.latency, TokensPerSecond: o.tps}), done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.base = "http://" + ln.Addr().String()
	m.srv = &http.Server{Handler: m.stub, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "model server:", err)
		}
	}()
	return m, nil
}

func (m *model) close() {
	m.stub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
	<-m.done
}

func printTable(rs []*result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	head := "measure"
	for _, r := range rs {
		head += fmt.Sprintf("\t%d replica(s)", r.n)
	}
	fmt.Fprintln(tw, head+"\t")
	row := func(name string, f func(r *result) string) {
		line := name
		for _, r := range rs {
			line += "\t" + f(r)
		}
		fmt.Fprintln(tw, line+"\t")
	}
	ms := func(d time.Duration) string { return benchkit.Millis(d, 2) }
	row("message creates/s", func(r *result) string { return fmt.Sprintf("%.0f", r.creates.perSec) })
	row("  create p50 / p99", func(r *result) string { return ms(r.creates.lat.P50) + " / " + ms(r.creates.lat.P99) })
	row("  creates failed", func(r *result) string { return fmt.Sprint(r.creates.failed) })
	row("  CPU cores: replicas / PostgreSQL / clients of machine", func(r *result) string { return r.createCPU.String() })
	row("list limit=20 at c=1 p50 / p99", func(r *result) string { return ms(r.listSeq.P50) + " / " + ms(r.listSeq.P99) })
	row("lists/s", func(r *result) string { return fmt.Sprintf("%.0f", r.lists.perSec) })
	row("  list p50 / p99 under load", func(r *result) string { return ms(r.lists.lat.P50) + " / " + ms(r.lists.lat.P99) })
	row("  CPU cores: replicas / PostgreSQL / clients of machine", func(r *result) string { return r.listCPU.String() })
	row("polled runs/s", func(r *result) string { return fmt.Sprintf("%.1f", r.runs.perSec) })
	row("  run create -> completed p50 / p99", func(r *result) string { return ms(r.runs.lat.P50) + " / " + ms(r.runs.lat.P99) })
	row("  overhead ratio: run p50 / bare model call p50", func(r *result) string {
		return fmt.Sprintf("%.3f (%s)", float64(r.runs.lat.P50)/float64(r.bare.P50), ms(r.bare.P50))
	})
	row("  runs failed", func(r *result) string { return fmt.Sprint(r.runs.failed) })
	row("  CPU cores: replicas / PostgreSQL / clients+model of machine", func(r *result) string { return r.runCPU.String() })
	row("peak RSS per replica", func(r *result) string {
		var s []string
		for _, b := range r.rss {
			s = append(s, fmt.Sprintf("%.0f", float64(b)/(1<<20)))
		}
		return strings.Join(s, ", ") + " MiB"
	})
	tw.Flush()
	fmt.Println()
}
