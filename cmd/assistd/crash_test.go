package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/modelstub"
)

// The crash tests check the durability promise of the run engine against
// the real binary: `assistd serve` is stopped (SIGKILL, or SIGTERM with a
// short shutdown timeout) while runs are streaming their replies from a slow
// scripted model, then restarted on the same data directory. Every run must
// then reach a terminal state (completed), with exactly one complete
// assistant message per run and consistent run steps.

const (
	crashThreads  = 10 // one run each
	crashStreamed = 3  // of which created with stream:true
	crashLease    = "2s"
	crashLatency  = time.Second
	crashTPS      = 20.0
	// crashWords is the length of the scripted reply; at crashTPS it streams
	// for crashWords/crashTPS seconds after crashLatency.
	crashWords = 40
)

// crashReplyTail is the fixed part of every scripted reply (crashWords
// words in all, with the "Answer to question N:" prefix).
var crashReplyTail = func() string {
	words := make([]string, crashWords-4)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(words, " ")
}()

func crashUserText(i int) string { return fmt.Sprintf("question %d", i) }

func crashWantReply(i int) string {
	return "Answer to " + crashUserText(i) + ": " + crashReplyTail
}

func TestCrashSIGKILLMidRun(t *testing.T) {
	t.Parallel()
	testCrash(t, syscall.SIGKILL)
}

func TestCrashSIGTERMMidRun(t *testing.T) {
	t.Parallel()
	testCrash(t, syscall.SIGTERM)
}

// crashAPI is a minimal client of one assistd address.
type crashAPI struct {
	t    *testing.T
	base string
	key  string
	http *http.Client
}

func (c *crashAPI) do(method, path string, body any, out any) {
	c.t.Helper()
	if code, msg := c.try(method, path, body, out); code != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, code, msg)
	}
}

// try sends one request and reports the status (-1 on a transport error)
// and, when it is not 200, the body or error.
func (c *crashAPI) try(method, path string, body any, out any) (int, string) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, ""
}

type crashRun struct {
	ID        string `json:"id"`
	ThreadID  string `json:"thread_id"`
	Status    string `json:"status"`
	LastError *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"last_error"`
}

type crashMessage struct {
	ID      string  `json:"id"`
	Role    string  `json:"role"`
	Status  string  `json:"status"`
	RunID   *string `json:"run_id"`
	Content []struct {
		Type string `json:"type"`
		Text *struct {
			Value string `json:"value"`
		} `json:"text"`
	} `json:"content"`
}

type crashStep struct {
	ID          string `json:"id"`
	RunID       string `json:"run_id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	StepDetails struct {
		Type            string `json:"type"`
		MessageCreation *struct {
			MessageID string `json:"message_id"`
		} `json:"message_creation"`
	} `json:"step_details"`
}

