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
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	pollRuns     int
	node         string
	conformance  string
	pollScript   string
	phaseTimeout time.Duration
	keep         bool
	check        bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.DurationVar(&o.latency, "latency", time.Second, "the scripted model's latency before its first byte")
	flag.Float64Var(&o.tps, "tps", 50, "the scripted model's tokens per second")
	flag.IntVar(&o.tokens, "tokens", 50, "tokens (words) in the scripted reply")
	flag.IntVar(&o.overheadRuns, "overhead-runs", 10, "sequential runs (and bare calls) measured for (a)")
	flag.IntVar(&o.ttftRuns, "ttft-runs", 30, "sequential streamed runs (and bare calls) measured for (b)")
	flag.IntVar(&o.warmup, "warmup", 2, "unmeasured runs before (a) and (b)")
	flag.IntVar(&o.concurrent, "concurrent", 1000, "concurrent streaming runs for (c); 0 skips (c)")
	flag.IntVar(&o.pollRuns, "poll-runs", 5, "sequential createAndPoll calls for (d); 0 skips (d)")
	flag.StringVar(&o.node, "node", "node", "node executable for (d)")
	flag.StringVar(&o.conformance, "conformance", "test/conformance", "directory whose node_modules holds the openai package")
	flag.StringVar(&o.pollScript, "poll-script", "bench/runs/poll.mjs", "the Node script of (d)")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 5*time.Minute, "bound of each phase")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.Parse()
	if o.latency < 0 || o.tps <= 0 || o.tokens < 1 || o.overheadRuns < 1 || o.ttftRuns < 1 ||
		o.warmup < 0 || o.concurrent < 0 || o.pollRuns < 0 || o.phaseTimeout <= 0 {
		fmt.Fprintln(os.Stderr, "runs: -tps, -tokens, -overhead-runs, -ttft-runs and -phase-timeout must be positive; the rest not negative")
		os.Exit(2)
	}
	code, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runs:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// report collects the table rows.
type report struct {
	rows [][4]string
	miss bool
}

func (r *report) row(name, target, measured string, ok *bool) {
	verdict := ""
	if ok != nil {
		verdict = "MISS"
		if *ok {
			verdict = "ok"
		} else {
			r.miss = true
		}
	}
	r.rows = append(r.rows, [4]string{name, target, measured, verdict})
}

func (r *report) print() {
	fmt.Printf("%-58s %-12s %-30s %s\n", "measure", "target", "measured", "")
	for _, row := range r.rows {
		fmt.Printf("%-58s %-12s %-30s %s\n", row[0], row[1], row[2], row[3])
	}
}

func ok(b bool) *bool { return &b }

