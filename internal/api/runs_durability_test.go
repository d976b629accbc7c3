package api_test

import (
	"bufio"
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func TestV1Runs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.mustDo(200, "POST", "/v1/assistants", h.keyA, `{"model":"gpt-4o-mini","tools":[{"type":"retrieval"}]}`, betaV1).object(t)["id"].(string)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, `{"messages":[{"role":"user","content":"old api"}]}`, betaV1).object(t)["id"].(string)
	wantKeys := []string{"assistant_id", "cancelled_at", "completed_at", "created_at", "expires_at", "failed_at", "file_ids",
		"id", "instructions", "last_error", "metadata", "model", "object", "required_action", "started_at", "status",
		"temperature", "thread_id", "tools", "usage"}
	checkV1 := func(what string, run map[string]any) {
		t.Helper()
		if got := keysOf(run); !reflect.DeepEqual(got, wantKeys) {
			t.Errorf("%s: v1 run keys %v", what, got)
		}
		if !reflect.DeepEqual(run["tools"], []any{map[string]any{"type": "retrieval"}}) {
			t.Errorf("%s: tools %v", what, run["tools"])
		}
		if _, ok := run["file_ids"].([]any); !ok {
			t.Errorf("%s: file_ids %v", what, run["file_ids"])
		}
	}
	run := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs", h.keyA, `{"assistant_id":"`+asst+`","tools":[{"type":"retrieval"}],"instructions":"v1 run"}`, betaV1).object(t)
	checkV1("create", run)
	id := run["id"].(string)
	var got map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got = h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+id, h.keyA, nil, betaV1).object(t)
		if got["status"] == "completed" || time.Now().After(deadline) {
			break
		}
	}
	checkV1("get", got)
	if got["status"] != "completed" || got["instructions"] != "v1 run" {
		t.Fatalf("run: %v", got)
	}
	// v2 view of the same run: file_search, truncation_strategy present.
	v2 := h.getRun(h.keyA, th, id)
	if !reflect.DeepEqual(v2["tools"], []any{map[string]any{"type": "file_search"}}) || v2["truncation_strategy"] == nil {
		t.Errorf("v2 view: %v", v2)
	}
	var page struct {
		Data []map[string]any `json:"data"`
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs", h.keyA, nil, betaV1).decode(t, &page)
	if len(page.Data) != 1 {
		t.Fatalf("list: %v", page.Data)
	}
	checkV1("list", page.Data[0])
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+id+"/steps", h.keyA, nil, betaV1).decode(t, &page)
	if len(page.Data) != 1 || page.Data[0]["type"] != "message_creation" || page.Data[0]["status"] != "completed" {
		t.Errorf("v1 steps: %v", page.Data)
	}
	// retrieval on v1 but file_search on v1 is refused.
	r := h.do("POST", "/v1/threads/"+th+"/runs", h.keyA, `{"assistant_id":"`+asst+`","truncation_strategy":{"type":"auto"}}`, betaV1)
	h.errParam(r, "truncation_strategy")

	// createAndRun in v1.
	car := h.mustDo(200, "POST", "/v1/threads/runs", h.keyA, `{"assistant_id":"`+asst+`","tools":[{"type":"retrieval"}],"thread":{"messages":[{"role":"user","content":"v1 thread"}]}}`, betaV1).object(t)
	checkV1("createAndRun", car)
	th2 := car["thread_id"].(string)
	if r := h.waitRun(h.keyA, th2, car["id"].(string)); r["status"] != "completed" {
		t.Errorf("createAndRun: %v", r)
	}
	msgs := h.mustDo(200, "GET", "/v1/threads/"+th2+"/messages?order=asc", h.keyA, nil, betaV1).object(t)["data"].([]any)
	if len(msgs) != 2 || dig(msgs[1], "content", 0, "text", "value") != "You said: v1 thread" {
		t.Errorf("v1 messages: %v", msgs)
	} else if _, ok := msgs[1].(map[string]any)["file_ids"]; !ok {
		t.Errorf("v1 message without file_ids: %v", msgs[1])
	}
	// Streamed v1 run.
	sr := h.mustDo(200, "POST", "/v1/threads/"+th2+"/runs", h.keyA, `{"assistant_id":"`+asst+`","stream":true}`, betaV1)
	events, err := parseSSE(sr.Body)
	if err != nil || len(events) < 3 || events[len(events)-1].Name != "done" {
		t.Fatalf("v1 stream: %v %v", events, err)
	}
	for _, ev := range events {
		if ev.Name == "thread.run.completed" && (strings.Contains(ev.Data, "truncation_strategy") || !strings.Contains(ev.Data, `"file_ids"`)) {
			t.Errorf("v1 streamed run: %s", ev.Data)
		}
	}
}

