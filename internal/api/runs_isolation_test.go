package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/modelstub"
)

// TestRunTenantIsolation: project B reaches none of A's runs or steps, and
// its cancel, submit and modify attempts change nothing.
func TestRunTenantIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(lifecycleScript()))
	asstA := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`]}`)
	thA := h.newThread(h.keyA, "hello")
	runA := h.createRun(h.keyA, thA, map[string]any{"assistant_id": asstA})["id"].(string)
	h.waitRun(h.keyA, thA, runA)
	stepA := h.stepsOf(h.keyA, thA, runA)[0]["id"].(string)
	// A second thread whose run waits for tool outputs.
	thW := h.newThread(h.keyA, "call the tool")
	runW := h.createRun(h.keyA, thW, map[string]any{"assistant_id": asstA})["id"].(string)
	wait := h.waitRun(h.keyA, thW, runW, "requires_action")
	callID := str(dig(wait, "required_action", "submit_tool_outputs", "tool_calls", 0, "id"))
	// B's own objects.
	asstB := h.newAssistant(h.keyB, `{"model":"gpt-4o-mini"}`)
	thB := h.newThread(h.keyB, "b's thread")

	before := h.fingerprint()
	R, W := "/v1/threads/"+thA+"/runs/"+runA, "/v1/threads/"+thW+"/runs/"+runW
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", R, nil},
		{"GET", "/v1/threads/" + thA + "/runs", nil},
		{"GET", R + "/steps", nil},
		{"GET", R + "/steps/" + stepA, nil},
		{"POST", R, map[string]any{"metadata": map[string]any{"x": "y"}}},
		{"POST", R + "/cancel", nil},
		{"POST", W, map[string]any{"metadata": map[string]any{"x": "y"}}},
		{"POST", W + "/cancel", nil},
		{"POST", W + "/submit_tool_outputs", map[string]any{"tool_outputs": []any{map[string]any{"tool_call_id": callID, "output": "x"}}}},
		{"POST", W + "/submit_tool_outputs", map[string]any{"tool_outputs": []any{map[string]any{"tool_call_id": callID, "output": "x"}}, "stream": true}},
		{"POST", "/v1/threads/" + thA + "/runs", map[string]any{"assistant_id": asstB}},
		{"POST", "/v1/threads/" + thA + "/runs", map[string]any{"assistant_id": asstB, "stream": true}},
		{"POST", "/v1/threads/" + thB + "/runs", map[string]any{"assistant_id": asstA}},
		{"POST", "/v1/threads/runs", map[string]any{"assistant_id": asstA}},
		// A's run under B's thread.
		{"GET", "/v1/threads/" + thB + "/runs/" + runA, nil},
		{"POST", "/v1/threads/" + thB + "/runs/" + runW + "/cancel", nil},
	} {
		r := h.do(c.method, c.path, h.keyB, c.body)
		if r.Status != 404 {
			t.Errorf("B %s %s: %s", c.method, c.path, r)
			continue
		}
		if e := r.apiError(t); e.Error.Type != "invalid_request_error" || strings.Contains(e.Error.Message, "project") {
			t.Errorf("B %s %s: error %+v", c.method, c.path, e.Error)
		}
	}
	if h.fingerprint() != before {
		t.Error("B's requests changed the database")
	}
	// A still sees its runs as they were and can finish its waiting run.
	if r := h.getRun(h.keyA, thW, runW); r["status"] != "requires_action" || len(r["metadata"].(map[string]any)) != 0 {
		t.Errorf("A's waiting run: %v", r)
	}
	h.mustDo(200, "POST", W+"/submit_tool_outputs", h.keyA, map[string]any{"tool_outputs": []any{map[string]any{"tool_call_id": callID, "output": "x"}}})
	if r := h.waitRun(h.keyA, thW, runW); r["status"] != "completed" {
		t.Errorf("A's run: %v", r)
	}
}

