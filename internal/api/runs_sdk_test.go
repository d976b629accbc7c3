package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// streamed collects what an openai-go run stream delivered.
type streamed struct {
	events []string
	text   string
	run    openai.Run
	thread string
	calls  []openai.RequiredActionFunctionToolCall
}

func collect(t *testing.T, stream interface {
	Next() bool
	Current() openai.AssistantStreamEventUnion
	Err() error
	Close() error
}) streamed {
	t.Helper()
	defer stream.Close()
	var s streamed
	for stream.Next() {
		ev := stream.Current()
		// Runs of deltas count once: their number depends on chunking.
		if !strings.HasSuffix(ev.Event, ".delta") || len(s.events) == 0 || s.events[len(s.events)-1] != ev.Event {
			s.events = append(s.events, ev.Event)
		}
		switch ev.Event {
		case "thread.created":
			s.thread = ev.AsThreadCreated().Data.ID
		case "thread.message.delta":
			for _, c := range ev.AsThreadMessageDelta().Data.Delta.Content {
				s.text += c.Text.Value
			}
		case "thread.run.requires_action":
			s.run = ev.AsThreadRunRequiresAction().Data
			s.calls = s.run.RequiredAction.SubmitToolOutputs.ToolCalls
		case "thread.run.completed":
			s.run = ev.AsThreadRunCompleted().Data
		case "thread.run.failed":
			s.run = ev.AsThreadRunFailed().Data
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return s
}

// TestGoSDKStreamHelpers drives the openai-go streaming methods through a
// function-calling loop: NewAndRunStreaming stops at requires_action,
// SubmitToolOutputsStreaming finishes the run, NewStreaming runs again.
func TestGoSDKStreamHelpers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(weatherScript()))
	ctx := context.Background()
	asst, err := h.A.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "gpt-4o", Tools: []openai.AssistantToolUnionParam{{
		OfFunction: &openai.FunctionToolParam{Function: openai.FunctionDefinitionParam{Name: "get_weather",
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	first := collect(t, h.A.Beta.Threads.NewAndRunStreaming(ctx, openai.BetaThreadNewAndRunParams{AssistantID: asst.ID,
		Thread: openai.BetaThreadNewAndRunParamsThread{Messages: []openai.BetaThreadNewAndRunParamsThreadMessage{{
			Role: "user", Content: openai.BetaThreadNewAndRunParamsThreadMessageContentUnion{OfString: openai.String("weather in Paris?")}}}}}))
	want := "thread.created thread.run.created thread.run.queued thread.run.in_progress thread.run.step.created thread.run.step.in_progress thread.run.step.delta thread.run.requires_action"
	if got := strings.Join(first.events, " "); got != want {
		t.Errorf("first stream:\n%s\nwant\n%s", got, want)
	}
	if first.thread == "" || first.run.Status != "requires_action" || len(first.calls) != 1 || first.calls[0].Function.Name != "get_weather" {
		t.Fatalf("first stream ended with %+v", first.run)
	}

	second := collect(t, h.A.Beta.Threads.Runs.SubmitToolOutputsStreaming(ctx, first.thread, first.run.ID, openai.BetaThreadRunSubmitToolOutputsParams{
		ToolOutputs: []openai.BetaThreadRunSubmitToolOutputsParamsToolOutput{{ToolCallID: openai.String(first.calls[0].ID), Output: openai.String("rain")}}}))
	want = "thread.run.step.completed thread.run.queued thread.run.in_progress thread.run.step.created thread.run.step.in_progress thread.message.created thread.message.in_progress thread.message.delta thread.message.completed thread.run.step.completed thread.run.completed"
	if got := strings.Join(second.events, " "); got != want {
		t.Errorf("submit stream:\n%s\nwant\n%s", got, want)
	}
	if second.text != "The weather: rain" || second.run.Status != "completed" || second.run.Usage.TotalTokens == 0 {
		t.Errorf("submit stream: text %q run %+v", second.text, second.run)
	}

	if _, err := h.A.Beta.Threads.Messages.New(ctx, first.thread, openai.BetaThreadMessageNewParams{Role: "user",
		Content: openai.BetaThreadMessageNewParamsContentUnion{OfString: openai.String("thanks")}}); err != nil {
		t.Fatal(err)
	}
	third := collect(t, h.A.Beta.Threads.Runs.NewStreaming(ctx, first.thread, openai.BetaThreadRunNewParams{AssistantID: asst.ID}))
	if third.text != "You said: thanks" || third.run.Status != "completed" {
		t.Errorf("third stream: text %q run %+v", third.text, third.run)
	}
	// The thread holds the user's messages and both answers, in order.
	msgs, err := h.A.Beta.Threads.Messages.List(ctx, first.thread, openai.BetaThreadMessageListParams{Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs.Data {
		got = append(got, string(m.Role)+": "+m.Content[0].Text.Value)
	}
	if strings.Join(got, " | ") != "user: weather in Paris? | assistant: The weather: rain | user: thanks | assistant: You said: thanks" {
		t.Errorf("thread: %v", got)
	}
}