func TestStreamClientDisconnects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Default: &modelstub.Reply{
		Text: strings.Repeat("token ", 30), TokensPerSecond: ptr(100.0)}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "hi")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1/threads/"+th+"/runs",
		strings.NewReader(`{"assistant_id":"`+asst+`","stream":true}`))
	req.Header.Set("Authorization", "Bearer "+h.keyA)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req) // not the validating client: it reads whole bodies
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	runID := ""
	deltas := 0
	for sc.Scan() && deltas < 3 {
		line := sc.Text()
		if strings.HasPrefix(line, "data: {\"id\":\"run_") && runID == "" {
			runID = line[len(`data: {"id":"`):][:len("run_")+24]
			runID = strings.SplitN(runID, `"`, 2)[0]
		}
		if line == "event: thread.message.delta" {
			deltas++
		}
	}
	cancel()
	resp.Body.Close()
	if runID == "" || deltas < 3 {
		t.Fatalf("run id %q, %d deltas", runID, deltas)
	}
	run := h.waitRun(h.keyA, th, runID)
	if run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	msgs := h.listAll(h.keyA, "/v1/threads/"+th+"/messages?run_id="+runID)
	if len(msgs) != 1 || msgs[0]["status"] != "completed" || dig(msgs[0], "content", 0, "text", "value") != strings.Repeat("token ", 30) {
		t.Errorf("messages: %v", msgs)
	}
}

