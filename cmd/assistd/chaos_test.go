package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/store/postgres/pgtest"
)

// The chaos test runs three `assistd serve` replicas on one PostgreSQL
// schema and drives runs through all of them while replicas are SIGKILLed
// and restarted (on new ports) at random moments. Whatever the client sees
// — a stream cut short, a request refused, a response lost — every run must
// end terminal, with every message and step exactly once, and files and a
// vector store made before the chaos must be whole on every replica.

const (
	chaosReplicas = 3
	chaosRuns     = 100
	chaosWorkers  = 16
	chaosKills    = 6
	chaosLease    = "2s"
	chaosLatency  = 300 * time.Millisecond
	chaosTPS      = 40.0
	// chaosWords is the length of every scripted answer's tail; at chaosTPS
	// a reply streams for about 0.3 s after chaosLatency.
	chaosWords = 12
	// chaosBudget bounds the whole test after the replicas are up.
	chaosBudget = 75 * time.Second
	// chaosLostWait is how long the client waits after a request whose
	// answer was lost before it looks whether the request took effect: a
	// COMMIT a killed replica had already sent is still applied by
	// PostgreSQL, a moment later.
	chaosLostWait = 500 * time.Millisecond
)

var chaosTail = func() string {
	w := make([]string, chaosWords)
	for i := range w {
		w[i] = fmt.Sprintf("c%d", i)
	}
	return strings.Join(w, " ")
}()

// chaosScript: a run whose assistant offers get_weather calls it first and
// answers from its result; every other run answers at once.
func chaosScript() *modelstub.Script {
	return &modelstub.Script{
		Rules: []modelstub.Rule{
			{
				Match: modelstub.Match{ToolAvailable: "get_weather", LastRole: "user"},
				Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"{{last_user}}"}`)}}},
			},
			{
				Match: modelstub.Match{LastRole: "tool"},
				Reply: modelstub.Reply{Text: "Weather: {{last_tool_result}}. " + chaosTail},
			},
		},
		Default: &modelstub.Reply{Text: "Answer to {{last_user}}: " + chaosTail},
	}
}

// chaosTask is one of the runs the test drives.
type chaosTask struct {
	i        int
	tool     bool // the assistant offers get_weather: requires_action, then submit_tool_outputs
	streamed bool
	user     string

	thread     string
	run        string
	output     string // the tool output submitted
	final      chaosRunObj
	took       time.Duration // from the run's creation to its end
	broken     int           // streams cut short
	lostWrites int           // writes whose answer was lost
}

func (k *chaosTask) wantReply() string {
	if k.tool {
		return "Weather: " + k.output + ". " + chaosTail
	}
	return "Answer to " + k.user + ": " + chaosTail
}

type chaosRunObj struct {
	ID             string `json:"id"`
	ThreadID       string `json:"thread_id"`
	Status         string `json:"status"`
	RequiredAction *struct {
		SubmitToolOutputs struct {
			ToolCalls []chaosToolCall `json:"tool_calls"`
		} `json:"submit_tool_outputs"`
	} `json:"required_action"`
	LastError *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"last_error"`
}

type chaosToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string  `json:"name"`
		Arguments string  `json:"arguments"`
		Output    *string `json:"output"`
	} `json:"function"`
}

type chaosMessage struct {
	ID       string  `json:"id"`
	ThreadID string  `json:"thread_id"`
	Role     string  `json:"role"`
	Status   string  `json:"status"`
	RunID    *string `json:"run_id"`
	Content  []struct {
		Type string `json:"type"`
		Text *struct {
			Value string `json:"value"`
		} `json:"text"`
	} `json:"content"`
}

func (m *chaosMessage) text() string {
	var s string
	for _, p := range m.Content {
		if p.Type == "text" && p.Text != nil {
			s += p.Text.Value
		}
	}
	return s
}

