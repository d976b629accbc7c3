package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func anEvent(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }

// anthropicToolStream is a real-shaped Messages stream: text, then a
// tool_use block with its input streamed as partial JSON.
func anthropicToolStream() []string {
	return []string{
		anEvent("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`),
		anEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		anEvent("ping", `{"type":"ping"}`),
		anEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}`),
		anEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"check."}}`),
		anEvent("content_block_stop", `{"type":"content_block_stop","index":0}`),
		anEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`),
		anEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`),
		anEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}`),
		anEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}`),
		anEvent("content_block_stop", `{"type":"content_block_stop","index":1}`),
		anEvent("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}}`),
		anEvent("content_block_stop", `{"type":"content_block_stop","index":2}`),
		anEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}`),
		anEvent("message_stop", `{"type":"message_stop"}`),
	}
}

func TestAnthropicStream(t *testing.T) {
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, anthropicToolStream()...) })
	p := NewAnthropic(AnthropicConfig{BaseURL: srv.URL, APIKey: "ak-test"})
	var text []string
	var tools []ToolCallDelta
	resp, err := p.Complete(context.Background(), &Request{Model: "claude-sonnet-4-5", Messages: []Message{TextMessage(RoleUser, "weather?")}},
		func(d Delta) {
			if d.ToolCall != nil {
				tools = append(tools, *d.ToolCall)
			} else {
				text = append(text, d.Text)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Let me check." || resp.FinishReason != FinishToolCalls || resp.Model != "claude-sonnet-4-5-20250929" {
		t.Fatalf("got %+v", resp)
	}
	want := []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city": "Paris"}`}, {ID: "toolu_2", Name: "get_time", Arguments: "{}"}}
	if fmt.Sprint(resp.ToolCalls) != fmt.Sprint(want) {
		t.Fatalf("tool calls %+v", resp.ToolCalls)
	}
	if resp.Usage != (Usage{PromptTokens: 25, CompletionTokens: 42}) {
		t.Fatalf("usage %+v", resp.Usage)
	}
	if strings.Join(text, "|") != "Let me |check." {
		t.Fatalf("text deltas %q", text)
	}
	if len(tools) != 4 || tools[0] != (ToolCallDelta{Index: 0, ID: "toolu_1", Name: "get_weather"}) ||
		tools[1] != (ToolCallDelta{Index: 0, Arguments: `{"city": `}) || tools[3] != (ToolCallDelta{Index: 1, ID: "toolu_2", Name: "get_time"}) {
		t.Fatalf("tool deltas %+v", tools)
	}
	if srv.paths[0] != "/v1/messages" || srv.apiKey[0] != "ak-test" {
		t.Fatalf("path %q x-api-key %q", srv.paths[0], srv.apiKey[0])
	}
}

func TestAnthropicFinishReasons(t *testing.T) {
	for stop, want := range map[string]string{"end_turn": FinishStop, "max_tokens": FinishLength, "tool_use": FinishToolCalls, "stop_sequence": FinishStop} {
		srv := newSSEServer(t, func(w http.ResponseWriter, _ int) {
			writeSSE(w,
				anEvent("message_start", `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}`),
				anEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
				anEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}`),
				anEvent("content_block_stop", `{"type":"content_block_stop","index":0}`),
				anEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"`+stop+`"},"usage":{"output_tokens":2}}`),
				anEvent("message_stop", `{"type":"message_stop"}`))
		})
		resp, err := NewAnthropic(AnthropicConfig{BaseURL: srv.URL}).Complete(context.Background(), &Request{Model: "claude-x", Messages: []Message{TextMessage(RoleUser, "x")}}, nil)
		if err != nil || resp.FinishReason != want || resp.Text != "ok" {
			t.Fatalf("%s: %+v %v", stop, resp, err)
		}
	}
}

