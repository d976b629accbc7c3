package api_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/modelstub"
)

func TestRunInstructionsAndAdditionalMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","instructions":"Base rules.","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "from the thread")
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst,
		"additional_instructions": "Extra rules.",
		"additional_messages": []map[string]any{
			{"role": "user", "content": "added one", "metadata": map[string]any{"k": "v"}},
			{"role": "assistant", "content": "added two"},
		},
		"metadata": map[string]any{"purpose": "test"},
	})
	id := run["id"].(string)
	if run["instructions"] != "Base rules.\n\nExtra rules." || dig(run, "metadata", "purpose") != "test" || len(run["tools"].([]any)) != 1 {
		t.Errorf("run: %v", run)
	}
	if r := h.waitRun(h.keyA, th, id); r["status"] != "completed" {
		t.Fatalf("run: %v", r)
	}
	msgs := h.messagesOf(h.keyA, th)
	var got []string
	for _, m := range msgs {
		got = append(got, str(m["role"])+":"+str(dig(m, "content", 0, "text", "value")))
	}
	want := "user:from the thread|user:added one|assistant:added two|assistant:You said: added one"
	if strings.Join(got, "|") != want {
		t.Errorf("messages %q, want %q", strings.Join(got, "|"), want)
	}
	if len(msgs) == 4 && (msgs[1]["run_id"] != nil || dig(msgs[1], "metadata", "k") != "v" || msgs[3]["run_id"] != id || msgs[3]["assistant_id"] != asst) {
		t.Errorf("message fields: %v / %v", msgs[1], msgs[3])
	}
	reqs := h.chatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests", len(reqs))
	}
	if p := strings.Join(reqs[0].texts(), "|"); p != "system: Base rules.\n\nExtra rules.|user: from the thread|user: added one|assistant: added two" {
		t.Errorf("prompt %q", p)
	}
}

func TestRunOverrides(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "json"}, Reply: modelstub.Reply{EchoJSON: true}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","instructions":"Assistant's.","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "give json")
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "model": "gpt-4.1", "instructions": "Run's own.",
		"tools": []any{json.RawMessage(clockTool)}, "response_format": map[string]any{"type": "json_object"}, "temperature": 0.5, "top_p": 0.9})
	if run["model"] != "gpt-4.1" || run["instructions"] != "Run's own." || dig(run, "tools", 0, "function", "name") != "get_time" ||
		dig(run, "response_format", "type") != "json_object" || run["temperature"] != 0.5 || run["top_p"] != 0.9 {
		t.Errorf("run: %v", run)
	}
	id := run["id"].(string)
	if r := h.waitRun(h.keyA, th, id); r["status"] != "completed" {
		t.Fatalf("run: %v", r)
	}
	reqs := h.chatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests", len(reqs))
	}
	q := reqs[0]
	if q.Model != "gpt-4.1" || q.ResponseFormat["type"] != "json_object" || len(q.Tools) != 1 ||
		dig(q.Tools[0], "function", "name") != "get_time" || q.Temperature == nil || *q.Temperature != 0.5 ||
		q.texts()[0] != "system: Run's own." {
		t.Errorf("model request: %+v", q)
	}
	msgs := h.listAll(h.keyA, "/v1/threads/"+th+"/messages?run_id="+id)
	if len(msgs) != 1 || dig(msgs[0], "content", 0, "text", "value") != `{"echo":"give json"}` {
		t.Errorf("messages: %v", msgs)
	}
	// The assistant itself is unchanged.
	a := h.mustDo(200, "GET", "/v1/assistants/"+asst, h.keyA, nil).object(t)
	if a["model"] != "gpt-4o-mini" || a["instructions"] != "Assistant's." {
		t.Errorf("assistant changed: %v", a)
	}
}