type chaosStep struct {
	ID          string `json:"id"`
	RunID       string `json:"run_id"`
	ThreadID    string `json:"thread_id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	CompletedAt *int64 `json:"completed_at"`
	StepDetails struct {
		MessageCreation *struct {
			MessageID string `json:"message_id"`
		} `json:"message_creation"`
		ToolCalls []chaosToolCall `json:"tool_calls"`
	} `json:"step_details"`
}

type chaosPage[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// chaosCluster is the replicas and where they listen now. A replica is
// marked down before it is killed, so that no request is sent to a port a
// dead replica left (another process may take it).
type chaosCluster struct {
	t    *testing.T
	env  []string
	args [chaosReplicas][]string

	mu      sync.Mutex
	servers [chaosReplicas]*server
	up      [chaosReplicas]bool
	rr      atomic.Uint64
}

func (c *chaosCluster) start(i int) {
	s := startServer(c.t, c.env, c.args[i]...)
	c.mu.Lock()
	c.servers[i], c.up[i] = s, true
	c.mu.Unlock()
}

// kill marks replica i down and SIGKILLs it.
func (c *chaosCluster) kill(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.up[i] = false
	c.mu.Unlock()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill replica %d: %v", i, err)
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("replica %d still running 10s after SIGKILL", i)
	}
}

// base is the address of replica prefer when it is up, else of the next one
// up; ok is false when none is.
func (c *chaosCluster) base(prefer int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d := range chaosReplicas {
		i := (prefer + d) % chaosReplicas
		if c.up[i] {
			return "http://" + c.servers[i].addr, true
		}
	}
	return "", false
}

// next is the next replica round-robin.
func (c *chaosCluster) next() int { return int(c.rr.Add(1) % chaosReplicas) }

func (c *chaosCluster) upCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, u := range c.up {
		if u {
			n++
		}
	}
	return n
}

// chaosClient sends requests to the cluster. Transport errors (a killed
// replica) come back as errors; what to do about them is the caller's
// business, since only the caller knows whether the request is idempotent.
type chaosClient struct {
	cl   *chaosCluster
	key  string
	http *http.Client // bounded requests
	long *http.Client // streams: bounded by their context only
	// hungUp counts the requests sendLossy abandoned before their answer.
	hungUp atomic.Int64
	// slow is called once for a run still not finished chaosSlow after
	// its creation, to log what the database says of it.
	slow func(*chaosTask)
	// hangUpCreates makes the client hang up on run creates too, not only
	// on tool output submissions: a create whose client left while it
	// committed must still be started and queued.
	hangUpCreates bool
}

const (
	// chaosSlow is far more than a run needs even when taken over twice
	// (a lease of 2 s each time, then under a second of model time); a run
	// slower than chaosMaxRun fails the test.
	chaosSlow   = 20 * time.Second
	chaosMaxRun = 30 * time.Second
)

var errNoReplica = errors.New("no replica is up")

type chaosResp struct {
	code int
	body []byte
}

func (c *chaosClient) send(ctx context.Context, replica int, method, path string, body []byte, header ...string) (chaosResp, error) {
	base, ok := c.cl.base(replica)
	if !ok {
		return chaosResp{}, errNoReplica
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return chaosResp{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return chaosResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return chaosResp{}, err
	}
	return chaosResp{resp.StatusCode, b}, nil
}

// sendLossy is send, except that now and then (1 in 5) the client hangs up
// 1-12 ms after sending, as a client whose connection breaks would: the
// server may or may not have acted on the request, and the caller must find
// out which. It is used only where the server itself refuses a second copy
// (one active run per thread, tool outputs once), since a server still
// working on the first copy may commit it after the caller looked.
func (c *chaosClient) sendLossy(ctx context.Context, replica int, method, path string, body []byte) (chaosResp, error) {
	if rand.IntN(5) != 0 {
		return c.send(ctx, replica, method, path, body)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := time.AfterFunc(time.Duration(1+rand.IntN(12))*time.Millisecond, cancel)
	defer t.Stop()
	r, err := c.send(rctx, replica, method, path, body)
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		c.hungUp.Add(1)
	}
	return r, err
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// read sends an idempotent request, on the next replica each time, until
// one answers (a 5xx counts as not answering), and decodes a 200's body into
// out. Another status is an error.
func (c *chaosClient) read(ctx context.Context, path string, out any, header ...string) error {
	for {
		r, err := c.send(ctx, c.cl.next(), http.MethodGet, path, nil, header...)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("GET %s: %w (last: %v)", path, ctx.Err(), err)
		case err != nil || r.code >= 500:
			if err := pause(ctx, 50*time.Millisecond); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			continue
		case r.code != http.StatusOK:
			return fmt.Errorf("GET %s: %d %s", path, r.code, r.body)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(r.body, out); err != nil {
			return fmt.Errorf("GET %s: decoding %s: %w", path, r.body, err)
		}
		return nil
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// write sends a non-idempotent request to replica prefer (or the next one
// up). When its answer is lost, took reports whether it took effect
// (after chaosLostWait); if it did, write returns lost=true with no body,
// otherwise it sends the request again to another replica. A status other
// than 200 is returned as it is.
func (c *chaosClient) write(ctx context.Context, k *chaosTask, prefer int, path string, body any,
	took func() (bool, error)) (r chaosResp, lost bool, err error) {
	b := mustJSON(body)
	for attempt := 0; ; attempt++ {
		r, err := c.send(ctx, prefer+attempt, http.MethodPost, path, b)
		if err == nil {
			return r, false, nil // an answer, whatever its status: the caller decides
		}
		if ctx.Err() != nil {
			return chaosResp{}, false, fmt.Errorf("POST %s: %w (last: %v)", path, ctx.Err(), err)
		}
		k.lostWrites++
		if err := pause(ctx, chaosLostWait); err != nil {
			return chaosResp{}, false, err
		}
		done, err := took()
		if err != nil {
			return chaosResp{}, false, err
		}
		if done {
			return chaosResp{}, true, nil
		}
	}
}

// chaosEvent is what a run stream said before it ended.
type chaosEvent struct {
	runID   string
	status  string // of the last thread.run.* event
	done    bool   // event: done arrived
	calls   []chaosToolCall
	created bool
}

// stream POSTs a stream:true request to replica prefer and reads its
// events until done or until the stream breaks (the replica died). A
// connection refused before any event is an error for the caller to retry.
func (c *chaosClient) stream(ctx context.Context, prefer int, path string, body any) (chaosEvent, int, error) {
	var ev chaosEvent
	base, ok := c.cl.base(prefer)
	if !ok {
		return ev, 0, errNoReplica
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(mustJSON(body)))
	if err != nil {
		return ev, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.long.Do(req)
	if err != nil {
		return ev, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return ev, resp.StatusCode, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	event := ""
	var badLine error
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
			if event == "done" {
				ev.done = true
			}
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || !strings.HasPrefix(event, "thread.run.") || strings.HasPrefix(event, "thread.run.step") {
			continue
		}
		var r chaosRunObj
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			// Only the last line of a cut stream may be partial.
			badLine = fmt.Errorf("%s %s: %v", event, data, err)
			continue
		}
		ev.runID, ev.status = r.ID, r.Status
		ev.created = ev.created || event == "thread.run.created"
		if r.RequiredAction != nil {
			ev.calls = r.RequiredAction.SubmitToolOutputs.ToolCalls
		}
	}
	if badLine != nil && ev.done {
		return ev, resp.StatusCode, badLine
	}
	return ev, resp.StatusCode, nil // a read error is a cut stream: ev says how far it got
}

var chaosTerminal = map[string]bool{"completed": true, "failed": true, "cancelled": true, "expired": true, "incomplete": true}

// drive takes task k from a fresh thread to a terminal run. Each step goes
// to another replica than the one before.
func (c *chaosClient) drive(ctx context.Context, k *chaosTask, asst string) error {
	r0 := k.i % chaosReplicas

	// The thread, on one replica. A thread whose creation answer was lost
	// is left behind: nothing refers to it.
	for attempt := 0; k.thread == ""; attempt++ {
		r, err := c.send(ctx, r0+attempt, http.MethodPost, "/v1/threads", []byte(`{}`))
		if ctx.Err() != nil {
			return fmt.Errorf("create thread: %w", ctx.Err())
		}
		if err != nil || r.code >= 500 {
			if err := pause(ctx, 50*time.Millisecond); err != nil {
				return fmt.Errorf("create thread: %w", err)
			}
			continue
		}
		var th struct{ ID string }
		if r.code != http.StatusOK || json.Unmarshal(r.body, &th) != nil || th.ID == "" {
			return fmt.Errorf("create thread: %d %s", r.code, r.body)
		}
		k.thread = th.ID
	}

	// The user message, on the next replica.
	r, lost, err := c.write(ctx, k, r0+1, "/v1/threads/"+k.thread+"/messages",
		map[string]any{"role": "user", "content": k.user},
		func() (bool, error) {
			var ml chaosPage[chaosMessage]
			if err := c.read(ctx, "/v1/threads/"+k.thread+"/messages?limit=100", &ml); err != nil {
				return false, err
			}
			return len(ml.Data) > 0, nil
		})
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	if !lost && r.code != http.StatusOK {
		return fmt.Errorf("create message: %d %s", r.code, r.body)
	}

	// The run, on the next one: streamed or not.
	var calls []chaosToolCall
	for attempt := 0; k.run == ""; attempt++ {
		if err := c.createRun(ctx, k, r0+2+attempt, asst, &calls); err != nil {
			return err
		}
	}

	// Then polls (each on the next replica round-robin) and tool outputs
	// until the run ends.
	path := "/v1/threads/" + k.thread + "/runs/" + k.run
	since, reported := time.Now(), false
	for {
		if !reported && time.Since(since) > chaosSlow && c.slow != nil {
			reported = true
			c.slow(k)
		}
		if len(calls) == 0 {
			var run chaosRunObj
			if err := c.read(ctx, path, &run, "X-Stainless-Poll-Helper", "true"); err != nil {
				return err
			}
			if chaosTerminal[run.Status] {
				k.final, k.took = run, time.Since(since)
				return nil
			}
			if run.Status != "requires_action" || run.RequiredAction == nil {
				continue
			}
			calls = run.RequiredAction.SubmitToolOutputs.ToolCalls
		}
		if err := c.submit(ctx, k, calls); err != nil {
			return err
		}
		calls = nil
	}
}

// createRun makes one attempt at creating k's run on replica prefer. It
// sets k.run once the run exists (whether or not its answer arrived), and
// calls to the tool calls a stream ended on.
func (c *chaosClient) createRun(ctx context.Context, k *chaosTask, prefer int, asst string, calls *[]chaosToolCall) error {
	path := "/v1/threads/" + k.thread + "/runs"
	// adopt looks for the run an attempt may have made.
	adopt := func() error {
		if err := pause(ctx, chaosLostWait); err != nil {
			return err
		}
		var rl chaosPage[chaosRunObj]
		if err := c.read(ctx, path+"?limit=100", &rl); err != nil {
			return err
		}
		switch len(rl.Data) {
		case 0:
		case 1:
			k.run = rl.Data[0].ID
		default:
			return fmt.Errorf("thread %s has %d runs after lost creates, want 1", k.thread, len(rl.Data))
		}
		return nil
	}
	if !k.streamed {
		body := mustJSON(map[string]any{"assistant_id": asst})
		var r chaosResp
		var err error
		if c.hangUpCreates {
			r, err = c.sendLossy(ctx, prefer, http.MethodPost, path, body)
		} else {
			r, err = c.send(ctx, prefer, http.MethodPost, path, body)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("create run: %w", ctx.Err())
		}
		if err != nil || r.code >= 500 {
			k.lostWrites++
			return adopt()
		}
		var run chaosRunObj
		if r.code == http.StatusBadRequest && strings.Contains(string(r.body), "active run") {
			return adopt() // an earlier attempt did make it
		}
		if r.code != http.StatusOK || json.Unmarshal(r.body, &run) != nil || run.ID == "" {
			return fmt.Errorf("create run: %d %s", r.code, r.body)
		}
		k.run = run.ID
		return nil
	}
	ev, code, err := c.stream(ctx, prefer, path, map[string]any{"assistant_id": asst, "stream": true})
	if ctx.Err() != nil {
		return fmt.Errorf("create streamed run: %w", ctx.Err())
	}
	switch {
	case code == 0: // refused or cut before the answer's head
		k.lostWrites++
		return adopt()
	case code == http.StatusBadRequest && strings.Contains(err.Error(), "active run"):
		return adopt() // an earlier attempt did make it
	case code != http.StatusOK || err != nil:
		return fmt.Errorf("create streamed run: %d %v", code, err)
	}
	if ev.runID == "" {
		k.broken++
		return adopt()
	}
	k.run = ev.runID
	if !ev.done {
		k.broken++
		return nil // polls take over
	}
	if ev.status == "requires_action" {
		*calls = ev.calls
	}
	return nil
}

// submit answers the run's tool calls, streaming when k is streamed. An
// answer that is lost is checked against the run: when it no longer waits
// for these calls, the outputs went in.
func (c *chaosClient) submit(ctx context.Context, k *chaosTask, calls []chaosToolCall) error {
	outs := make([]map[string]string, 0, len(calls))
	for _, tc := range calls {
		var args struct{ City string }
		if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil || tc.Function.Name != "get_weather" {
			return fmt.Errorf("tool call %+v: %v", tc, err)
		}
		k.output = "sunny over " + args.City
		outs = append(outs, map[string]string{"tool_call_id": tc.ID, "output": k.output})
	}
	path := "/v1/threads/" + k.thread + "/runs/" + k.run
	pending := func() (bool, error) {
		var run chaosRunObj
		if err := c.read(ctx, path, &run); err != nil {
			return false, err
		}
		return run.Status == "requires_action" && run.RequiredAction != nil &&
			slices.EqualFunc(run.RequiredAction.SubmitToolOutputs.ToolCalls, calls, func(a, b chaosToolCall) bool { return a.ID == b.ID }), nil
	}
	for attempt := 0; ; attempt++ {
		replica := c.cl.next()
		var code int
		var err error
		var body string
		if k.streamed {
			var ev chaosEvent
			ev, code, err = c.stream(ctx, replica, path+"/submit_tool_outputs", map[string]any{"tool_outputs": outs, "stream": true})
			if err == nil && !ev.done {
				k.broken++
			}
			if err != nil {
				body = err.Error()
			}
		} else {
			var r chaosResp
			r, err = c.sendLossy(ctx, replica, http.MethodPost, path+"/submit_tool_outputs", mustJSON(map[string]any{"tool_outputs": outs}))
			code, body = r.code, string(r.body)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("submit tool outputs: %w", ctx.Err())
		}
		if code == http.StatusOK {
			return nil // the polls follow the run from here
		}
		if code != 0 && code < 500 && code != http.StatusBadRequest {
			return fmt.Errorf("submit tool outputs: %d %s", code, body)
		}
		// Lost, refused or 400 (not waiting any more): did an earlier
		// attempt go in?
		k.lostWrites++
		if err := pause(ctx, chaosLostWait); err != nil {
			return err
		}
		still, err := pending()
		if err != nil {
			return err
		}
		if !still {
			return nil
		}
		if code == http.StatusBadRequest {
			return fmt.Errorf("submit tool outputs: 400 %s while the run waits for them", body)
		}
	}
}

// chaosUpload uploads content as name to replica i (before the chaos, so
// any failure is one).
func (c *chaosClient) upload(t *testing.T, replica int, name string, content []byte) string {
	t.Helper()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("purpose", "assistants")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	base, _ := c.cl.base(replica)
	code, body, _ := do(t, http.MethodPost, base+"/v1/files", c.key, &form, "Content-Type", mw.FormDataContentType())
	var f struct{ ID string }
	if code != http.StatusOK || json.Unmarshal(body, &f) != nil || f.ID == "" {
		t.Fatalf("upload %s: %d %s", name, code, body)
	}
	return f.ID
}

func TestChaosReplicas(t *testing.T) {
	t.Parallel()
	dbURL, _ := pgtest.NewSchema(t) // skips (or fails) without PostgreSQL

	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("seed %d", seed)

	stub := modelstub.New(chaosScript(), modelstub.Options{Latency: chaosLatency, TokensPerSecond: chaosTPS})
	model := httptest.NewServer(stub)
	t.Cleanup(model.Close)
	t.Cleanup(stub.Close) // runs first: ends paced replies so model.Close does not wait

	cl := &chaosCluster{t: t, env: []string{"OPENAI_BASE_URL=" + model.URL + "/v1", "OPENAI_API_KEY=sk-stub"}}
	dir := t.TempDir()
	for i := range chaosReplicas {
		cl.args[i] = []string{"--listen", "127.0.0.1:0", "--data", filepath.Join(dir, fmt.Sprint("r", i)),
			"--database", dbURL, "--run-lease", chaosLease, "--shutdown-timeout", "1s"}
	}
	cl.start(0)
	key := cl.servers[0].printedKey()
	if key == "" {
		t.Fatalf("the first replica printed no key\n%s", cl.servers[0].logs())
	}
	for i := 1; i < chaosReplicas; i++ {
		cl.start(i)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * chaosWorkers}
	t.Cleanup(tr.CloseIdleConnections)
	c := &chaosClient{cl: cl, key: key, http: &http.Client{Transport: tr, Timeout: 20 * time.Second}, long: &http.Client{Transport: tr},
		slow: func(k *chaosTask) { chaosDiagnose(t, dbURL, k) }, hangUpCreates: true}

	ctx, cancel := context.WithTimeout(context.Background(), chaosBudget)
	defer cancel()

	// Assistants (one offering the function tool) and, before the chaos,
	// files on different replicas and a vector store of the text ones.
	var plain, tooled struct{ ID string }
	mustWrite := func(replica int, path string, body any, out any) {
		r, err := c.send(ctx, replica, http.MethodPost, path, mustJSON(body))
		if err != nil || r.code != http.StatusOK || json.Unmarshal(r.body, out) != nil {
			t.Fatalf("POST %s: %v %d %s", path, err, r.code, r.body)
		}
	}
	mustWrite(0, "/v1/assistants", map[string]any{"model": "gpt-4o", "instructions": "Be brief."}, &plain)
	mustWrite(1, "/v1/assistants", map[string]any{"model": "gpt-4o", "instructions": "Use tools.", "tools": []any{map[string]any{
		"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}}, &tooled)

	words := []string{"quokkaflux", "zephyrgrain", "marmotquill"}
	files := map[string][]byte{} // id -> content
	var storeFiles []string
	for i, w := range words {
		content := fmt.Appendf(nil, "Chaos file %d.\n\nThe %s is mentioned only in this file, about replicas and leases.\n", i, w)
		id := c.upload(t, i, fmt.Sprintf("chaos%d.txt", i), content)
		files[id] = content
		storeFiles = append(storeFiles, id)
	}
	// A binary file over pgblob's 1 MiB chunk size.
	bin := make([]byte, 3<<19+7)
	for i := range bin {
		bin[i] = byte(rnd.Uint32())
	}
	files[c.upload(t, 2, "chaos.bin", bin)] = bin
	var vs struct{ ID string }
	mustWrite(1, "/v1/vector_stores", map[string]any{"name": "chaos", "file_ids": storeFiles}, &vs)

	tasks := make([]*chaosTask, chaosRuns)
	for i := range tasks {
		tasks[i] = &chaosTask{i: i, tool: i%4 == 0, streamed: i%10 == 1 || i%10 == 4 || i%10 == 7,
			user: fmt.Sprintf("question %d", i)}
	}

	// The workers; the test's Cleanup waits for them, so none logs after
	// the test ends even when the test fails early.
	queue := make(chan *chaosTask, chaosRuns)
	for _, k := range tasks {
		queue <- k
	}
	close(queue)
	var started, finished atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range chaosWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range queue {
				started.Add(1)
				asst := plain.ID
				if k.tool {
					asst = tooled.ID
				}
				if err := c.drive(ctx, k, asst); err != nil {
					t.Errorf("run %d (thread %s, run %s): %v", k.i, k.thread, k.run, err)
				}
				finished.Add(1)
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	// The chaos: SIGKILL a random replica at a random moment, restart it
	// (a new port) a moment later, while runs are under way.
	waitFor(t, 20*time.Second, "the first runs", func() bool { return started.Load() >= chaosWorkers })
	kills := 0
chaos:
	for kills < chaosKills {
		select {
		case <-allDone:
			break chaos
		case <-time.After(time.Duration(500+rnd.IntN(1000)) * time.Millisecond):
		}
		victim := rnd.IntN(chaosReplicas)
		before := cl.servers[victim].addr
		cl.kill(victim)
		kills++
		t.Logf("killed replica %d (%s) with %d runs finished, %d up", victim, before, finished.Load(), cl.upCount())
		time.Sleep(time.Duration(rnd.IntN(700)) * time.Millisecond)
		cl.start(victim)
		t.Logf("replica %d back on %s", victim, cl.servers[victim].addr)
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		wg.Wait()
		for _, k := range tasks {
			if k.final.Status == "" && k.run != "" {
				chaosDiagnose(t, dbURL, k)
			}
		}
		t.Fatalf("runs still going after %v: %d of %d finished", chaosBudget, finished.Load(), chaosRuns)
	}
	if t.Failed() {
		return
	}
	// The first kill comes within about 2 s of the start, and the runs it
	// interrupts wait at least a lease (2 s) to be taken over, so a second
	// kill always finds runs under way.
	if kills < 2 {
		t.Errorf("only %d kills happened before the runs finished; the chaos was too slow to matter", kills)
	}

	// Every run ended: completed, or failed only for having been
	// interrupted more often than the engine allows.
	completed, abandoned, broken, lost := 0, 0, 0, 0
	for _, k := range tasks {
		broken += k.broken
		lost += k.lostWrites
		switch {
		case k.final.Status == "completed":
			completed++
		case k.final.Status == "failed" && k.final.LastError != nil && k.final.LastError.Code == "server_error" &&
			strings.Contains(k.final.LastError.Message, "interrupted"):
			abandoned++
			t.Logf("run %d (%s, tool %v, streamed %v) abandoned: %s", k.i, k.run, k.tool, k.streamed, k.final.LastError.Message)
		default:
			t.Errorf("run %d (%s) ended %s (last_error %+v)", k.i, k.run, k.final.Status, k.final.LastError)
		}
	}
	calls := len(stub.Requests())
	minCalls := chaosRuns + chaosRuns/4 // the tool runs call the model twice
	t.Logf("%d kills: %d runs completed, %d abandoned after too many interruptions; %d streams cut short, %d writes whose answer was lost (%d hung up on purpose); %d model calls (%d without interruptions)",
		kills, completed, abandoned, broken, lost, c.hungUp.Load(), calls, minCalls)
	// A run is abandoned once claimed more than MaxAttempts (3) times. A
	// replica restarted after a kill takes over the orphaned runs and may be
	// the next one killed, so a few runs can be caught by three kills in a
	// row (and a tool run's resumption after submit_tool_outputs counts as a
	// claim too): seen up to 4 of 100. More than a quarter would mean
	// takeovers themselves fail.
	if completed < chaosRuns*3/4 {
		t.Errorf("only %d of %d runs completed", completed, chaosRuns)
	}
	if calls <= minCalls {
		t.Errorf("%d model calls for %d runs: no run was interrupted and taken over, so the chaos proved nothing", calls, chaosRuns)
	}

	var slowest time.Duration
	for _, k := range tasks {
		slowest = max(slowest, k.took)
		if k.took > chaosMaxRun {
			t.Errorf("run %d (%s, tool %v, streamed %v) took %v to end", k.i, k.run, k.tool, k.streamed, k.took.Round(time.Millisecond))
		}
		checkChaosTask(ctx, t, c, k)
	}
	t.Logf("the slowest run took %v from its creation to its end", slowest.Round(time.Millisecond))
	checkChaosFiles(ctx, t, c, files, vs.ID, storeFiles, words)
}

// checkChaosTask checks one run's thread: one run; the user message once;
// for a completed run exactly one assistant message, from it, with the
// whole answer; steps terminal, one message creation pointing at that
// message, and for a tool run one tool call step holding the output sent.
func checkChaosTask(ctx context.Context, t *testing.T, c *chaosClient, k *chaosTask) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("run %d (thread %s, run %s): %s", k.i, k.thread, k.run, fmt.Sprintf(format, args...))
	}
	var rl chaosPage[chaosRunObj]
	if err := c.read(ctx, "/v1/threads/"+k.thread+"/runs?limit=100", &rl); err != nil {
		fail("%v", err)
		return
	}
	if len(rl.Data) != 1 || rl.Data[0].ID != k.run {
		fail("thread's runs %+v, want only this one", rl.Data)
	}

	var ml chaosPage[chaosMessage]
	if err := c.read(ctx, "/v1/threads/"+k.thread+"/messages?limit=100&order=asc", &ml); err != nil {
		fail("%v", err)
		return
	}
	ids := map[string]bool{}
	var users, mine []chaosMessage
	for _, m := range ml.Data {
		if ids[m.ID] {
			fail("message %s listed twice", m.ID)
		}
		ids[m.ID] = true
		switch {
		case m.Role == "user":
			users = append(users, m)
		case m.RunID == nil || *m.RunID != k.run:
			fail("assistant message %s has run_id %v", m.ID, m.RunID)
		default:
			mine = append(mine, m)
		}
	}
	if len(users) != 1 || users[0].text() != k.user {
		fail("user messages %+v, want one %q", users, k.user)
	}
	if k.final.Status != "completed" {
		if len(mine) > 1 {
			fail("abandoned run has %d assistant messages", len(mine))
		}
		return
	}
	if len(mine) != 1 {
		fail("%d assistant messages, want exactly 1: %s", len(mine), mustJSON(mine))
		return
	}
	m := mine[0]
	if m.Status != "completed" || m.text() != k.wantReply() || len(m.Content) != 1 {
		fail("assistant message %s is %s with %q, want completed %q", m.ID, m.Status, m.text(), k.wantReply())
	}
	var byRun chaosPage[chaosMessage]
	if err := c.read(ctx, "/v1/threads/"+k.thread+"/messages?limit=100&run_id="+k.run, &byRun); err != nil {
		fail("%v", err)
	} else if len(byRun.Data) != 1 || byRun.Data[0].ID != m.ID {
		fail("messages?run_id= lists %d messages, want only %s", len(byRun.Data), m.ID)
	}

	var sl chaosPage[chaosStep]
	if err := c.read(ctx, "/v1/threads/"+k.thread+"/runs/"+k.run+"/steps?limit=100&order=asc", &sl); err != nil {
		fail("%v", err)
		return
	}
	var creations, toolSteps []chaosStep
	for _, s := range sl.Data {
		if s.RunID != k.run || s.ThreadID != k.thread {
			fail("step %s belongs to run %s thread %s", s.ID, s.RunID, s.ThreadID)
		}
		if s.Status != "completed" || s.CompletedAt == nil {
			fail("step %s (%s) is %s", s.ID, s.Type, s.Status)
		}
		switch s.Type {
		case "message_creation":
			creations = append(creations, s)
		case "tool_calls":
			toolSteps = append(toolSteps, s)
		}
	}
	wantTools := 0
	if k.tool {
		wantTools = 1
	}
	if len(creations) != 1 || len(toolSteps) != wantTools || len(sl.Data) != 1+wantTools {
		fail("steps %s, want %d tool_calls and one message_creation", mustJSON(sl.Data), wantTools)
		return
	}
	if mc := creations[0].StepDetails.MessageCreation; mc == nil || mc.MessageID != m.ID {
		fail("message_creation step %s does not point at message %s", mustJSON(creations[0]), m.ID)
	}
	if k.tool {
		tc := toolSteps[0].StepDetails.ToolCalls
		if len(tc) != 1 || tc[0].Function.Output == nil || *tc[0].Function.Output != k.output {
			fail("tool_calls step %s, want one call with output %q", mustJSON(toolSteps[0]), k.output)
		}
	}
}

// checkChaosFiles checks that every file downloads whole from every replica
// and that the vector store ingested its files (bounded wait) and finds each
// by its own word on every replica.
func checkChaosFiles(ctx context.Context, t *testing.T, c *chaosClient, files map[string][]byte, vsID string, storeFiles, words []string) {
	t.Helper()
	for id, want := range files {
		for replica := range chaosReplicas {
			r, err := c.send(ctx, replica, http.MethodGet, "/v1/files/"+id+"/content", nil)
			if err != nil || r.code != http.StatusOK || !bytes.Equal(r.body, want) {
				t.Errorf("file %s from replica %d: %v %d, %d bytes, equal %v", id, replica, err, r.code, len(r.body), bytes.Equal(r.body, want))
			}
		}
	}

	var store struct {
		Status     string `json:"status"`
		FileCounts struct {
			InProgress int `json:"in_progress"`
			Completed  int `json:"completed"`
			Failed     int `json:"failed"`
		} `json:"file_counts"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := c.read(ctx, "/v1/vector_stores/"+vsID, &store); err != nil {
			t.Errorf("vector store: %v", err)
			return
		}
		if store.FileCounts.InProgress == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if store.Status != "completed" || store.FileCounts.Completed != len(storeFiles) || store.FileCounts.Failed != 0 {
		t.Errorf("vector store after the chaos: %+v, want all %d files completed", store, len(storeFiles))
		return
	}
	var vfl chaosPage[struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}]
	if err := c.read(ctx, "/v1/vector_stores/"+vsID+"/files?limit=100", &vfl); err != nil {
		t.Errorf("vector store files: %v", err)
	} else if len(vfl.Data) != len(storeFiles) {
		t.Errorf("vector store lists %d files, want %d", len(vfl.Data), len(storeFiles))
	}

	for i, w := range words {
		for replica := range chaosReplicas {
			r, err := c.send(ctx, replica, http.MethodPost, "/v1/vector_stores/"+vsID+"/search", mustJSON(map[string]any{"query": w}))
			var page chaosPage[struct {
				FileID string `json:"file_id"`
			}]
			if err != nil || r.code != http.StatusOK || json.Unmarshal(r.body, &page) != nil {
				t.Errorf("search %q on replica %d: %v %d %s", w, replica, err, r.code, r.body)
				continue
			}
			if len(page.Data) == 0 || page.Data[0].FileID != storeFiles[i] {
				t.Errorf("search %q on replica %d: %s, want %s first", w, replica, r.body, storeFiles[i])
			}
		}
	}
}

