package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/modelstub"
)

func fptr(v float64) *float64 { return &v }

// lifecycleScript: "hang" never answers, "slow" streams a long text at 20
// tokens/s, "call" asks for get_weather, anything else echoes.
func lifecycleScript() *modelstub.Script {
	return &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "hang"}, Reply: modelstub.Reply{Hang: true}},
		{Match: modelstub.Match{UserContains: "slow"}, Reply: modelstub.Reply{
			Text: strings.Repeat("word ", 200), TokensPerSecond: fptr(20)}},
		{Match: modelstub.Match{UserContains: "call", LastRole: "user"}, Reply: modelstub.Reply{
			ToolCalls: []modelstub.ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}}}},
	}}
}

const weatherTool = `{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}`

func TestRunCancelHangingModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(lifecycleScript()))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "please hang")
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})
	id := run["id"].(string)
	h.waitRun(h.keyA, th, id, "in_progress")
	// Wait until the model has the request, so the cancel interrupts it.
	for deadline := time.Now().Add(5 * time.Second); len(h.model.Requests()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the model never got the request")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/cancel", h.keyA, nil).object(t)
	if c["status"] != "cancelling" {
		t.Errorf("cancel answered status %v, want cancelling", c["status"])
	}
	run = h.waitRun(h.keyA, th, id)
	if run["status"] != "cancelled" || run["cancelled_at"] == nil || run["completed_at"] != nil || run["failed_at"] != nil {
		t.Fatalf("run: %v", run)
	}
	// No step was opened (the model never answered): no assistant message.
	for _, s := range h.stepsOf(h.keyA, th, id) {
		if s["status"] != "cancelled" {
			t.Errorf("step left %v", s["status"])
		}
	}
	if msgs := h.messagesOf(h.keyA, th); len(msgs) != 1 {
		t.Errorf("messages: %v", msgs)
	}
	// Cancelling again: the run is finished.
	r := h.do("POST", "/v1/threads/"+th+"/runs/"+id+"/cancel", h.keyA, nil)
	if r.Status != 400 {
		t.Errorf("second cancel: %s", r)
	}
}

func TestRunCancelMidMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(lifecycleScript()))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "slow please")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	// Wait until the message exists and holds some text.
	var msgID string
	for deadline := time.Now().Add(5 * time.Second); msgID == ""; {
		if time.Now().After(deadline) {
			t.Fatal("no message appeared")
		}
		for _, s := range h.stepsOf(h.keyA, th, id) {
			if s["type"] == "message_creation" {
				msgID = str(dig(s, "step_details", "message_creation", "message_id"))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	c := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/cancel", h.keyA, nil).object(t)
	if c["status"] != "cancelling" {
		t.Errorf("cancel answered %v", c["status"])
	}
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "cancelled" || run["cancelled_at"] == nil {
		t.Fatalf("run: %v", run)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 1 || steps[0]["status"] != "cancelled" || steps[0]["cancelled_at"] == nil {
		t.Errorf("steps: %v", steps)
	}
	m := h.mustDo(200, "GET", "/v1/threads/"+th+"/messages/"+msgID, h.keyA, nil).object(t)
	if m["status"] != "incomplete" || dig(m, "incomplete_details", "reason") != "run_cancelled" || m["incomplete_at"] == nil {
		t.Errorf("message: %v", m)
	}
	if text := str(dig(m, "content", 0, "text", "value")); !strings.HasPrefix(text, "word") || len(text) >= 1000 {
		t.Errorf("partial text %q", text)
	}
}

func TestRunCancelRequiresActionAndCompleted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(lifecycleScript()))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "call the tool")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	h.waitRun(h.keyA, th, id, "requires_action")
	c := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/cancel", h.keyA, nil).object(t)
	if c["status"] != "cancelling" {
		t.Errorf("cancel answered %v", c["status"])
	}
	run := h.getRun(h.keyA, th, id)
	if run["status"] != "cancelled" || run["cancelled_at"] == nil || run["required_action"] != nil {
		t.Fatalf("run: %v", run)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 1 || steps[0]["type"] != "tool_calls" || steps[0]["status"] != "cancelled" {
		t.Errorf("steps: %v", steps)
	}
	// Submitting now is refused.
	callID := "call_x"
	r := h.do("POST", "/v1/threads/"+th+"/runs/"+id+"/submit_tool_outputs", h.keyA,
		map[string]any{"tool_outputs": []map[string]any{{"tool_call_id": callID, "output": "x"}}})
	if r.Status != 400 {
		t.Errorf("submit after cancel: %s", r)
	}

	// A completed run cannot be cancelled, and nothing changes.
	th2 := h.newThread(h.keyA, "hello")
	id2 := h.createRun(h.keyA, th2, map[string]any{"assistant_id": asst})["id"].(string)
	done := h.waitRun(h.keyA, th2, id2)
	if done["status"] != "completed" {
		t.Fatalf("run: %v", done)
	}
	before := h.fingerprint()
	r = h.do("POST", "/v1/threads/"+th2+"/runs/"+id2+"/cancel", h.keyA, nil)
	if r.Status != 400 {
		t.Errorf("cancel of completed run: %s", r)
	} else if msg := r.apiError(t).Error.Message; !strings.Contains(msg, "completed") {
		t.Errorf("message %q", msg)
	}
	if h.fingerprint() != before {
		t.Error("refused cancel changed the database")
	}
}

func TestRunRequiresActionExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(lifecycleScript()), withEngine(func(c *engine.Config) { c.RequiresActionTimeout = time.Second }))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "call the tool")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id, "requires_action")
	if run["expires_at"] == nil {
		t.Fatalf("requires_action run without expires_at: %v", run)
	}
	callID := str(dig(run, "required_action", "submit_tool_outputs", "tool_calls", 0, "id"))
	run = h.waitRun(h.keyA, th, id, "expired", "completed", "failed", "cancelled")
	if run["status"] != "expired" || run["required_action"] != nil {
		t.Fatalf("run: %v", run)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 1 || steps[0]["status"] != "expired" || steps[0]["expired_at"] == nil {
		t.Errorf("steps: %v", steps)
	}
	before := h.fingerprint()
	r := h.do("POST", "/v1/threads/"+th+"/runs/"+id+"/submit_tool_outputs", h.keyA,
		map[string]any{"tool_outputs": []map[string]any{{"tool_call_id": callID, "output": "x"}}})
	if r.Status != 400 {
		t.Errorf("submit after expiry: %s", r)
	}
	if h.fingerprint() != before {
		t.Error("refused submit changed the database")
	}
	// The thread is free again.
	h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})
}