// TestRunBadInput: malformed run requests get a 400 naming the parameter,
// and write nothing.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "call"}, Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{}`)}}}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`]}`)
	th := h.newThread(h.keyA, "hello")
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	h.waitRun(h.keyA, th, run)
	step := h.stepsOf(h.keyA, th, run)[0]["id"].(string)

	R, TR := "/v1/threads/"+th+"/runs/"+run, "/v1/threads/"+th+"/runs"
	body := func(extra string) string { return `{"assistant_id":"` + asst + `"` + extra + `}` }
	tools21 := make([]string, 21)
	for i := range tools21 {
		tools21[i] = `{"type":"code_interpreter"}`
	}
	before := h.fingerprint()
	cases := []struct {
		name, method, path string
		body               any
		param              string
		status             int
	}{
		{"malformed", "POST", TR, `{"assistant_id":`, "", 400},
		{"unknown field", "POST", TR, body(`,"foo":1`), "foo", 400},
		{"v1 field on v2", "POST", TR, body(`,"file_ids":[]`), "file_ids", 400},
		{"missing assistant", "POST", TR, `{}`, "assistant_id", 400},
		{"assistant number", "POST", TR, `{"assistant_id":5}`, "assistant_id", 400},
		{"temperature string", "POST", TR, body(`,"temperature":"hot"`), "temperature", 400},
		{"temperature 3", "POST", TR, body(`,"temperature":3`), "temperature", 400},
		{"top_p 2", "POST", TR, body(`,"top_p":2`), "top_p", 400},
		{"max_prompt_tokens 100", "POST", TR, body(`,"max_prompt_tokens":100`), "max_prompt_tokens", 400},
		{"max_completion_tokens 255", "POST", TR, body(`,"max_completion_tokens":255`), "max_completion_tokens", 400},
		{"max_prompt_tokens string", "POST", TR, body(`,"max_prompt_tokens":"many"`), "max_prompt_tokens", 400},
		{"tools > 20", "POST", TR, body(`,"tools":[` + strings.Join(tools21, ",") + `]`), "tools", 400},
		{"retrieval on v2", "POST", TR, body(`,"tools":[{"type":"retrieval"}]`), "tools[0].type", 400},
		{"truncation type", "POST", TR, body(`,"truncation_strategy":{"type":"first"}`), "truncation_strategy.type", 400},
		{"truncation missing last_messages", "POST", TR, body(`,"truncation_strategy":{"type":"last_messages"}`), "truncation_strategy.last_messages", 400},
		{"truncation last_messages 0", "POST", TR, body(`,"truncation_strategy":{"type":"last_messages","last_messages":0}`), "truncation_strategy.last_messages", 400},
		{"tool_choice unknown function", "POST", TR, body(`,"tool_choice":{"type":"function","function":{"name":"nope"}}`), "tool_choice", 400},
		{"tool_choice function not in run tools", "POST", TR, body(`,"tools":[],"tool_choice":{"type":"function","function":{"name":"get_weather"}}`), "tool_choice", 400},
		{"tool_choice mode", "POST", TR, body(`,"tool_choice":"always"`), "tool_choice", 400},
		{"tool_choice file_search absent", "POST", TR, body(`,"tool_choice":{"type":"file_search"}`), "tool_choice", 400},
		{"response_format", "POST", TR, body(`,"response_format":{"type":"xml"}`), "response_format.type", 400},
		{"additional message role", "POST", TR, body(`,"additional_messages":[{"role":"system","content":"x"}]`), "additional_messages[0].role", 400},
		{"additional message file", "POST", TR, body(`,"additional_messages":[{"role":"user","content":"x","attachments":[{"file_id":"file-nope","tools":[{"type":"file_search"}]}]}]`), "additional_messages[0].attachments[0].file_id", 400},
		{"metadata too many", "POST", TR, map[string]any{"assistant_id": asst, "metadata": metadataN(17)}, "metadata", 400},
		{"unknown assistant", "POST", TR, `{"assistant_id":"asst_nope"}`, "", 404},
		{"thread prefix", "POST", "/v1/threads/th_x/runs", body(``), "thread_id", 400},
		{"unknown thread", "POST", "/v1/threads/thread_nope/runs", body(``), "", 404},
		{"run prefix get", "GET", TR + "/xyz", nil, "run_id", 400},
		{"run prefix cancel", "POST", TR + "/xyz/cancel", nil, "run_id", 400},
		{"run prefix submit", "POST", TR + "/msg_x/submit_tool_outputs", `{"tool_outputs":[]}`, "run_id", 400},
		{"step prefix", "GET", R + "/steps/run_x", nil, "step_id", 400},
		{"unknown run", "GET", TR + "/run_nope", nil, "", 404},
		{"unknown step", "GET", R + "/steps/step_nope", nil, "", 404},
		{"step under unknown thread", "GET", "/v1/threads/thread_nope/runs/" + run + "/steps/" + step, nil, "", 404},
		{"steps under unknown thread", "GET", "/v1/threads/thread_nope/runs/" + run + "/steps", nil, "", 404},
		{"modify unknown field", "POST", R, `{"status":"cancelled"}`, "status", 400},
		{"modify metadata string", "POST", R, `{"metadata":"x"}`, "metadata", 400},
		{"submit on completed run", "POST", R + "/submit_tool_outputs", `{"tool_outputs":[{"tool_call_id":"call_x","output":"y"}]}`, "", 400},
		{"submit unknown field", "POST", R + "/submit_tool_outputs", `{"tool_outputs":[],"x":1}`, "x", 400},
		{"submit outputs object", "POST", R + "/submit_tool_outputs", `{"tool_outputs":{}}`, "tool_outputs", 400},
		{"cancel completed", "POST", R + "/cancel", nil, "", 400},
		{"list limit", "GET", TR + "?limit=101", nil, "limit", 400},
		{"list order", "GET", TR + "?order=up", nil, "order", 400},
		{"steps include", "GET", R + "/steps?include[]=x", nil, "include", 400},
		{"create include", "POST", TR + "?include[]=x", body(``), "include", 400},
		{"thread-and-run unknown field", "POST", "/v1/threads/runs", body(`,"foo":1`), "foo", 400},
		{"thread-and-run bad message", "POST", "/v1/threads/runs", body(`,"thread":{"messages":[{"role":"user"}]}`), "thread.messages[0].content", 400},
		{"thread-and-run temperature", "POST", "/v1/threads/runs", body(`,"temperature":3`), "temperature", 400},
		{"thread-and-run truncation", "POST", "/v1/threads/runs", body(`,"truncation_strategy":{"type":"auto","last_messages":2}`), "truncation_strategy.last_messages", 400},
		{"thread-and-run tool_choice", "POST", "/v1/threads/runs", body(`,"tool_choice":{"type":"function","function":{"name":"nope"}}`), "tool_choice", 400},
		{"thread-and-run unknown assistant", "POST", "/v1/threads/runs", `{"assistant_id":"asst_nope"}`, "", 404},
		{"thread-and-run stream unknown assistant", "POST", "/v1/threads/runs", `{"assistant_id":"asst_nope","stream":true}`, "", 404},
		{"stream bad tool_choice", "POST", TR, body(`,"stream":true,"tool_choice":{"type":"function","function":{"name":"nope"}}`), "tool_choice", 400},
	}
	for _, c := range cases {
		r := h.do(c.method, c.path, h.keyA, c.body)
		if r.Status != c.status {
			t.Errorf("%s: got %s, want %d", c.name, r, c.status)
			continue
		}
		e := r.apiError(t)
		got := ""
		if e.Error.Param != nil {
			got = *e.Error.Param
		}
		if c.param != "" && got != c.param {
			t.Errorf("%s: param %q, want %q (%s)", c.name, got, c.param, e.Error.Message)
		}
	}
	if h.fingerprint() != before {
		t.Error("bad requests changed the database")
	}
}