func TestRunModifyListAndSteps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "hi")
	var ids []string
	for i := 0; i < 3; i++ {
		if i > 0 {
			h.mustDo(200, "POST", "/v1/threads/"+th+"/messages", h.keyA, map[string]any{"role": "user", "content": fmt.Sprint("again ", i)})
		}
		id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
		h.waitRun(h.keyA, th, id)
		ids = append(ids, id)
	}
	// Metadata update.
	m := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+ids[0], h.keyA, map[string]any{"metadata": map[string]any{"a": "1"}}).object(t)
	if dig(m, "metadata", "a") != "1" || m["status"] != "completed" {
		t.Errorf("modified: %v", m)
	}
	if g := h.getRun(h.keyA, th, ids[0]); dig(g, "metadata", "a") != "1" || g["status"] != "completed" {
		t.Errorf("after modify: %v", g)
	}
	h.errParam(h.do("POST", "/v1/threads/"+th+"/runs/"+ids[0], h.keyA, map[string]any{"metadata": map[string]any{"k": strings.Repeat("x", 513)}}), "metadata.k")

	// Pagination: newest first by default.
	var page struct {
		Data    []map[string]any `json:"data"`
		FirstID string           `json:"first_id"`
		LastID  string           `json:"last_id"`
		HasMore bool             `json:"has_more"`
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs?limit=2", h.keyA, nil).decode(t, &page)
	if len(page.Data) != 2 || !page.HasMore || page.Data[0]["id"] != ids[2] || page.Data[1]["id"] != ids[1] || page.LastID != ids[1] {
		t.Fatalf("page 1: %+v", page)
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs?limit=2&after="+page.LastID, h.keyA, nil).decode(t, &page)
	if len(page.Data) != 1 || page.HasMore || page.Data[0]["id"] != ids[0] {
		t.Fatalf("page 2: %+v", page)
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs?order=asc&before="+ids[2], h.keyA, nil).decode(t, &page)
	if len(page.Data) != 2 || page.Data[0]["id"] != ids[0] {
		t.Fatalf("before: %+v", page)
	}
	h.errParam(h.do("GET", "/v1/threads/"+th+"/runs?limit=0", h.keyA, nil), "limit")

	// Steps with include[].
	inc := "include[]=step_details.tool_calls[*].file_search.results[*].content"
	steps := h.listAll(h.keyA, "/v1/threads/"+th+"/runs/"+ids[1]+"/steps?"+inc)
	if len(steps) != 1 || steps[0]["run_id"] != ids[1] || steps[0]["type"] != "message_creation" || dig(steps[0], "usage", "total_tokens") == nil {
		t.Fatalf("steps: %v", steps)
	}
	sid := steps[0]["id"].(string)
	s := h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+ids[1]+"/steps/"+sid+"?"+inc, h.keyA, nil).object(t)
	if s["id"] != sid || s["status"] != "completed" {
		t.Errorf("step: %v", s)
	}
	h.errParam(h.do("GET", "/v1/threads/"+th+"/runs/"+ids[1]+"/steps?include[]=nope", h.keyA, nil), "include")
	h.errParam(h.do("GET", "/v1/threads/"+th+"/runs/"+ids[1]+"/steps/"+sid+"?include[]=nope", h.keyA, nil), "include")
	// A step of another run of the same thread is not found.
	if r := h.do("GET", "/v1/threads/"+th+"/runs/"+ids[0]+"/steps/"+sid, h.keyA, nil); r.Status != 404 {
		t.Errorf("step under the wrong run: %s", r)
	}
}

func TestRunPollHelperHeldUntilChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Default: &modelstub.Reply{Text: "slowly", Latency: ptr(modelstub.Duration(300 * time.Millisecond))}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "hi")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	start := time.Now()
	r := h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+id, h.keyA, nil, "X-Stainless-Poll-Helper: true")
	took := time.Since(start)
	run := r.object(t)
	if run["status"] != "completed" {
		t.Errorf("poll helper got %v after %v, want completed", run["status"], took)
	}
	if took > 3*time.Second {
		t.Errorf("held %v", took)
	}
	if ms, err := strconv.Atoi(r.Header.Get("Openai-Poll-After-Ms")); err != nil || ms <= 0 {
		t.Errorf("openai-poll-after-ms %q", r.Header.Get("Openai-Poll-After-Ms"))
	}
	// A plain retrieve of a finished run, and a poll of it, answer at once.
	start = time.Now()
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+id, h.keyA, nil, "X-Stainless-Poll-Helper: true")
	if d := time.Since(start); d > time.Second {
		t.Errorf("poll of a finished run took %v", d)
	}
	// Without the header, an in-progress run is answered as it is.
	th2 := h.newThread(h.keyA, "hi")
	id2 := h.createRun(h.keyA, th2, map[string]any{"assistant_id": asst})["id"].(string)
	if g := h.getRun(h.keyA, th2, id2); g["status"] == "completed" {
		t.Errorf("plain retrieve waited: %v", g["status"])
	}
	h.waitRun(h.keyA, th2, id2)
}

// TestRunModifyDuringExecution: metadata set while the run executes
// survives the executor's later commits.
func TestRunModifyDuringExecution(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Default: &modelstub.Reply{Text: "later", Latency: ptr(modelstub.Duration(2 * time.Second))}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "hi")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "metadata": map[string]any{"a": "1"}})["id"].(string)
	h.waitRun(h.keyA, th, id, "in_progress")
	m := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id, h.keyA, map[string]any{"metadata": map[string]any{"b": "2"}}).object(t)
	if dig(m, "metadata", "b") != "2" || m["status"] != "in_progress" {
		t.Errorf("modify answered %v", m)
	}
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "completed" || dig(run, "metadata", "b") != "2" || dig(run, "metadata", "a") != nil {
		t.Errorf("run after completion: %v", run)
	}
}