// deadOwnerRun inserts a queued run straight into the store and claims it
// for an executor that "died": its lease has already lapsed.
func deadOwnerRun(t *testing.T, h *harness, asstID, threadID string) (project string, run *schema.Run) {
	t.Helper()
	ctx := context.Background()
	p, err := h.store.ProjectGetByName(ctx, "project-a")
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.store.AssistantGet(ctx, p.ID, asstID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	run = schema.RunOptions{}.NewRun(schema.NewID(schema.PrefixRun), threadID, a, nil, now.Unix(), now.Unix()+600)
	if err := h.store.RunCreate(ctx, p.ID, run, nil, nil); err != nil {
		t.Fatal(err)
	}
	c, err := h.store.RunClaim(ctx, store.RunClaimParams{Owner: "exec_dead", Now: now, LeaseUntil: now.Add(-time.Second), RunID: run.ID})
	if err != nil {
		t.Fatalf("claim as the dead owner: %v", err)
	}
	return p.ID, c.Run
}

func TestRunTakeover(t *testing.T) {
	t.Parallel()
	// The leader sweeps only at start, so the dead owner's claim is not
	// raced by reconcile; the test reconciles when it is ready.
	h := newHarness(t, withJobs(func(c *jobs.Config) { c.SweepInterval = time.Hour }))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)

	t.Run("queued", func(t *testing.T) {
		th := h.newThread(h.keyA, "orphan one")
		_, run := deadOwnerRun(t, h, asst, th)
		if err := h.jobs.Reconcile(context.Background(), time.Now(), t.Name()); err != nil {
			t.Fatal(err)
		}
		got := h.waitRun(h.keyA, th, run.ID)
		if got["status"] != "completed" || got["started_at"] == nil {
			t.Fatalf("run: %v", got)
		}
		msgs := h.listAll(h.keyA, "/v1/threads/"+th+"/messages?run_id="+run.ID)
		if len(msgs) != 1 || dig(msgs[0], "content", 0, "text", "value") != "You said: orphan one" {
			t.Errorf("messages: %v", msgs)
		}
	})

	t.Run("half-written message", func(t *testing.T) {
		th := h.newThread(h.keyA, "orphan two")
		project, run := deadOwnerRun(t, h, asst, th)
		// The dead owner had started the run and begun its message.
		now := time.Now().Unix()
		run.Status, run.StartedAt = schema.RunInProgress, &now
		runID, asstID := run.ID, run.AssistantID
		msg := &schema.Message{ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: now, ThreadID: th,
			Status: schema.MessageStatusInProgress, Role: "assistant", Content: []schema.ContentPart{schema.TextPart("You sa")},
			AssistantID: &asstID, RunID: &runID, Attachments: []schema.MessageAttachment{}, Metadata: schema.Metadata{}}
		step := &schema.RunStep{ID: schema.NewID(schema.PrefixStep), Object: "thread.run.step", CreatedAt: now,
			AssistantID: asstID, ThreadID: th, RunID: runID, Type: schema.StepMessageCreation, Status: schema.StepInProgress,
			StepDetails: schema.StepDetails{Type: schema.StepMessageCreation, MessageCreation: &schema.MessageCreation{MessageID: msg.ID}},
			Metadata:    schema.Metadata{}}
		if err := h.store.RunSave(context.Background(), project, &store.RunSaveParams{Run: run, ExpectStatus: schema.RunQueued,
			Owner: "exec_dead", Steps: []*schema.RunStep{step}, Messages: []*schema.Message{msg}}); err != nil {
			t.Fatal(err)
		}
		if err := h.jobs.Reconcile(context.Background(), time.Now(), t.Name()); err != nil {
			t.Fatal(err)
		}
		got := h.waitRun(h.keyA, th, run.ID)
		if got["status"] != "completed" {
			t.Fatalf("run: %v", got)
		}
		msgs := h.listAll(h.keyA, "/v1/threads/"+th+"/messages?run_id="+run.ID)
		if len(msgs) != 1 || msgs[0]["id"] != msg.ID || msgs[0]["status"] != "completed" ||
			dig(msgs[0], "content", 0, "text", "value") != "You said: orphan two" {
			t.Errorf("messages: %v", msgs)
		}
		steps := h.stepsOf(h.keyA, th, run.ID)
		if len(steps) != 1 || steps[0]["id"] != step.ID || steps[0]["status"] != "completed" {
			t.Errorf("steps: %v", steps)
		}
		// The prompt did not include the half-written message.
		reqs := h.chatRequests()
		last := reqs[len(reqs)-1].texts()
		if strings.Join(last, "|") != "user: orphan two" {
			t.Errorf("prompt %q", last)
		}
	})
}

// TestRunQueuedCancelAndExpiry: runs no executor picked up yet are
// cancelled at once, and expire once past expires_at.
func TestRunQueuedCancelAndExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withJobs(func(c *jobs.Config) { c.SweepInterval = time.Hour }))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	ctx := context.Background()
	p, err := h.store.ProjectGetByName(ctx, "project-a")
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.store.AssistantGet(ctx, p.ID, asst)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	insert := func(th string, expiresAt int64) string {
		run := schema.RunOptions{}.NewRun(schema.NewID(schema.PrefixRun), th, a, nil, now, expiresAt)
		if err := h.store.RunCreate(ctx, p.ID, run, nil, nil); err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	th1 := h.newThread(h.keyA, "one")
	q := insert(th1, now+600)
	c := h.mustDo(200, "POST", "/v1/threads/"+th1+"/runs/"+q+"/cancel", h.keyA, nil).object(t)
	if c["status"] != "cancelling" {
		t.Errorf("cancel answered %v", c["status"])
	}
	if r := h.getRun(h.keyA, th1, q); r["status"] != "cancelled" || r["cancelled_at"] == nil || r["started_at"] != nil {
		t.Errorf("queued run after cancel: %v", r)
	}
	th2 := h.newThread(h.keyA, "two")
	old := insert(th2, now-5)
	if err := h.engine.ExpireRuns(ctx); err != nil {
		t.Fatal(err)
	}
	r := h.waitRun(h.keyA, th2, old, "expired", "completed", "failed")
	if r["status"] != "expired" {
		t.Errorf("overdue queued run: %v", r)
	}
	if n := len(h.chatRequests()); n != 0 {
		t.Errorf("%d model requests", n)
	}
}