type crashList[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

var crashTerminal = map[string]bool{
	"completed": true, "failed": true, "cancelled": true, "expired": true, "incomplete": true,
}

// crashStream creates a streamed run on thread and reads its events from a
// goroutine: the run id arrives on the returned channel with the first
// thread.run.created event. If stopAfter > 0 the client hangs up after that
// many events; otherwise it reads until the server goes away.
func crashStream(t *testing.T, c *crashAPI, thread, asst string, stopAfter int, wg *sync.WaitGroup) <-chan string {
	ids := make(chan string, 1)
	b, _ := json.Marshal(map[string]any{"assistant_id": asst, "stream": true})
	req, err := http.NewRequest(http.MethodPost, c.base+"/v1/threads/"+thread+"/runs", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	req.Header.Set("Content-Type", "application/json")
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ids)
		// No client timeout: the stream lasts until the server dies.
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Errorf("streamed run on %s: %v", thread, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("streamed run on %s: %d %s", thread, resp.StatusCode, b)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		events, event := 0, ""
		for sc.Scan() {
			line := sc.Text()
			if name, ok := strings.CutPrefix(line, "event: "); ok {
				event = name
				continue
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			events++
			if event == "thread.run.created" {
				var r crashRun
				if err := json.Unmarshal([]byte(data), &r); err != nil || r.ID == "" {
					t.Errorf("thread.run.created %s: %v", data, err)
					return
				}
				ids <- r.ID
			}
			if stopAfter > 0 && events >= stopAfter {
				return // hang up: the run must go on
			}
		}
	}()
	return ids
}

func testCrash(t *testing.T, sig syscall.Signal) {
	script := &modelstub.Script{Default: &modelstub.Reply{Text: "Answer to {{last_user}}: " + crashReplyTail}}
	stub := modelstub.New(script, modelstub.Options{Latency: crashLatency, TokensPerSecond: crashTPS})
	model := httptest.NewServer(stub)
	t.Cleanup(model.Close)
	t.Cleanup(stub.Close) // runs first: ends paced replies so model.Close does not wait

	env := []string{"OPENAI_BASE_URL=" + model.URL + "/v1", "OPENAI_API_KEY=sk-stub"}
	data := t.TempDir()
	args := []string{"--listen", "127.0.0.1:0", "--data", data, "--run-lease", crashLease, "--shutdown-timeout", "1s"}
	s1 := startServer(t, env, args...)
	key := s1.printedKey()
	if key == "" {
		t.Fatalf("first start printed no key\n%s", s1.logs())
	}
	c := &crashAPI{t: t, base: "http://" + s1.addr, key: key, http: &http.Client{Timeout: 15 * time.Second}}

	var asst struct{ ID string }
	c.do(http.MethodPost, "/v1/assistants", map[string]any{"model": "gpt-4o", "instructions": "Be brief."}, &asst)
	threads := make([]string, crashThreads)
	for i := range threads {
		var th struct{ ID string }
		c.do(http.MethodPost, "/v1/threads", map[string]any{
			"messages": []map[string]any{{"role": "user", "content": crashUserText(i)}},
		}, &th)
		threads[i] = th.ID
	}

	// Runs 0..crashStreamed-1 are streamed: the first hangs up after a few
	// events, the others read until the server goes away. The rest are
	// plain creates.
	runs := make([]string, crashThreads)
	var streams sync.WaitGroup
	idChans := make([]<-chan string, crashStreamed)
	for i := range crashStreamed {
		stopAfter := 0
		if i == 0 {
			stopAfter = 3
		}
		idChans[i] = crashStream(t, c, threads[i], asst.ID, stopAfter, &streams)
	}
	for i := crashStreamed; i < crashThreads; i++ {
		var r crashRun
		c.do(http.MethodPost, "/v1/threads/"+threads[i]+"/runs", map[string]any{"assistant_id": asst.ID}, &r)
		runs[i] = r.ID
	}
	for i, ch := range idChans {
		select {
		case id, ok := <-ch:
			if !ok {
				t.Fatalf("streamed run %d: no thread.run.created", i)
			}
			runs[i] = id
		case <-time.After(10 * time.Second):
			t.Fatalf("streamed run %d: no thread.run.created within 10s", i)
		}
	}

	// Wait until every run has asked the model, then until the replies are
	// streaming (the latency is over, assistant messages are open), and stop
	// the server in the middle of them.
	waitFor(t, 10*time.Second, "every run calling the model", func() bool {
		return len(stub.Requests()) >= crashThreads
	})
	firstCalls := len(stub.Requests())
	time.Sleep(crashLatency + 300*time.Millisecond)
	inProgress := 0
	for i, id := range runs {
		var r crashRun
		c.do(http.MethodGet, "/v1/threads/"+threads[i]+"/runs/"+id, nil, &r)
		if r.Status == "in_progress" {
			inProgress++
		}
	}
	// The replies stream for crashWords/crashTPS = 2 s after the latency,
	// so all runs should be mid-reply here; demand most to keep the test
	// meaningful on a loaded machine.
	if inProgress < crashThreads/2 {
		t.Fatalf("only %d of %d runs in progress before the %v; the test did not stop the server mid-run", inProgress, crashThreads, sig)
	}
	openMsgs := 0
	for _, th := range threads {
		var ml crashList[crashMessage]
		c.do(http.MethodGet, "/v1/threads/"+th+"/messages?limit=100", nil, &ml)
		for _, m := range ml.Data {
			if m.Role == "assistant" && m.Status == "in_progress" {
				openMsgs++
			}
		}
	}
	t.Logf("%v with %d runs in progress and %d assistant messages open", sig, inProgress, openMsgs)

	if err := s1.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s1.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15s after %v\n%s", sig, s1.logs())
	}
	if sig == syscall.SIGTERM && s1.err != nil {
		t.Errorf("SIGTERM: serve exited with %v\n%s", s1.err, s1.logs())
	}
	streams.Wait() // every stream ended with the server

	// Restart on the same data directory (a new port) and wait for every
	// run to finish.
	s2 := startServer(t, env, args...)
	c.base = "http://" + s2.addr
	final := make([]crashRun, crashThreads)
	deadline := time.Now().Add(20 * time.Second)
	for i, id := range runs {
		for {
			var r crashRun
			// The poll helper header makes the server hold the request
			// until the run changes state.
			code, msg := c.tryPoll("/v1/threads/"+threads[i]+"/runs/"+id, &r)
			if code != http.StatusOK {
				t.Fatalf("GET run %s after restart: %d %s", id, code, msg)
			}
			if crashTerminal[r.Status] {
				final[i] = r
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s still %s 20s after the restart\n%s", id, r.Status, s2.logs())
			}
		}
	}

	completed := 0
	for i, r := range final {
		switch {
		case r.Status == "completed":
			completed++
		case r.Status == "failed" && r.LastError != nil && r.LastError.Code == "server_error":
			t.Logf("run %s failed: %s", r.ID, r.LastError.Message)
		default:
			t.Errorf("run %d (%s) ended %s (last_error %+v)", i, r.ID, r.Status, r.LastError)
		}
	}
	// Nothing here exhausts the attempts (one interruption each), so every
	// run is expected to complete.
	if completed != crashThreads {
		t.Errorf("%d of %d runs completed", completed, crashThreads)
	}
	if n := len(stub.Requests()); n <= firstCalls {
		t.Errorf("the model got no call after the restart (%d calls in all); the runs were not taken over", n)
	}

	for i, th := range threads {
		checkCrashThread(t, c, i, th, final[i])
	}

	// The restarted server stops cleanly with nothing in flight.
	if code := s2.stop(15 * time.Second); code != 0 {
		t.Errorf("restarted serve exited %d\n%s", code, s2.logs())
	}
}

// tryPoll is a run retrieve as the SDKs' poll helpers send it.
func (c *crashAPI) tryPoll(path string, out any) (int, string) {
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	req.Header.Set("X-Stainless-Poll-Helper", "true")
	resp, err := c.http.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return -1, fmt.Sprintf("decoding %s: %v", b, err)
	}
	return http.StatusOK, ""
}