func TestOneActiveRunPerThread(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "wait"}, Reply: modelstub.Reply{Text: "done", Latency: ptr(modelstub.Duration(3 * time.Second))}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "wait for it")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	// The executor writes nothing between in_progress and the model's
	// reply: the fingerprint then sees only what the refused requests did.
	h.waitRun(h.keyA, th, id, "in_progress")
	before := h.fingerprint()
	r := h.do("POST", "/v1/threads/"+th+"/runs", h.keyA, map[string]any{"assistant_id": asst})
	if r.Status != 400 || !strings.Contains(r.apiError(t).Error.Message, "already has an active run") {
		t.Errorf("second run: %s", r)
	}
	r = h.do("POST", "/v1/threads/"+th+"/messages", h.keyA, map[string]any{"role": "user", "content": "more"})
	if r.Status != 400 {
		t.Errorf("message during run: %s", r)
	}
	if h.fingerprint() != before {
		t.Error("refused requests changed the database")
	}
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	h.mustDo(200, "POST", "/v1/threads/"+th+"/messages", h.keyA, map[string]any{"role": "user", "content": "more"})
	id2 := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	if run := h.waitRun(h.keyA, th, id2); run["status"] != "completed" {
		t.Fatalf("second run: %v", run)
	}
}

// TestRunCancelAfterSubmit: a run resumed by submit_tool_outputs whose next
// model call hangs is cancelled at once.
func TestRunCancelAfterSubmit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Hang: true}},
		{Match: modelstub.Match{UserContains: "call"}, Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "get_weather"}}}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "call it")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id, "requires_action")
	call := str(dig(run, "required_action", "submit_tool_outputs", "tool_calls", 0, "id"))
	h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/submit_tool_outputs", h.keyA,
		map[string]any{"tool_outputs": []any{map[string]any{"tool_call_id": call, "output": "x"}}})
	for deadline := time.Now().Add(5 * time.Second); len(h.model.Requests()) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second model call never came")
		}
	}
	start := time.Now()
	h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/cancel", h.keyA, nil)
	run = h.waitRun(h.keyA, th, id)
	if run["status"] != "cancelled" {
		t.Fatalf("run: %v", run)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 1 || steps[0]["status"] != "completed" {
		t.Errorf("steps: %v", steps)
	}
}

// TestRunStreamedFailure: a failing run streams thread.run.failed, then done.
func TestRunStreamedFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Default: &modelstub.Reply{Error: &modelstub.ErrorReply{Status: 400, Message: "bad prompt"}}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "hi")
	r := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs", h.keyA, map[string]any{"assistant_id": asst, "stream": true})
	events, err := parseSSE(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		names = append(names, ev.Name)
	}
	want := "thread.run.created thread.run.queued thread.run.in_progress thread.run.failed done"
	if strings.Join(names, " ") != want {
		t.Fatalf("events %v", names)
	}
	var failed map[string]any
	json.Unmarshal([]byte(events[3].Data), &failed)
	if dig(failed, "last_error", "code") != "invalid_prompt" || !strings.Contains(str(dig(failed, "last_error", "message")), "bad prompt") {
		t.Errorf("failed run: %v", failed)
	}
	if n := len(h.chatRequests()); n != 1 {
		t.Errorf("a 400 was retried: %d requests", n)
	}
}
