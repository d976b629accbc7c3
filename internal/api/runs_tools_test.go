package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/modelstub"
)

const clockTool = `{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}`

func toolsScript() *modelstub.Script {
	return &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Results: {{last_tool_result}}"}},
		{Match: modelstub.Match{UserContains: "both", ToolAvailable: "get_time"}, Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{
			{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)},
			{Name: "get_time", Arguments: json.RawMessage(`{}`)},
		}}},
		{Match: modelstub.Match{UserContains: "weather", ToolAvailable: "get_weather"}, Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{
			{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}}}},
	}}
}

func TestRunToolChoiceReachesModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(toolsScript()))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`,`+clockTool+`]}`)
	cases := []struct {
		choice any
		want   string
	}{
		{"none", `"none"`},
		{"required", `"required"`},
		{"auto", `"auto"`},
		{map[string]any{"type": "function", "function": map[string]any{"name": "get_time"}}, `{"type":"function","function":{"name":"get_time"}}`},
	}
	for i, c := range cases {
		th := h.newThread(h.keyA, "hello")
		run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "tool_choice": c.choice, "parallel_tool_calls": false})
		b, _ := json.Marshal(run["tool_choice"])
		if !jsonEqual(string(b), c.want) || run["parallel_tool_calls"] != false {
			t.Errorf("case %d: run tool_choice %s parallel %v", i, b, run["parallel_tool_calls"])
		}
		if r := h.waitRun(h.keyA, th, run["id"].(string)); r["status"] != "completed" {
			t.Fatalf("case %d: run %v", i, r)
		}
		reqs := h.chatRequests()
		if len(reqs) != i+1 {
			t.Fatalf("%d model requests", len(reqs))
		}
		if !jsonEqual(string(reqs[i].ToolChoice), c.want) || len(reqs[i].Tools) != 2 {
			t.Errorf("case %d: model tool_choice %s (want %s), %d tools", i, reqs[i].ToolChoice, c.want, len(reqs[i].Tools))
		}
		if reqs[i].ParallelToolCalls == nil || *reqs[i].ParallelToolCalls {
			t.Errorf("case %d: model parallel_tool_calls %v", i, reqs[i].ParallelToolCalls)
		}
	}
}

func TestRunParallelToolCallsAndSubmitValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(toolsScript()))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","tools":[`+weatherTool+`,`+clockTool+`]}`)
	th := h.newThread(h.keyA, "both please")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id, "requires_action", "completed", "failed")
	calls, _ := dig(run, "required_action", "submit_tool_outputs", "tool_calls").([]any)
	if run["status"] != "requires_action" || len(calls) != 2 ||
		dig(calls[0], "function", "name") != "get_weather" || dig(calls[1], "function", "name") != "get_time" ||
		dig(calls[0], "function", "arguments") != `{"city":"Oslo"}` {
		t.Fatalf("run: %v", run)
	}
	id0, id1 := str(dig(calls[0], "id")), str(dig(calls[1], "id"))
	if !strings.HasPrefix(id0, "call_") || id0 == id1 {
		t.Errorf("call ids %q %q", id0, id1)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 1 || steps[0]["type"] != "tool_calls" || steps[0]["status"] != "in_progress" ||
		len(dig(steps[0], "step_details", "tool_calls").([]any)) != 2 {
		t.Errorf("steps: %v", steps)
	}

	path := "/v1/threads/" + th + "/runs/" + id + "/submit_tool_outputs"
	out := func(id, o string) map[string]any { return map[string]any{"tool_call_id": id, "output": o} }
	before := h.fingerprint()
	for name, c := range map[string]struct {
		outputs []map[string]any
		param   string
	}{
		"unknown":   {[]map[string]any{out(id0, "a"), out(id1, "b"), out("call_nope", "c")}, "tool_outputs[2].tool_call_id"},
		"missing":   {[]map[string]any{out(id0, "a")}, "tool_outputs"},
		"duplicate": {[]map[string]any{out(id0, "a"), out(id0, "a"), out(id1, "b")}, "tool_outputs[1].tool_call_id"},
		"no id":     {[]map[string]any{{"output": "a"}, out(id1, "b")}, "tool_outputs[0].tool_call_id"},
	} {
		r := h.do("POST", path, h.keyA, map[string]any{"tool_outputs": c.outputs})
		if r.Status != 400 {
			t.Errorf("%s: %s", name, r)
			continue
		}
		h.errParam(r, c.param)
	}
	h.errParam(h.do("POST", path, h.keyA, map[string]any{}), "tool_outputs")
	if h.fingerprint() != before {
		t.Error("refused submits changed the database")
	}
	if r := h.getRun(h.keyA, th, id); r["status"] != "requires_action" {
		t.Fatalf("run after refused submits: %v", r)
	}

	// A valid submit, streamed.
	r := h.mustDo(200, "POST", path, h.keyA, map[string]any{"tool_outputs": []map[string]any{out(id1, "noon"), out(id0, "sunny")}, "stream": true})
	events, err := parseSSE(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		if ev.Name == "thread.message.delta" && names[len(names)-1] == ev.Name {
			continue
		}
		names = append(names, ev.Name)
	}
	want := []string{"thread.run.step.completed", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
		"thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress", "thread.message.delta",
		"thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n%v\nwant\n%v", names, want)
	}
	// The tool step carries both outputs; the model got both results.
	steps = h.stepsOf(h.keyA, th, id)
	if len(steps) != 2 || steps[0]["status"] != "completed" ||
		dig(steps[0], "step_details", "tool_calls", 0, "function", "output") != "sunny" ||
		dig(steps[0], "step_details", "tool_calls", 1, "function", "output") != "noon" {
		t.Errorf("steps: %v", steps)
	}
	reqs := h.chatRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests", len(reqs))
	}
	var tools []string
	for _, m := range reqs[1].Messages {
		if m.Role == "tool" {
			tools = append(tools, string(m.Content))
		}
	}
	if strings.Join(tools, ",") != `"sunny","noon"` {
		t.Errorf("tool results sent %v", tools)
	}
	// Submitting again is refused: the run no longer waits.
	r2 := h.do("POST", path, h.keyA, map[string]any{"tool_outputs": []map[string]any{out(id0, "a"), out(id1, "b")}})
	if r2.Status != 400 {
		t.Errorf("second submit: %s", r2)
	}
}
