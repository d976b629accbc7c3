// Command runs is assistd's run-engine benchmark. It builds the real binary,
// starts `assistd serve` on a free loopback port with a fresh data directory
// and every model routed (OPENAI_BASE_URL) to a scripted model server
// (internal/modelstub, served over real loopback HTTP from this process) that
// answers every request after a fixed latency with a fixed reply paced at a
// fixed number of tokens per second. It measures:
//
//	(a) the overhead ratio: wall time of create run -> completed, observed by
//	    polling with X-Stainless-Poll-Helper: true (the server holds such a
//	    retrieve until the run changes), over the wall time of the bare model
//	    call with the same prompt made directly against the model server;
//	(b) the added time to first streamed token: from sending a stream:true
//	    run create to its first thread.message.delta, minus the model's own
//	    time to first token measured directly (p50/p99 over N runs);
//	(c) C concurrent streaming runs, one per thread: failures, the added
//	    latency (end-to-end stream time minus the bare model call's time,
//	    p50/p99/max), and the server's peak RSS (VmHWM); the same number of
//	    concurrent bare model calls is measured first as a control;
//	(d) the npm SDK's runs.createAndPoll without a custom interval (node
//	    bench/runs/poll.mjs, using test/conformance/node_modules/openai): the
//	    time from the model server finishing its reply to createAndPoll
//	    returning.
//
// Usage, from the repository root:
//
//	go run ./bench/runs [-latency 1s] [-tps 50] [-tokens 50] [-overhead-runs 10]
//	    [-ttft-runs 30] [-concurrent 1000] [-poll-runs 5] [-check]
//
// Part (d) is skipped when node or the conformance suite's node_modules is
// missing (cd test/conformance && npm ci). Only loopback is used, and every
// loop is bounded in count and time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assistd/assistd/bench/internal/benchkit"
	"github.com/assistd/assistd/internal/modelstub"
)

// Targets the numbers are compared with (issue 3, Performance).
const (
	targetOverheadRatio = 1.02
	targetAddedTTFT     = 5 * time.Millisecond
	targetConcurrentP99 = 50 * time.Millisecond
	targetPollLag       = 100 * time.Millisecond
)

const (
	instructions = "You are a benchmark assistant. Answer briefly."
	userText     = "Tell me about the quick brown fox."
	modelName    = "gpt-4o-mini"
)

type options struct {
	bin          string
	latency      time.Duration
	tps          float64
	tokens       int
	overheadRuns int
	ttftRuns     int
	warmup       int
	concurrent   int
	ramp         time.Duration
	pollRuns     int
	node         string
	conformance  string
	pollScript   string
	phaseTimeout time.Duration
	keep         bool
	check        bool
	database     string
}

func main() {
	if upstream := os.Getenv(relayEnv); upstream != "" {
		fmt.Fprintln(os.Stderr, "relay:", serveRelay(upstream))
		os.Exit(1)
	}
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.DurationVar(&o.latency, "latency", time.Second, "the scripted model's latency before its first byte")
	flag.Float64Var(&o.tps, "tps", 50, "the scripted model's tokens per second")
	flag.IntVar(&o.tokens, "tokens", 50, "tokens (words) in the scripted reply")
	flag.IntVar(&o.overheadRuns, "overhead-runs", 10, "sequential runs (and bare calls) measured for (a)")
	flag.IntVar(&o.ttftRuns, "ttft-runs", 30, "sequential streamed runs (and bare calls) measured for (b)")
	flag.IntVar(&o.warmup, "warmup", 2, "unmeasured runs before (a) and (b)")
	flag.IntVar(&o.concurrent, "concurrent", 1000, "concurrent streaming runs for (c); 0 skips (c)")
	flag.DurationVar(&o.ramp, "ramp", 0, "spread (c)'s starts evenly over this time (0: all at once); below a run's length all C runs are still in flight together")
	flag.IntVar(&o.pollRuns, "poll-runs", 5, "sequential createAndPoll calls for (d); 0 skips (d)")
	flag.StringVar(&o.node, "node", "node", "node executable for (d)")
	flag.StringVar(&o.conformance, "conformance", "test/conformance", "directory whose node_modules holds the openai package")
	flag.StringVar(&o.pollScript, "poll-script", "bench/runs/poll.mjs", "the Node script of (d)")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 5*time.Minute, "bound of each phase")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL: serve --database on a fresh schema, dropped at the end (default: SQLite in the data directory)")
	flag.Parse()
	if o.latency < 0 || o.tps <= 0 || o.tokens < 1 || o.overheadRuns < 1 || o.ttftRuns < 1 ||
		o.warmup < 0 || o.concurrent < 0 || o.pollRuns < 0 || o.phaseTimeout <= 0 {
		fmt.Fprintln(os.Stderr, "runs: -tps, -tokens, -overhead-runs, -ttft-runs and -phase-timeout must be positive; the rest not negative")
		os.Exit(2)
	}
	benchkit.Main("runs", func() (int, error) { return run(o) })
}