func run(o options) (int, error) {
	raised := raiseNoFile()

	tmp, err := os.MkdirTemp("", "assistd-bench-runs-")
	if err != nil {
		return 1, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "assistd")
		fmt.Fprintln(os.Stderr, "building assistd ...")
		build := exec.Command("go", "build", "-o", bin, "github.com/assistd/assistd/cmd/assistd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return 1, fmt.Errorf("go build: %w", err)
		}
	}

	model, err := startModel(o)
	if err != nil {
		return 1, err
	}
	defer model.close()

	data := filepath.Join(tmp, "data")
	key, err := createKey(bin, data)
	if err != nil {
		return 1, err
	}
	srv, err := startServer(bin, data, model.base)
	if err != nil {
		return 1, err
	}
	defer srv.stop()
	fmt.Fprintf(os.Stderr, "server pid %d on %s, model on %s\n", srv.cmd.Process.Pid, srv.addr, model.base)

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
	c := &client{base: "http://" + srv.addr, key: key, http: httpc}
	var asst struct{ ID string }
	if err := c.do(http.MethodPost, "/v1/assistants", map[string]any{"model": modelName, "instructions": instructions}, &asst); err != nil {
		return 1, err
	}
	b := &bench{o: o, c: c, model: model, http: httpc, assistant: asst.ID}

	rep := &report{}
	load1 := loadAvg()

	// (a)
	a, err := b.overhead()
	if err != nil {
		return 1, fmt.Errorf("(a) overhead: %w", err)
	}
	ratio := float64(a.runs.p50) / float64(a.bare.p50)
	rep.row(fmt.Sprintf("(a) overhead ratio run/bare model call, p50 (n=%d)", o.overheadRuns),
		fmt.Sprintf("<= %.2f", targetOverheadRatio), fmt.Sprintf("%.4f", ratio), ok(ratio <= targetOverheadRatio))
	rep.row("    bare model call p50 / max", "", fmt.Sprintf("%s / %s", ms(a.bare.p50), ms(a.bare.max)), nil)
	rep.row("    create -> completed (polled) p50 / max", "", fmt.Sprintf("%s / %s", ms(a.runs.p50), ms(a.runs.max)), nil)
	rep.row("    model reply end -> poll returns p50 / max", "", fmt.Sprintf("%s / %s", ms(a.lag.p50), ms(a.lag.max)), nil)

	// (b)
	t, err := b.ttft()
	if err != nil {
		return 1, fmt.Errorf("(b) first token: %w", err)
	}
	rep.row(fmt.Sprintf("(b) added time to first token p50 (n=%d)", o.ttftRuns),
		"<= "+ms(targetAddedTTFT), ms(t.added.p50), ok(t.added.p50 <= targetAddedTTFT))
	rep.row("    added time to first token p99", "", ms(t.added.p99), nil)
	rep.row("    model's own first token p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.model.p50), ms(t.model.p99)), nil)
	rep.row("    via assistd first delta p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.runs.p50), ms(t.runs.p99)), nil)
	rep.row("    streamed run end-to-end minus bare call p50 / p99", "", fmt.Sprintf("%s / %s", ms(t.total.p50), ms(t.total.p99)), nil)

	hwmBefore, err := peakRSS(srv.cmd.Process.Pid)
	if err != nil {
		return 1, err
	}

	// (c)
	if o.concurrent > 0 {
		b.serverPid = srv.cmd.Process.Pid
		cc, err := b.concurrent(a.bare.p50)
		if err != nil {
			return 1, fmt.Errorf("(c) concurrent: %w", err)
		}
		hwm, err := peakRSS(srv.cmd.Process.Pid)
		if err != nil {
			return 1, err
		}
		n := o.concurrent
		rep.row(fmt.Sprintf("(c) %d concurrent streaming runs: failed", n), "0",
			fmt.Sprintf("%d (of %d)", cc.failed, n), ok(cc.failed == 0))
		if cc.firstErr != nil {
			fmt.Fprintln(os.Stderr, "(c) first failure:", cc.firstErr)
		}
		rep.row("    added latency p99 (stream time - bare call)", "<= "+ms(targetConcurrentP99), ms(cc.added.p99),
			ok(cc.failed == 0 && cc.added.p99 <= targetConcurrentP99))
		rep.row("    added latency p50 / max", "", fmt.Sprintf("%s / %s", ms(cc.added.p50), ms(cc.added.max)), nil)
		rep.row("    added first-token latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.firstDelta.p50), ms(cc.firstDelta.p99)), nil)
		rep.row("    send -> thread.run.created p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.created.p50), ms(cc.created.p99)), nil)
		rep.row("    send -> thread.run.in_progress p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.inProgress.p50), ms(cc.inProgress.p99)), nil)
		rep.row("    send -> thread.message.created - latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(cc.msgCreated.p50), ms(cc.msgCreated.p99)), nil)
		rep.row("    control: bare model calls at the same concurrency p50/p99", "",
			fmt.Sprintf("%s / %s", ms(cc.control.p50), ms(cc.control.p99)), nil)
		rep.row("    wall time of the burst", "", ms(cc.wall), nil)
		rep.row("    CPU time in it: server / this process (model+clients)", "", fmt.Sprintf("%s / %s", ms(cc.serverCPU), ms(cc.selfCPU)), nil)
		rep.row("    peak RSS of the server (VmHWM)", "", mib(hwm), nil)
	}
	rep.row("peak RSS of the server before (c)", "", mib(hwmBefore), nil)

	// (d)
	if o.pollRuns > 0 {
		d, why, err := b.poll()
		switch {
		case err != nil:
			return 1, fmt.Errorf("(d) createAndPoll: %w", err)
		case why != "":
			rep.row("(d) npm createAndPoll", "", "skipped: "+why, nil)
		default:
			rep.row(fmt.Sprintf("(d) npm createAndPoll: model end -> return max (n=%d)", o.pollRuns),
				"<= "+ms(targetPollLag), ms(d.lag.max), ok(d.lag.max <= targetPollLag))
			rep.row("    model end -> createAndPoll returns p50", "", ms(d.lag.p50), nil)
			rep.row("    createAndPoll duration p50 / max", "", fmt.Sprintf("%s / %s", ms(d.dur.p50), ms(d.dur.max)), nil)
			rep.row("    createAndPoll duration / bare model call, p50", "", fmt.Sprintf("%.4f", float64(d.dur.p50)/float64(a.bare.p50)), nil)
		}
	}

	fmt.Printf("\nassistd runs benchmark (SQLite, %s; model: %s latency, %.0f tokens/s, %d-token reply)\n",
		srv.addr, o.latency, o.tps, o.tokens)
	fmt.Printf("machine: %d CPUs, load average %s at start, %s at end; open files limit %s\n\n",
		runtime.NumCPU(), load1, loadAvg(), raised)
	rep.print()
	fmt.Println()
	if o.check && rep.miss {
		return 1, nil
	}
	return 0, nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// raiseNoFile lifts the soft open-files limit to the hard one (children
// inherit it) and describes the result.
func raiseNoFile() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "unknown"
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			fmt.Fprintln(os.Stderr, "raising the open files limit:", err)
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
		}
	}
	return strconv.FormatUint(l.Cur, 10)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// stats summarises samples (nearest-rank percentiles).
type stats struct {
	n                  int
	p50, p99, max, min time.Duration
}

func summarize(samples []time.Duration) stats {
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s) == 0 {
		return stats{}
	}
	return stats{n: len(s), p50: percentile(s, 0.50), p99: percentile(s, 0.99), max: s[len(s)-1], min: s[0]}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

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
	body, _ := json.Marshal(map[string]any{
		"model": modelName, "stream": true, "stream_options": map[string]any{"include_usage": true},
		"messages": []map[string]any{{"role": "system", "content": instructions}, {"role": "user", "content": userText}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.model.base+"/v1/chat/completions", bytes.NewReader(body))
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
	err := b.c.do(http.MethodPost, "/v1/threads", map[string]any{
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
	if err := b.c.do(http.MethodPost, "/v1/threads/"+thread+"/runs", map[string]any{"assistant_id": b.assistant}, &r); err != nil {
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

type overheadResult struct{ bare, runs, lag stats }

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
	return overheadResult{bare: summarize(bare), runs: summarize(runs), lag: summarize(lag)}, nil
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.c.base+"/v1/threads/"+thread+"/runs", bytes.NewReader(body))
	if err != nil {
		return sr, err
	}
	b.c.header(req)
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

type ttftResult struct{ model, runs, added, total stats }

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
	m, mt := summarize(modelFirst), summarize(modelTotal)
	added := make([]time.Duration, len(runFirst))
	extra := make([]time.Duration, len(runTotal))
	for i := range runFirst {
		added[i] = runFirst[i] - m.p50
		extra[i] = runTotal[i] - mt.p50
	}
	return ttftResult{model: m, runs: summarize(runFirst), added: summarize(added), total: summarize(extra)}, nil
}

type concurrentResult struct {
	failed     int64
	firstErr   error
	added      stats
	firstDelta stats
	control    stats
	wall       time.Duration
	serverCPU  time.Duration // user+system time the server used during the burst
	selfCPU    time.Duration // and this process (model server and clients)
	// Where the time goes: send -> run created, -> in_progress, and
	// message created minus the model's first token.
	created, inProgress, msgCreated stats
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
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
	wg.Wait()
	if e := createErr.Load(); e != nil {
		return concurrentResult{}, e.(error)
	}

	// Control: the model server and this client alone at the same
	// concurrency.
	fmt.Fprintf(os.Stderr, "(c) %d concurrent bare model calls ...\n", n)
	control := make([]time.Duration, n)
	var controlErr atomic.Value
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, total, err := b.bareCall(ctx, false)
			if err != nil {
				controlErr.CompareAndSwap(nil, err)
				return
			}
			control[i] = total - bare
		}()
	}
	close(gate)
	wg.Wait()
	if e := controlErr.Load(); e != nil {
		return concurrentResult{}, fmt.Errorf("control burst: %w", e.(error))
	}

	fmt.Fprintf(os.Stderr, "(c) %d concurrent streaming runs ...\n", n)
	var res concurrentResult
	var failed atomic.Int64
	var firstErr atomic.Value
	added := make([]time.Duration, n)
	firsts := make([]time.Duration, n)
	all := make([]streamedRun, n)
	bad := make([]bool, n)
	gate = make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			sr, err := b.streamRun(ctx, threads[i])
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				bad[i] = true
				return
			}
			added[i] = sr.total - bare
			firsts[i] = sr.firstDelta
			all[i] = sr
		}()
	}
	cpu0, self0 := cpuTime(b.serverPid), cpuTime(os.Getpid())
	t0 := time.Now()
	close(gate)
	wg.Wait()
	res.wall = time.Since(t0)
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
	res.created, res.inProgress, res.msgCreated = summarize(created), summarize(inProgress), summarize(msgCreated)
	res.added, res.firstDelta, res.control = summarize(ok), summarize(okFirst), summarize(control)
	return res, nil
}

type pollResult struct{ lag, dur stats }

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
		"BENCH_BASE_URL="+b.c.base+"/v1", "BENCH_API_KEY="+b.c.key, "BENCH_ASSISTANT_ID="+b.assistant,
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
	return pollResult{lag: summarize(lag), dur: summarize(dur)}, "", nil
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

// createKey runs `assistd keys create`, which prints only the key.
func createKey(bin, data string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "keys", "create", "--data", data, "--project", "bench")
	cmd.Stderr = &stderr
	cmd.Env = benchEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("keys create: %w\n%s", err, stderr.String())
	}
	key := strings.TrimSpace(string(out))
	if !strings.HasPrefix(key, "sk-") {
		return "", fmt.Errorf("keys create printed %q", out)
	}
	return key, nil
}