func TestAnthropicRequestBody(t *testing.T) {
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, anthropicToolStream()...) })
	temp, par := 0.2, false
	req := &Request{
		Model: "claude-sonnet-4-5",
		Messages: []Message{
			TextMessage(RoleSystem, "be brief"),
			TextMessage(RoleUser, "first"),
			{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "see"}, {Type: PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo="}, {Type: PartImage, ImageURL: "https://x/cat.jpg"}}},
			{Role: RoleAssistant, Parts: []Part{{Type: PartText, Text: "calling"}}, ToolCalls: []ToolCall{{ID: "toolu_a", Name: "look", Arguments: `{"q":1}`}, {ID: "toolu_b", Name: "look", Arguments: `{"q":2}`}}},
			{Role: RoleTool, ToolCallID: "toolu_a", Parts: []Part{{Type: PartText, Text: "cat"}}},
			{Role: RoleTool, ToolCallID: "toolu_b", Parts: []Part{{Type: PartText, Text: "dog"}}},
		},
		Tools:             []Tool{{Name: "look", Description: "looks", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"integer"}},"required":["q"],"additionalProperties":false}`)}, {Name: "noargs"}},
		ToolChoice:        "required",
		ParallelToolCalls: &par,
		Temperature:       &temp,
	}
	if _, err := NewAnthropic(AnthropicConfig{BaseURL: srv.URL}).Complete(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(srv.body(0))
	for _, want := range []string{
		`"max_tokens":4096`, `"model":"claude-sonnet-4-5"`, `"stream":true`, `"temperature":0.2`,
		`"system":[{"text":"be brief","type":"text"}]`,
		`"tool_choice":{"disable_parallel_tool_use":true,"type":"any"}`,
		// Two user messages merged into one turn.
		`{"content":[{"text":"first","type":"text"},{"text":"see","type":"text"},{"source":{"data":"iVBORw0KGgo=","media_type":"image/png","type":"base64"},"type":"image"},{"source":{"type":"url","url":"https://x/cat.jpg"},"type":"image"}],"role":"user"}`,
		`{"content":[{"text":"calling","type":"text"},{"id":"toolu_a","input":{"q":1},"name":"look","type":"tool_use"},{"id":"toolu_b","input":{"q":2},"name":"look","type":"tool_use"}],"role":"assistant"}`,
		// Tool results become one user turn.
		`{"content":[{"content":[{"text":"cat","type":"text"}],"tool_use_id":"toolu_a","type":"tool_result"},{"content":[{"text":"dog","type":"text"}],"tool_use_id":"toolu_b","type":"tool_result"}],"role":"user"}`,
		`{"description":"looks","input_schema":{"additionalProperties":false,"properties":{"q":{"type":"integer"}},"required":["q"],"type":"object"},"name":"look"}`,
		`{"input_schema":{"properties":{},"type":"object"},"name":"noargs"}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("body lacks %s\nbody: %s", want, got)
		}
	}
	msgs := srv.body(0)["messages"].([]any)
	if len(msgs) != 3 {
		t.Errorf("want 3 alternating turns, got %d", len(msgs))
	}

	max := 10
	for choice, want := range map[string]string{"none": `"tool_choice":{"type":"none"}`, "function": `"tool_choice":{"name":"look","type":"tool"}`, "auto": `"tool_choice":{"type":"auto"}`} {
		r2 := &Request{Model: "claude-x", Messages: []Message{TextMessage(RoleUser, "x")}, Tools: req.Tools, ToolChoice: choice, ToolName: "look", MaxTokens: &max}
		if _, err := NewAnthropic(AnthropicConfig{BaseURL: srv.URL}).Complete(context.Background(), r2, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(srv.body(srv.calls() - 1))
		if !strings.Contains(string(got), want) || !strings.Contains(string(got), `"max_tokens":10`) {
			t.Errorf("%s: body %s", choice, got)
		}
	}
}

func TestAnthropicErrors(t *testing.T) {
	cases := []struct {
		name     string
		handler  func(w http.ResponseWriter)
		kind     string
		status   int
		contains string
	}{
		{"429", func(w http.ResponseWriter) {
			http.Error(w, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your rate limit"}}`, 429)
		}, KindRateLimit, 429, "exceeded your rate limit"},
		{"529", func(w http.ResponseWriter) {
			http.Error(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529)
		}, KindServer, 529, "Overloaded"},
		{"400", func(w http.ResponseWriter) {
			http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}}`, 400)
		}, KindBadRequest, 400, "roles must alternate"},
		{"401", func(w http.ResponseWriter) {
			http.Error(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, 401)
		}, KindAuth, 401, "invalid x-api-key"},
		{"stream error event", func(w http.ResponseWriter) {
			writeSSE(w, anEvent("message_start", `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}`),
				anEvent("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
		}, KindServer, 0, "Overloaded"},
		{"malformed", func(w http.ResponseWriter) {
			writeSSE(w, anEvent("message_start", `{"type":"message_start","message":{`))
		}, KindMalformed, 0, ""},
		{"no message_stop", func(w http.ResponseWriter) {
			writeSSE(w, anEvent("message_start", `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}`))
		}, KindMalformed, 0, "message_stop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { tc.handler(w) })
			_, err := NewAnthropic(AnthropicConfig{Name: "ant", BaseURL: srv.URL}).Complete(context.Background(), &Request{Model: "claude-x", Messages: []Message{TextMessage(RoleUser, "x")}}, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %v", err)
			}
			if e.Kind != tc.kind || e.StatusCode != tc.status || e.Provider != "ant" || !strings.Contains(e.Message, tc.contains) {
				t.Fatalf("got %+v", e)
			}
			if srv.calls() != 1 {
				t.Fatalf("the SDK retried: %d calls", srv.calls())
			}
		})
	}
}