func run(o options) (int, error) {
	raised := benchkit.RaiseNoFile()

	tmp, bin, cleanup, err := benchkit.Prepare("assistd-bench-runs-", o.keep, o.bin)
	if err != nil {
		return 1, err
	}
	defer cleanup()

	model, err := startModel(o)
	if err != nil {
		return 1, err
	}
	defer model.close()

	data := filepath.Join(tmp, "data")
	dbArgs, backend, dropSchema, err := benchkit.Database(o.database)
	if err != nil {
		return 1, err
	}
	defer dropSchema()
	key, err := benchkit.CreateKey(bin, data, benchEnv(), dbArgs...)
	if err != nil {
		return 1, err
	}
	srv, err := benchkit.StartServer(bin, data, benchEnv("OPENAI_BASE_URL="+model.base+"/v1", "OPENAI_API_KEY=sk-bench"), dbArgs...)
	if err != nil {
		return 1, err
	}
	defer srv.Stop()
	fmt.Fprintf(os.Stderr, "server pid %d on %s, model on %s\n", srv.Pid(), srv.Addr, model.base)

	conns := max(64, 2*o.concurrent)
	httpc := &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		},
	}
	c := &client{benchkit.Client{Base: "http://" + srv.Addr, Key: key, HTTP: httpc}}
	var asst struct{ ID string }
	if err := c.Do(http.MethodPost, "/v1/assistants", map[string]any{"model": modelName, "instructions": instructions}, &asst); err != nil {
		return 1, err
	}
	b := &bench{o: o, c: c, model: model, http: httpc, assistant: asst.ID}

	rep := benchkit.NewTable(58, 12, 30)
	load1 := benchkit.LoadAvg()

	// (a)
	a, err := b.overhead()
	if err != nil {
		return 1, fmt.Errorf("(a) overhead: %w", err)
	}
	ratio := float64(a.runs.P50) / float64(a.bare.P50)
	rep.Row(fmt.Sprintf("(a) overhead ratio run/bare model call, p50 (n=%d)", o.overheadRuns),
		fmt.Sprintf("<= %.2f", targetOverheadRatio), fmt.Sprintf("%.4f", ratio), benchkit.OK(ratio <= targetOverheadRatio))
	rep.Row("    bare model call p50 / max", "", fmt.Sprintf("%s / %s", ms(a.bare.P50), ms(a.bare.Max)), nil)
	rep.Row("    create -> completed (polled) p50 / max", "", fmt.Sprintf("%s / %s", ms(a.runs.P50), ms(a.runs.Max)), nil)
	rep.Row("    model reply end -> poll returns p50 / max", "", fmt.Sprintf("%s / %s", ms(a.lag.P50), ms(a.lag.Max)), nil)

	// (b)
	t, err := b.ttft()
	if err != nil {
		return 1, fmt.Errorf("(b) first token: %w", err)
	}
	rep.Row(fmt.Sprintf("(b) added time to first token p50 (n=%d)", o.ttftRuns),
		"<= "+ms(targetAddedTTFT), ms(t.added.P50), benchkit.OK(t.added.P50 <= targetAddedTTFT))
	rep.Row("    added time to first token p99", "", ms(t.added.P99), nil)
	rep.Row("    model's own first token p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.model.P50), ms(t.model.P99)), nil)
	rep.Row("    via assistd first delta p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.runs.P50), ms(t.runs.P99)), nil)
	rep.Row("    streamed run end-to-end minus bare call p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.total.P50), ms(t.total.P99)), nil)

	hwmBefore, err := benchkit.PeakRSS(srv.Pid())
	if err != nil {
		return 1, err
	}

	// (c)
	if o.concurrent > 0 {
		b.serverPid = srv.Pid()
		cc, err := b.concurrent(a.bare.P50)
		if err != nil {
			return 1, fmt.Errorf("(c) concurrent: %w", err)
		}
		hwm, err := benchkit.PeakRSS(srv.Pid())
		if err != nil {
			return 1, err
		}
		n := o.concurrent
		rep.Row(fmt.Sprintf("(c) %d concurrent streaming runs: failed", n), "0",
			fmt.Sprintf("%d (of %d)", cc.failed, n), benchkit.OK(cc.failed == 0))
		if cc.firstErr != nil {
			fmt.Fprintln(os.Stderr, "(c) first failure:", cc.firstErr)
		}
		rep.Row("    added latency p99 (stream time - bare call)", "<= "+ms(targetConcurrentP99), ms(cc.added.P99),
			benchkit.OK(cc.failed == 0 && cc.added.P99 <= targetConcurrentP99))
		rep.Row("    added latency p50 / max", "", fmt.Sprintf("%s / %s", ms(cc.added.P50), ms(cc.added.Max)), nil)
		rep.Row("    added first-token latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.firstDelta.P50), ms(cc.firstDelta.P99)), nil)
		rep.Row("    send -> thread.run.created p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.created.P50), ms(cc.created.P99)), nil)
		rep.Row("    send -> thread.run.in_progress p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.inProgress.P50), ms(cc.inProgress.P99)), nil)
		rep.Row("    send -> thread.message.created - latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.msgCreated.P50), ms(cc.msgCreated.P99)), nil)
		rep.Row("    model requests arrive, from the burst's start p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.modelStart.P50), ms(cc.modelStart.P99)), nil)
		rep.Row("    model replies end, from the burst's start p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.modelEnd.P50), ms(cc.modelEnd.P99)), nil)
		rep.Row("    control: bare model calls at the same concurrency p50/p99", "",
			fmt.Sprintf("%s / %s", ms(cc.control.P50), ms(cc.control.P99)), nil)
		rep.Row("    control: the same through a bare relay process p50/p99", "",
			fmt.Sprintf("%s / %s", ms(cc.relayed.P50), ms(cc.relayed.P99)), nil)
		rep.Row("    CPU time of the relay in its burst", "", ms(cc.relayCPU), nil)
		// What the machine alone adds (the control) is a floor under the
		// target row; this is what assistd adds above it.
		rep.Row("    added latency p99 minus the control's p99", "", ms(cc.added.P99-cc.control.P99), nil)
		// The same for a server that does nothing but relay: what any
		// per-token streaming process adds on this machine.
		rep.Row("    the bare relay's p99 minus the control's p99", "", ms(cc.relayed.P99-cc.control.P99), nil)
		rep.Row("    wall time of the burst; most streams in flight at once", "", fmt.Sprintf("%s; %d", ms(cc.wall), cc.peak), nil)
		rep.Row("    CPU time in it: server / this process (model+clients)", "", fmt.Sprintf("%s / %s", ms(cc.serverCPU), ms(cc.selfCPU)), nil)
		rep.Row("    peak RSS of the server (VmHWM)", "", benchkit.MiB(hwm), nil)
	}
	rep.Row("peak RSS of the server before (c)", "", benchkit.MiB(hwmBefore), nil)

	// (d)
	if o.pollRuns > 0 {
		d, why, err := b.poll()
		switch {
		case err != nil:
			return 1, fmt.Errorf("(d) createAndPoll: %w", err)
		case why != "":
			rep.Row("(d) npm createAndPoll", "", "skipped: "+why, nil)
		default:
			rep.Row(fmt.Sprintf("(d) npm createAndPoll: model end -> return max (n=%d)", o.pollRuns),
				"<= "+ms(targetPollLag), ms(d.lag.Max), benchkit.OK(d.lag.Max <= targetPollLag))
			rep.Row("    model end -> createAndPoll returns p50", "", ms(d.lag.P50), nil)
			rep.Row("    createAndPoll duration p50 / max", "", fmt.Sprintf("%s / %s", ms(d.dur.P50), ms(d.dur.Max)), nil)
			rep.Row("    createAndPoll duration / bare model call, p50", "", fmt.Sprintf("%.4f", float64(d.dur.P50)/float64(a.bare.P50)), nil)
		}
	}

	fmt.Printf("\nassistd runs benchmark (%s, %s; model: %s latency, %.0f tokens/s, %d-token reply)\n",
		backend, srv.Addr, o.latency, o.tps, o.tokens)
	fmt.Printf("machine: %d CPUs, load average %s at start, %s at end; open files limit %s\n\n",
		runtime.NumCPU(), load1, benchkit.LoadAvg(), raised)
	rep.Print()
	return rep.ExitCode(o.check), nil
}

func ms(d time.Duration) string { return benchkit.Millis(d, 2) }

// model is the scripted model server, with the start and end of every
// request it served.
type model struct {
	stub *modelstub.Server
	srv  *http.Server
	base string // http://host:port

	mu    sync.Mutex
	spans []span
}

type span struct{ start, end time.Time }

func startModel(o options) (*model, error) {
	words := make([]string, o.tokens)
	for i := range words {
		words[i] = "w" + strconv.Itoa(i)
	}
	script := &modelstub.Script{Default: &modelstub.Reply{Text: strings.Join(words, " ")}}
	if err := script.Validate(); err != nil {
		return nil, err
	}
	m := &model{stub: modelstub.New(script, modelstub.Options{Latency: o.latency, TokensPerSecond: o.tps})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.base = "http://" + ln.Addr().String()
	m.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sp := span{start: time.Now()}
			m.stub.ServeHTTP(w, r)
			sp.end = time.Now()
			m.mu.Lock()
			m.spans = append(m.spans, sp)
			m.mu.Unlock()
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go m.srv.Serve(ln)
	return m, nil
}

// endWithin returns the end of the one request that started in [from, to],
// for sequential phases.
func (m *model) endWithin(from, to time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []span
	for _, s := range m.spans {
		if !s.start.Before(from) && !s.start.After(to) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return time.Time{}, fmt.Errorf("%d model requests started during one sequential run, want 1", len(found))
	}
	return found[0].end, nil
}

// offsets summarizes when the requests that started after t0 started and
// ended, from t0.
func (m *model) offsets(t0 time.Time) (start, end benchkit.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s, e []time.Duration
	for _, sp := range m.spans {
		if !sp.start.Before(t0) {
			s, e = append(s, sp.start.Sub(t0)), append(e, sp.end.Sub(t0))
		}
	}
	return benchkit.Summarize(s), benchkit.Summarize(e)
}

func (m *model) close() {
	m.stub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
}

type bench struct {
	o         options
	c         *client
	model     *model
	http      *http.Client
	assistant string
	serverPid int
}

// bareCall makes the chat completion the engine makes (system
// instructions and the user message, streamed) directly against the model
// server, and returns its time to the first content token and to the end.
// With firstOnly it hangs up after the first token.
func (b *bench) bareCall(ctx context.Context, firstOnly bool) (first, total time.Duration, err error) {
	return b.callVia(ctx, b.model.base, firstOnly)
}

// callVia is bareCall sent to base, the model server or a relay to it.
func (b *bench) callVia(ctx context.Context, base string, firstOnly bool) (first, total time.Duration, err error) {
	body, _ := json.Marshal(map[string]any{
		"model": modelName, "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []map[string]any{{"role": "system", "content": instructions}, {"role": "user", "content": userText}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-bench")
	t0 := time.Now()
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("model: %d %s", resp.StatusCode, msg)
	}
	done := false
	err = readSSE(resp.Body, func(_, data string) bool {
		if data == "[DONE]" {
			done = true
			return false
		}
		if first == 0 {
			var ch struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if json.Unmarshal([]byte(data), &ch) == nil && len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
				first = time.Since(t0)
				if firstOnly {
					return false
				}
			}
		}
		return true
	})
	total = time.Since(t0)
	if err != nil {
		return 0, 0, err
	}
	if first == 0 || (!firstOnly && !done) {
		return 0, 0, errors.New("model stream ended without content or [DONE]")
	}
	return first, total, nil
}

// newThread creates a thread holding the benchmark's user message.
func (b *bench) newThread() (string, error) {
	var th struct{ ID string }
	err := b.c.Do(http.MethodPost, "/v1/threads", map[string]any{
		"messages": []map[string]any{{"role": "user", "content": userText}},
	}, &th)
	if err == nil && th.ID == "" {
		err = errors.New("thread without id")
	}
	return th.ID, err
}

type runObj struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	LastError json.RawMessage `json:"last_error"`
}

var terminal = map[string]bool{"completed": true, "failed": true, "cancelled": true, "expired": true, "incomplete": true, "requires_action": true}

// pollRun creates a non-streamed run on thread and polls it as the SDKs do
// until it ends; it returns the run and the time it took.
func (b *bench) pollRun(ctx context.Context, thread string) (runObj, time.Duration, error) {
	t0 := time.Now()
	var r runObj
	if err := b.c.Do(http.MethodPost, "/v1/threads/"+thread+"/runs", map[string]any{"assistant_id": b.assistant}, &r); err != nil {
		return r, 0, err
	}
	for !terminal[r.Status] {
		if ctx.Err() != nil {
			return r, 0, ctx.Err()
		}
		if err := b.c.doPoll("/v1/threads/"+thread+"/runs/"+r.ID, &r); err != nil {
			return r, 0, err
		}
	}
	d := time.Since(t0)
	if r.Status != "completed" {
		return r, d, fmt.Errorf("run %s ended %s %s", r.ID, r.Status, r.LastError)
	}
	return r, d, nil
}

type overheadResult struct{ bare, runs, lag benchkit.Stats }

func (b *bench) overhead() (overheadResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.o.phaseTimeout)
	defer cancel()
	fmt.Fprintln(os.Stderr, "(a) overhead ...")
	for range b.o.warmup {
		if _, _, err := b.bareCall(ctx, false); err != nil {
			return overheadResult{}, err
		}
		th, err := b.newThread()
		if err != nil {
			return overheadResult{}, err
		}
		if _, _, err := b.pollRun(ctx, th); err != nil {
			return overheadResult{}, err
		}
	}
	var bare, runs, lag []time.Duration
	// Interleave the bare calls and the runs so that drift affects both.
	for range b.o.overheadRuns {
		_, total, err := b.bareCall(ctx, false)
		if err != nil {
			return overheadResult{}, err
		}
		bare = append(bare, total)

		th, err := b.newThread()
		if err != nil {
			return overheadResult{}, err
		}
		t0 := time.Now()
		_, d, err := b.pollRun(ctx, th)
		if err != nil {
			return overheadResult{}, err
		}
		t1 := time.Now()
		runs = append(runs, d)
		end, err := b.model.endWithin(t0, t1)
		if err != nil {
			return overheadResult{}, err
		}
		lag = append(lag, t1.Sub(end))
	}
	return overheadResult{bare: benchkit.Summarize(bare), runs: benchkit.Summarize(runs), lag: benchkit.Summarize(lag)}, nil
}

// streamedRun is what one stream:true run create showed.
type streamedRun struct {
	created    time.Duration // send -> thread.run.created
	inProgress time.Duration // send -> thread.run.in_progress
	msgCreated time.Duration // send -> thread.message.created
	firstDelta time.Duration // send -> first thread.message.delta
	total      time.Duration // send -> done
	status     string        // of the last thread.run.* event
	deltas     int
}

// streamRun creates a streamed run on thread and reads it to its end.
func (b *bench) streamRun(ctx context.Context, thread string) (streamedRun, error) {
	var sr streamedRun
	body, _ := json.Marshal(map[string]any{"assistant_id": b.assistant, "stream": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.c.Base+"/v1/threads/"+thread+"/runs", bytes.NewReader(body))
	if err != nil {
		return sr, err
	}
	b.c.Header(req)
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := b.http.Do(req)
	if err != nil {
		return sr, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return sr, fmt.Errorf("stream run: %d %s", resp.StatusCode, msg)
	}
	done := false
	err = readSSE(resp.Body, func(event, data string) bool {
		switch {
		case event == "thread.run.created":
			sr.created = time.Since(t0)
		case event == "thread.run.in_progress":
			sr.inProgress = time.Since(t0)
		case event == "thread.message.created" && sr.msgCreated == 0:
			sr.msgCreated = time.Since(t0)
		}
		switch {
		case event == "thread.message.delta":
			if sr.deltas == 0 {
				sr.firstDelta = time.Since(t0)
			}
			sr.deltas++
		case event == "done":
			done = true
			return false
		case event == "error":
			sr.status = "error: " + data
		case strings.HasPrefix(event, "thread.run.") && !strings.HasPrefix(event, "thread.run.step."):
			sr.status = strings.TrimPrefix(event, "thread.run.")
		}
		return true
	})
	sr.total = time.Since(t0)
	if err != nil {
		return sr, err
	}
	if !done {
		return sr, fmt.Errorf("stream ended without done (last run event %q)", sr.status)
	}
	if sr.status != "completed" || sr.deltas == 0 {
		return sr, fmt.Errorf("streamed run ended %q with %d deltas", sr.status, sr.deltas)
	}
	return sr, nil
}

type ttftResult struct{ model, runs, added, total benchkit.Stats }

func (b *bench) ttft() (ttftResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.o.phaseTimeout)
	defer cancel()
	fmt.Fprintln(os.Stderr, "(b) time to first token ...")
	for range b.o.warmup {
		th, err := b.newThread()
		if err != nil {
			return ttftResult{}, err
		}
		if _, err := b.streamRun(ctx, th); err != nil {
			return ttftResult{}, err
		}
	}
	var modelFirst, modelTotal, runFirst, runTotal []time.Duration
	for range b.o.ttftRuns {
		first, total, err := b.bareCall(ctx, false)
		if err != nil {
			return ttftResult{}, err
		}
		modelFirst, modelTotal = append(modelFirst, first), append(modelTotal, total)
		th, err := b.newThread()
		if err != nil {
			return ttftResult{}, err
		}
		sr, err := b.streamRun(ctx, th)
		if err != nil {
			return ttftResult{}, err
		}
		runFirst, runTotal = append(runFirst, sr.firstDelta), append(runTotal, sr.total)
	}
	m, mt := benchkit.Summarize(modelFirst), benchkit.Summarize(modelTotal)
	added := make([]time.Duration, len(runFirst))
	extra := make([]time.Duration, len(runTotal))
	for i := range runFirst {
		added[i] = runFirst[i] - m.P50
		extra[i] = runTotal[i] - mt.P50
	}
	return ttftResult{model: m, runs: benchkit.Summarize(runFirst), added: benchkit.Summarize(added), total: benchkit.Summarize(extra)}, nil
}

type concurrentResult struct {
	failed     int64
	firstErr   error
	added      benchkit.Stats
	firstDelta benchkit.Stats
	control    benchkit.Stats
	wall       time.Duration
	peak       int64 // most streams in flight at once
	relayed    benchkit.Stats
	relayCPU   time.Duration
	serverCPU  time.Duration // user+system time the server used during the burst
	selfCPU    time.Duration // and this process (model server and clients)
	// Where the time goes: send -> run created, -> in_progress, and
	// message created minus the model's first token.
	created, inProgress, msgCreated benchkit.Stats
	// When the model server received the burst's requests and finished
	// them, from the burst's start.
	modelStart, modelEnd benchkit.Stats
}

// concurrent runs o.concurrent streaming runs at once, each on its own
// thread, after a control burst of as many bare model calls.
func (b *bench) concurrent(bare time.Duration) (concurrentResult, error) {
	n := b.o.concurrent
	ctx, cancel := context.WithTimeout(context.Background(), b.o.phaseTimeout)
	defer cancel()
	fmt.Fprintf(os.Stderr, "(c) creating %d threads ...\n", n)
	threads := make([]string, n)
	var next atomic.Int64
	var createErr atomic.Value
	var creators sync.WaitGroup
	for range 16 {
		creators.Add(1)
		go func() {
			defer creators.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || createErr.Load() != nil {
					return
				}
				id, err := b.newThread()
				if err != nil {
					createErr.CompareAndSwap(nil, err)
					return
				}
				threads[i] = id
			}
		}()
	}
	creators.Wait()
	if e := createErr.Load(); e != nil {
		return concurrentResult{}, e.(error)
	}

	// Controls: the model server and this client alone at the same
	// concurrency, then through a bare relay process.
	fmt.Fprintf(os.Stderr, "(c) %d concurrent bare model calls ...\n", n)
	control, err := b.controlBurst(ctx, b.model.base, bare)
	if err != nil {
		return concurrentResult{}, fmt.Errorf("control burst: %w", err)
	}
	relay, err := startRelay(b.model.base)
	if err != nil {
		return concurrentResult{}, err
	}
	fmt.Fprintf(os.Stderr, "(c) %d concurrent model calls through a relay ...\n", n)
	cpu0 := cpuTime(relay.pid())
	relayed, err := b.controlBurst(ctx, relay.base, bare)
	relayCPU := cpuTime(relay.pid()) - cpu0
	relay.stop()
	if err != nil {
		return concurrentResult{}, fmt.Errorf("relay burst: %w", err)
	}

	fmt.Fprintf(os.Stderr, "(c) %d concurrent streaming runs ...\n", n)
	var res concurrentResult
	var failed atomic.Int64
	var firstErr atomic.Value
	added := make([]time.Duration, n)
	firsts := make([]time.Duration, n)
	all := make([]streamedRun, n)
	bad := make([]bool, n)
	var inFlight, maxInFlight atomic.Int64
	cpu0, self0 := cpuTime(b.serverPid), cpuTime(os.Getpid())
	t0 := time.Now()
	b.burst(func(i int) {
		now := inFlight.Add(1)
		for peak := maxInFlight.Load(); now > peak && !maxInFlight.CompareAndSwap(peak, now); peak = maxInFlight.Load() {
		}
		sr, err := b.streamRun(ctx, threads[i])
		inFlight.Add(-1)
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err)
			bad[i] = true
			return
		}
		added[i] = sr.total - bare
		firsts[i] = sr.firstDelta
		all[i] = sr
	})
	res.wall = time.Since(t0)
	res.peak = maxInFlight.Load()
	res.modelStart, res.modelEnd = b.model.offsets(t0)
	res.serverCPU = cpuTime(b.serverPid) - cpu0
	res.selfCPU = cpuTime(os.Getpid()) - self0
	res.failed = failed.Load()
	if e := firstErr.Load(); e != nil {
		res.firstErr = e.(error)
	}
	var ok, okFirst, created, inProgress, msgCreated []time.Duration
	modelFirst := b.o.latency // the model's own first token comes after its latency
	for i := range added {
		if !bad[i] {
			ok = append(ok, added[i])
			okFirst = append(okFirst, firsts[i]-modelFirst)
			created = append(created, all[i].created)
			inProgress = append(inProgress, all[i].inProgress)
			msgCreated = append(msgCreated, all[i].msgCreated-modelFirst)
		}
	}
	res.created, res.inProgress, res.msgCreated = benchkit.Summarize(created), benchkit.Summarize(inProgress), benchkit.Summarize(msgCreated)
	res.added, res.firstDelta, res.control = benchkit.Summarize(ok), benchkit.Summarize(okFirst), benchkit.Summarize(control)
	res.relayed, res.relayCPU = benchkit.Summarize(relayed), relayCPU
	return res, nil
}

// controlBurst makes o.concurrent bare calls against base, started as (c)'s
// runs are, and returns each one's time minus bare.
func (b *bench) controlBurst(ctx context.Context, base string, bare time.Duration) ([]time.Duration, error) {
	took := make([]time.Duration, b.o.concurrent)
	var firstErr atomic.Value
	b.burst(func(i int) {
		_, total, err := b.callVia(ctx, base, false)
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		took[i] = total - bare
	})
	if e := firstErr.Load(); e != nil {
		return nil, e.(error)
	}
	return took, nil
}

// burst calls fn(i) for every i below o.concurrent, each from its own
// goroutine started at its offset from a common start, and waits for all.
func (b *bench) burst(fn func(i int)) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	var start time.Time
	for i := range b.o.concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			time.Sleep(time.Until(start.Add(b.offset(i))))
			fn(i)
		}()
	}
	start = time.Now()
	close(gate)
	wg.Wait()
}