// benchEnv is the environment without ASSISTD_* and OPENAI_*/ANTHROPIC_*
// settings, so the benchmark measures the defaults and reaches only the
// scripted model.
func benchEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASSISTD_") && !strings.HasPrefix(kv, "OPENAI_") && !strings.HasPrefix(kv, "ANTHROPIC_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type server struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

var readyAddr = regexp.MustCompile(`msg=ready addr=(\S+)`)

func startServer(bin, data, modelBase string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = benchEnv("OPENAI_BASE_URL="+modelBase+"/v1", "OPENAI_API_KEY=sk-bench")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() { // keep draining so the server never blocks on stderr
			mu.Lock()
			if logs.Len() < 64<<10 {
				logs.WriteString(sc.Text() + "\n")
			}
			mu.Unlock()
			if m := readyAddr.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.addr = <-ready:
		return s, nil
	case <-s.exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-s.exited
	}
	mu.Lock()
	defer mu.Unlock()
	return nil, fmt.Errorf("server did not become ready:\n%s", logs.String())
}

// stop sends SIGTERM and waits (bounded) for the exit.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

type client struct {
	base string
	key  string
	http *http.Client
}

func (c *client) header(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
}

// do sends one JSON request and decodes the answer into out when out is
// non-nil. A status other than 200 is an error.
func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	c.header(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

// doPoll is a run retrieve as the SDKs' poll helpers send it.
func (c *client) doPoll(path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	c.header(req)
	req.Header.Set("X-Stainless-Poll-Helper", "true")
	return c.send(req, out)
}

func (c *client) send(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
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

// peakRSS reads the process's high-water resident set size in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc status")
}