// checkCrashThread checks thread i after the restart: one run, exactly one
// completed assistant message from it holding the whole reply, and one
// completed message_creation step pointing at that message.
func checkCrashThread(t *testing.T, c *crashAPI, i int, thread string, run crashRun) {
	t.Helper()
	var rl crashList[crashRun]
	c.do(http.MethodGet, "/v1/threads/"+thread+"/runs?limit=100", nil, &rl)
	if len(rl.Data) != 1 || rl.Data[0].ID != run.ID {
		t.Errorf("thread %d: runs %+v, want only %s", i, rl.Data, run.ID)
	}
	for _, r := range rl.Data {
		if r.Status == "queued" || r.Status == "in_progress" || r.Status == "cancelling" {
			t.Errorf("thread %d: run %s left %s", i, r.ID, r.Status)
		}
	}

	var ml crashList[crashMessage]
	c.do(http.MethodGet, "/v1/threads/"+thread+"/messages?limit=100&order=asc", nil, &ml)
	var users int
	var mine []crashMessage
	for _, m := range ml.Data {
		switch m.Role {
		case "user":
			users++
		case "assistant":
			if m.RunID == nil || *m.RunID != run.ID {
				t.Errorf("thread %d: assistant message %s has run_id %v, want %s", i, m.ID, m.RunID, run.ID)
			}
			mine = append(mine, m)
		}
	}
	if users != 1 {
		t.Errorf("thread %d: %d user messages, want 1", i, users)
	}
	if run.Status != "completed" {
		return // a failed run's message is checked by nothing more than its count
	}
	if len(mine) != 1 {
		dump, _ := json.Marshal(mine)
		t.Errorf("thread %d: %d assistant messages, want exactly 1: %s", i, len(mine), dump)
		return
	}
	m := mine[0]
	if m.Status != "completed" {
		t.Errorf("thread %d: assistant message %s is %s, want completed", i, m.ID, m.Status)
	}
	text := ""
	for _, p := range m.Content {
		if p.Type == "text" && p.Text != nil {
			text += p.Text.Value
		}
	}
	if want := crashWantReply(i); text != want || len(m.Content) != 1 {
		t.Errorf("thread %d: assistant message text (%d parts) %q, want %q", i, len(m.Content), text, want)
	}

	var sl crashList[crashStep]
	c.do(http.MethodGet, "/v1/threads/"+thread+"/runs/"+run.ID+"/steps?limit=100", nil, &sl)
	var creations []crashStep
	for _, s := range sl.Data {
		if s.RunID != run.ID {
			t.Errorf("thread %d: step %s has run_id %s, want %s", i, s.ID, s.RunID, run.ID)
		}
		if s.Status == "in_progress" {
			t.Errorf("thread %d: step %s left in_progress", i, s.ID)
		}
		if s.Type == "message_creation" {
			creations = append(creations, s)
		}
	}
	if len(sl.Data) != 1 || len(creations) != 1 {
		dump, _ := json.Marshal(sl.Data)
		t.Errorf("thread %d: steps %s, want one message_creation step", i, dump)
		return
	}
	s := creations[0]
	if s.Status != "completed" || s.StepDetails.MessageCreation == nil || s.StepDetails.MessageCreation.MessageID != m.ID {
		dump, _ := json.Marshal(s)
		t.Errorf("thread %d: step %s, want completed and pointing at message %s", i, dump, m.ID)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