// chaosDiagnose logs what the database says of a run that did not finish:
// its row and the River jobs about it.
func chaosDiagnose(t *testing.T, dbURL string, k *chaosTask) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Logf("diagnose run %d: %v", k.i, err)
		return
	}
	defer conn.Close(ctx)
	var status, owner string
	var expires *time.Time
	var attempts int
	err = conn.QueryRow(ctx, `SELECT status, coalesce(lease_owner, ''), lease_expires_at, attempts FROM runs WHERE id = $1`, k.run).
		Scan(&status, &owner, &expires, &attempts)
	t.Logf("run %d %s (tool %v, streamed %v): %s, lease %q until %v, %d claims (%v); now %v",
		k.i, k.run, k.tool, k.streamed, status, owner, expires, attempts, err, time.Now().UTC())
	rows, err := conn.Query(ctx, `SELECT id, state, attempt, args::text, scheduled_at, attempted_at, finalized_at, coalesce(array_to_string(attempted_by, ','), ''), coalesce(errors::text, '')
FROM river_job WHERE args->>'run_id' = $1 ORDER BY id`, k.run)
	if err != nil {
		t.Logf("  river_job: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state, args, by, errs string
		var attempt int
		var sched time.Time
		var attempted, finalized *time.Time
		if err := rows.Scan(&id, &state, &attempt, &args, &sched, &attempted, &finalized, &by, &errs); err != nil {
			t.Logf("  river_job: %v", err)
			return
		}
		t.Logf("  job %d %s attempt %d %s scheduled %v attempted %v by %s finalized %v %s", id, state, attempt, args, sched, attempted, by, finalized, errs)
	}
}
