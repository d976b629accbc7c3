package modelstub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/assistd/assistd/internal/modelstub"
)

func anthropicClient(hs *httptest.Server, opts ...option.RequestOption) *anthropic.Client {
	c := anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(hs.URL), option.WithAPIKey("test"), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

var anthropicWeatherTool = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: map[string]any{"city": map[string]any{"type": "string"}},
}, "get_weather")

func TestAnthropicNonStreaming(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, weatherScript, modelstub.Options{})
	client := anthropicClient(hs)
	ctx := context.Background()

	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		System:    []anthropic.TextBlockParam{{Text: "be brief"}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-sonnet-4-5" {
		t.Fatalf("bad envelope: %s", msg.RawJSON())
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != "You said: hello there" || msg.StopReason != "end_turn" {
		t.Fatalf("bad content: %s", msg.RawJSON())
	}
	if msg.Usage.InputTokens != 5 || msg.Usage.OutputTokens != 4 {
		t.Fatalf("usage: %s", msg.Usage.RawJSON())
	}

	msg, err = client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather in Oslo?"))},
		Tools:     []anthropic.ToolUnionParam{anthropicWeatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "tool_use" || len(msg.Content) != 3 || msg.Content[0].Text != "Let me check." {
		t.Fatalf("tool reply: %s", msg.RawJSON())
	}
	tu := msg.Content[2].AsToolUse()
	if !strings.HasPrefix(tu.ID, "toolu_") || tu.Name != "get_weather" || string(tu.Input) != `{"city":"weather in Oslo?"}` {
		t.Fatalf("tool_use = %+v", tu)
	}

	// The tool round trip: a user message of tool_result blocks is "tool".
	msg, err = client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("weather in Oslo?")),
			msg.ToParam(),
			anthropic.NewUserMessage(
				anthropic.NewToolResultBlock(msg.Content[1].ID, "cloudy", false),
				anthropic.NewToolResultBlock(tu.ID, "sunny and warm", false)),
		},
		Tools: []anthropic.ToolUnionParam{anthropicWeatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "It is sunny: sunny and warm" {
		t.Fatalf("after tool result: %s", msg.RawJSON())
	}
}

func TestAnthropicStreaming(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, weatherScript, modelstub.Options{})
	client := anthropicClient(hs)
	ctx := context.Background()

	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather please"))},
		Tools:     []anthropic.ToolUnionParam{anthropicWeatherTool},
	})
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
		if len(types) == 0 || types[len(types)-1] != ev.Type {
			types = append(types, ev.Type)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := "message_start content_block_start content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events:\n%s\nwant\n%s", got, want)
	}
	if msg.StopReason != "tool_use" || len(msg.Content) != 3 || msg.Content[0].Text != "Let me check." {
		t.Fatalf("accumulated: %s", msg.RawJSON())
	}
	var in struct{ City string }
	if err := json.Unmarshal(msg.Content[2].Input, &in); err != nil || in.City != "weather please" {
		t.Fatalf("tool input %s: %v", msg.Content[2].Input, err)
	}
	if msg.Usage.InputTokens != 4 || msg.Usage.OutputTokens != 3+2+4 {
		t.Fatalf("usage: %+v", msg.Usage)
	}

	// Max tokens.
	stream = client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 3,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("a b c d"))},
	})
	msg = anthropic.Message{}
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "max_tokens" || msg.Content[0].Text != "You said: a" || msg.Usage.OutputTokens != 3 {
		t.Fatalf("max tokens: %s", msg.RawJSON())
	}
}

// TestAnthropicStreamWire checks the raw event framing.
func TestAnthropicStreamWire(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, "", modelstub.Options{})
	body := `{"model":"claude","max_tokens":100,"stream":true,"system":"s","messages":[{"role":"user","content":"hi"}]}`
	res, err := http.Post(hs.URL+"/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	raw := readAll(t, res)
	for _, ev := range strings.Split(strings.TrimSuffix(raw, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("bad event %q", ev)
		}
		var v struct{ Type string }
		mustJSON(t, strings.TrimPrefix(data, "data: "), &v)
		if v.Type != strings.TrimPrefix(name, "event: ") {
			t.Fatalf("event %q carries type %q", name, v.Type)
		}
	}
	if !strings.Contains(raw, "event: ping\n") || !strings.HasSuffix(raw, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
		t.Fatalf("stream:\n%s", raw)
	}
}

func TestAnthropicErrors(t *testing.T) {
	t.Parallel()
	stub, hs := newStub(t, `{"rules": [
		{"match": {"model": "claude-*"}, "reply": {"text": "ok", "fail_times": 1,
			"error": {"status": 429, "message": "slow down", "retry_after": 0.01}}},
		{"match": {"model": "overloaded"}, "reply": {"error": {"status": 529, "message": "busy"}}}
	]}`, modelstub.Options{})
	client := anthropicClient(hs)
	params := anthropic.MessageNewParams{
		Model: "claude-x", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))},
	}
	_, err := client.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") != "1" {
		t.Fatalf("err = %v", err)
	}
	var body struct {
		Type  string
		Error struct{ Type, Message string }
	}
	mustJSON(t, apiErr.RawJSON(), &body)
	if body.Type != "error" || body.Error.Type != "rate_limit_error" || body.Error.Message != "slow down" {
		t.Fatalf("body = %s", apiErr.RawJSON())
	}
	// fail_times is used up: the streamed retry succeeds.
	stream := client.Messages.NewStreaming(context.Background(), params)
	var msg anthropic.Message
	for stream.Next() {
		msg.Accumulate(stream.Current())
	}
	if err := stream.Err(); err != nil || msg.Content[0].Text != "ok" {
		t.Fatalf("after failure: %v %s", err, msg.RawJSON())
	}

	// With SDK retries, a fail_times rule succeeds after Reset.
	stub.Reset()
	if _, err := anthropicClient(hs, option.WithMaxRetries(1)).Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}

	params.Model = "overloaded"
	_, err = client.Messages.New(context.Background(), params)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
		t.Fatalf("err = %v", err)
	}
	mustJSON(t, apiErr.RawJSON(), &body)
	if body.Error.Type != "overloaded_error" {
		t.Fatalf("body = %s", apiErr.RawJSON())
	}
}

func TestAnthropicMalformed(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"default": {"malformed": true}}`, modelstub.Options{})
	client := anthropicClient(hs)
	params := anthropic.MessageNewParams{
		Model: "claude", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))},
	}
	stream := client.Messages.NewStreaming(context.Background(), params)
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Fatal("malformed stream: no error")
	}
	if _, err := client.Messages.New(context.Background(), params); err == nil {
		t.Fatal("malformed body: no error")
	}
}