// offset is when (c)'s i-th call starts after the burst's start.
func (b *bench) offset(i int) time.Duration {
	return b.o.ramp * time.Duration(i) / time.Duration(b.o.concurrent)
}

type pollResult struct{ lag, dur benchkit.Stats }

// poll runs bench/runs/poll.mjs, which calls createAndPoll sequentially
// and prints one JSON line per call.
func (b *bench) poll() (pollResult, string, error) {
	node, err := exec.LookPath(b.o.node)
	if err != nil {
		return pollResult{}, "no node executable", nil
	}
	pkg := filepath.Join(b.o.conformance, "node_modules", "openai", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return pollResult{}, "no " + pkg + " (cd test/conformance && npm ci)", nil
	}
	conf, err := filepath.Abs(b.o.conformance)
	if err != nil {
		return pollResult{}, "", err
	}
	fmt.Fprintln(os.Stderr, "(d) npm createAndPoll ...")
	ctx, cancel := context.WithTimeout(context.Background(), b.o.phaseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, b.o.pollScript)
	cmd.Env = append(os.Environ(),
		"BENCH_BASE_URL="+b.c.Base+"/v1", "BENCH_API_KEY="+b.c.Key, "BENCH_ASSISTANT_ID="+b.assistant,
		"BENCH_RUNS="+strconv.Itoa(b.o.pollRuns), "BENCH_USER_TEXT="+userText, "BENCH_CONFORMANCE_DIR="+conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return pollResult{}, "", fmt.Errorf("%s %s: %w\n%s", node, b.o.pollScript, err, stderr.String())
	}
	var lag, dur []time.Duration
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l struct {
			RunID   string  `json:"run_id"`
			Status  string  `json:"status"`
			StartMs float64 `json:"start_ms"`
			EndMs   float64 `json:"end_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return pollResult{}, "", fmt.Errorf("poll.mjs printed %q: %w", sc.Text(), err)
		}
		if l.Status != "completed" {
			return pollResult{}, "", fmt.Errorf("createAndPoll returned run %s %s", l.RunID, l.Status)
		}
		start, end := unixMs(l.StartMs), unixMs(l.EndMs)
		modelEnd, err := b.model.endWithin(start, end)
		if err != nil {
			return pollResult{}, "", err
		}
		lag = append(lag, end.Sub(modelEnd))
		dur = append(dur, end.Sub(start))
	}
	if len(lag) != b.o.pollRuns {
		return pollResult{}, "", fmt.Errorf("poll.mjs reported %d calls, want %d\n%s", len(lag), b.o.pollRuns, stderr.String())
	}
	return pollResult{lag: benchkit.Summarize(lag), dur: benchkit.Summarize(dur)}, "", nil
}

func unixMs(v float64) time.Time {
	return time.Unix(0, int64(v*float64(time.Millisecond)))
}

// readSSE calls fn with every event's name and data until fn returns false
// or the stream ends.
func readSSE(r io.Reader, fn func(event, data string) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
			continue
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if !fn(event, data) {
				return nil
			}
			event = ""
		}
	}
	return sc.Err()
}

// benchEnv is the environment without ASSISTD_* and OPENAI_*/ANTHROPIC_*
// settings, so the benchmark measures the defaults and reaches only the
// scripted model.
func benchEnv(extra ...string) []string {
	return benchkit.Env([]string{"ASSISTD_", "OPENAI_", "ANTHROPIC_"}, extra...)
}

// client is the API client with the poll helpers' retrieve.
type client struct{ benchkit.Client }

// doPoll is a run retrieve as the SDKs' poll helpers send it.
func (c *client) doPoll(path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if err != nil {
		return err
	}
	c.Header(req)
	req.Header.Set("X-Stainless-Poll-Helper", "true")
	return c.Send(req, out)
}

// cpuTime reads the user+system CPU time of process pid (0 when unknown),
// assuming the usual 100 clock ticks per second.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	return time.Duration(ut+st) * 10 * time.Millisecond
}
