package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/schema"
)

// echoInterpreter is a code_interpreter executor that "runs" code by
// reporting it: enough to drive the engine's built-in tool dispatch.
type echoInterpreter struct{}

func (echoInterpreter) Execute(_ context.Context, call *engine.BuiltinCall) (schema.ToolCall, error) {
	var args struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil {
		return schema.ToolCall{}, fmt.Errorf("bad arguments %q: %w", call.Arguments, err)
	}
	logs := "ran " + args.Code
	return schema.ToolCall{CodeInterpreter: &schema.CodeInterpreterCall{Input: args.Code,
		Outputs: []schema.CodeOutput{{Type: "logs", Logs: &logs}}}}, nil
}

func (echoInterpreter) Replay(c schema.ToolCall) (string, string) {
	args, _ := json.Marshal(map[string]string{"code": c.CodeInterpreter.Input})
	return string(args), *c.CodeInterpreter.Outputs[0].Logs
}

// TestBuiltinToolDispatch: a built-in tool with an executor is offered to
// the model as a function with the documented schema, executed server-side
// without requires_action, recorded in its own shape, and its output reaches
// the model's next turn. A built-in without an executor is not offered.
func TestBuiltinToolDispatch(t *testing.T) {
	t.Parallel()
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Result: {{last_tool_result}}"}},
		{Match: modelstub.Match{ToolAvailable: "code_interpreter"},
			Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "code_interpreter", Arguments: json.RawMessage(`{"code":"print(6*7)"}`)}}}},
	}}
	h := newHarness(t, withScript(script), withEngine(func(c *engine.Config) {
		c.Builtins = map[string]engine.BuiltinTool{schema.ToolCodeInterpreter: echoInterpreter{}}
	}))
	asst := h.mustDo(200, "POST", "/v1/assistants", h.keyA, `{"model":"gpt-4o","tools":[{"type":"code_interpreter"},{"type":"file_search"}]}`).object(t)["id"].(string)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, `{"messages":[{"role":"user","content":"compute"}]}`).object(t)["id"].(string)
	r := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs", h.keyA, `{"assistant_id":"`+asst+`","stream":true}`)
	events, err := parseSSE(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		if n := len(names); n == 0 || names[n-1] != ev.Name || !strings.HasSuffix(ev.Name, ".delta") {
			names = append(names, ev.Name)
		}
	}
	got := strings.Join(names, " ")
	if !strings.Contains(got, "thread.run.step.created thread.run.step.in_progress thread.run.step.delta thread.run.step.completed thread.run.step.created") ||
		!strings.HasSuffix(got, "thread.message.completed thread.run.step.completed thread.run.completed done") || strings.Contains(got, "requires_action") {
		t.Errorf("events: %s", got)
	}

	var steps struct {
		Data []schema.RunStep `json:"data"`
	}
	runID := ""
	for _, ev := range events {
		if ev.Name == "thread.run.created" {
			var run schema.Run
			json.Unmarshal([]byte(ev.Data), &run)
			runID = run.ID
		}
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+runID+"/steps?order=asc", h.keyA, nil).decode(t, &steps)
	if len(steps.Data) != 2 || steps.Data[0].Type != "tool_calls" || steps.Data[0].Status != "completed" {
		t.Fatalf("steps: %+v", steps.Data)
	}
	call := steps.Data[0].StepDetails.ToolCalls[0]
	if call.Type != "code_interpreter" || call.CodeInterpreter == nil || call.CodeInterpreter.Input != "print(6*7)" ||
		len(call.CodeInterpreter.Outputs) != 1 || *call.CodeInterpreter.Outputs[0].Logs != "ran print(6*7)" || !strings.HasPrefix(call.ID, "call_") {
		t.Errorf("recorded call: %+v", call)
	}
	var msgs struct {
		Data []schema.Message `json:"data"`
	}
	h.mustDo(200, "GET", "/v1/threads/"+th+"/messages", h.keyA, nil).decode(t, &msgs)
	if len(msgs.Data) != 2 || msgs.Data[0].Content[0].Text.Value != "Result: ran print(6*7)" {
		t.Errorf("messages: %+v", msgs.Data)
	}

	// The model was offered code_interpreter with its documented schema,
	// and not file_search (no executor).
	reqs := h.model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests", len(reqs))
	}
	var body struct {
		Tools []struct {
			Function struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	json.Unmarshal(reqs[0].Body, &body)
	want, _ := engine.BuiltinFunction(schema.ToolCodeInterpreter)
	if len(body.Tools) != 1 || body.Tools[0].Function.Name != "code_interpreter" || !jsonEqual(string(body.Tools[0].Function.Parameters), string(want.Parameters)) {
		t.Errorf("offered tools: %s", reqs[0].Body)
	}
}
