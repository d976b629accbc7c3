package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/assistd/assistd/internal/modelstub"
)

// weatherScript answers get_weather questions with a function call, then
// turns the tool's output into an answer.
func weatherScript() *modelstub.Script {
	return &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "The weather: {{last_tool_result}}"}},
		{Match: modelstub.Match{UserContains: "weather", ToolAvailable: "get_weather"},
			Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}}},
	}}
}

// pollRun retrieves the run until it leaves queued/in_progress/cancelling.
func pollRun(t *testing.T, c openai.Client, threadID, runID string) *openai.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		run, err := c.Beta.Threads.Runs.Get(ctx, threadID, runID)
		if err != nil {
			t.Fatalf("get run: %v", err)
		}
		switch run.Status {
		case "queued", "in_progress", "cancelling":
			time.Sleep(5 * time.Millisecond)
			continue
		}
		return run
	}
}

func TestRunCompletesWithAssistantMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	asst, err := h.A.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "gpt-4o-mini", Instructions: openai.String("Be brief.")})
	if err != nil {
		t.Fatal(err)
	}
	th, err := h.A.Beta.Threads.New(ctx, openai.BetaThreadNewParams{Messages: []openai.BetaThreadNewParamsMessage{{
		Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: openai.String("hello there")}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.A.Beta.Threads.Runs.New(ctx, th.ID, openai.BetaThreadRunNewParams{AssistantID: asst.ID})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "queued" || run.Instructions != "Be brief." || run.Model != "gpt-4o-mini" {
		t.Errorf("created run: %+v", run)
	}
	run = pollRun(t, h.A, th.ID, run.ID)
	if run.Status != "completed" || run.Usage.TotalTokens == 0 || run.CompletedAt == 0 || run.StartedAt == 0 {
		t.Fatalf("run: %s", run.RawJSON())
	}
	msgs, err := h.A.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{RunID: openai.String(run.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Data) != 1 || msgs.Data[0].Role != "assistant" || msgs.Data[0].AssistantID != asst.ID ||
		msgs.Data[0].Content[0].Text.Value != "You said: hello there" || msgs.Data[0].Status != "completed" {
		t.Fatalf("messages: %s", msgs.RawJSON())
	}
	steps, err := h.A.Beta.Threads.Runs.Steps.List(ctx, th.ID, run.ID, openai.BetaThreadRunStepListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps.Data) != 1 || steps.Data[0].Type != "message_creation" || steps.Data[0].StepDetails.MessageCreation.MessageID != msgs.Data[0].ID || steps.Data[0].Status != "completed" {
		t.Fatalf("steps: %s", steps.RawJSON())
	}
	// The model saw the instructions first and the user's message.
	reqs := h.model.Requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), "Be brief.") || !strings.Contains(string(reqs[0].Body), "hello there") {
		t.Errorf("model requests: %+v", reqs)
	}
}

func TestFunctionCallingLoop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(weatherScript()))
	ctx := context.Background()
	asst, err := h.A.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "gpt-4o", Tools: []openai.AssistantToolUnionParam{{
		OfFunction: &openai.FunctionToolParam{Function: openai.FunctionDefinitionParam{Name: "get_weather",
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.A.Beta.Threads.NewAndRun(ctx, openai.BetaThreadNewAndRunParams{AssistantID: asst.ID,
		Thread: openai.BetaThreadNewAndRunParamsThread{Messages: []openai.BetaThreadNewAndRunParamsThreadMessage{{
			Role: "user", Content: openai.BetaThreadNewAndRunParamsThreadMessageContentUnion{OfString: openai.String("What's the weather in Paris?")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	run = pollRun(t, h.A, run.ThreadID, run.ID)
	if run.Status != "requires_action" || len(run.RequiredAction.SubmitToolOutputs.ToolCalls) != 1 {
		t.Fatalf("run: %s", run.RawJSON())
	}
	call := run.RequiredAction.SubmitToolOutputs.ToolCalls[0]
	if call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("call: %s", call.RawJSON())
	}
	run, err = h.A.Beta.Threads.Runs.SubmitToolOutputs(ctx, run.ThreadID, run.ID, openai.BetaThreadRunSubmitToolOutputsParams{
		ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{{ToolCallID: openai.String(call.ID), Output: openai.String("22C and sunny")}}})
	if err != nil {
		t.Fatal(err)
	}
	run = pollRun(t, h.A, run.ThreadID, run.ID)
	if run.Status != "completed" {
		t.Fatalf("run: %s", run.RawJSON())
	}
	msgs, err := h.A.Beta.Threads.Messages.List(ctx, run.ThreadID, openai.BetaThreadMessageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Data) != 2 || msgs.Data[0].Content[0].Text.Value != "The weather: 22C and sunny" {
		t.Fatalf("messages: %s", msgs.RawJSON())
	}
	steps, err := h.A.Beta.Threads.Runs.Steps.List(ctx, run.ThreadID, run.ID, openai.BetaThreadRunStepListParams{Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps.Data) != 2 || steps.Data[0].Type != "tool_calls" || steps.Data[0].StepDetails.ToolCalls[0].Function.Output != "22C and sunny" {
		t.Fatalf("steps: %s", steps.RawJSON())
	}
}

func TestStreamedRunEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.mustDo(200, "POST", "/v1/assistants", h.keyA, `{"model":"gpt-4o-mini"}`).object(t)["id"].(string)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, `{"messages":[{"role":"user","content":"stream me"}]}`).object(t)["id"].(string)
	r := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs", h.keyA, `{"assistant_id":"`+asst+`","stream":true}`)
	events, err := parseSSE(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var text string
	for _, ev := range events {
		if ev.Name == "thread.message.delta" {
			var d struct {
				Delta struct {
					Content []struct {
						Text struct{ Value string }
					}
				}
			}
			json.Unmarshal([]byte(ev.Data), &d)
			text += d.Delta.Content[0].Text.Value
			if names[len(names)-1] == "thread.message.delta" {
				continue
			}
		}
		names = append(names, ev.Name)
	}
	want := []string{"thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
		"thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress", "thread.message.delta",
		"thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n%v\nwant\n%v", names, want)
	}
	if text != "You said: stream me" {
		t.Errorf("streamed text %q", text)
	}
}

// TestRunTruncatedByTheModel: a reply cut at the model's own output limit
// (no max_completion_tokens on the run) still ends the run incomplete, like
// its message, rather than completed.
func TestRunTruncatedByTheModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Default: &modelstub.Reply{Text: "cut off", Truncate: true}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o"}`)
	th := h.newThread(h.keyA, "long story please")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "incomplete" || dig(run, "incomplete_details", "reason") != "max_completion_tokens" {
		t.Fatalf("run: %v", run)
	}
	msgs := h.messagesOf(h.keyA, th)
	last := msgs[len(msgs)-1]
	if last["status"] != "incomplete" || dig(last, "incomplete_details", "reason") != "max_tokens" || dig(last, "content", 0, "text", "value") != "cut off" {
		t.Errorf("message: %v", last)
	}
}
