package modelstub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/assistd/assistd/internal/modelstub"
)

// newStub starts a Server from a JSON script on an httptest server.
func newStub(t *testing.T, script string, opts modelstub.Options) (*modelstub.Server, *httptest.Server) {
	t.Helper()
	var sc *modelstub.Script
	if script != "" {
		var err error
		if sc, err = modelstub.ParseScript([]byte(script)); err != nil {
			t.Fatalf("ParseScript: %v", err)
		}
	}
	stub := modelstub.New(sc, opts)
	hs := httptest.NewServer(stub)
	t.Cleanup(func() { stub.Close(); hs.Close() })
	return stub, hs
}

func openAIClient(hs *httptest.Server, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(hs.URL + "/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name: "get_weather",
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
	},
})

const weatherScript = `{"rules": [
	{"match": {"user_contains": "WEATHER", "tool_available": "get_weather", "last_role": "user"},
	 "reply": {"text": "Let me check.", "tool_calls": [
		{"name": "get_weather", "arguments": {"city": "Paris"}},
		{"name": "get_weather", "arguments": {"city": "{{last_user}}"}}]}},
	{"match": {"last_role": "tool", "tool_result_contains": "sunny"},
	 "reply": {"text": "It is sunny: {{last_tool_result}}"}}
]}`

func TestOpenAINonStreaming(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, weatherScript, modelstub.Options{})
	client := openAIClient(hs)
	ctx := context.Background()

	res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "You said: hello there" {
		t.Fatalf("content = %q", got)
	}
	if res.Object != "chat.completion" || !strings.HasPrefix(res.ID, "chatcmpl-") || res.Model != "gpt-4o" || res.Created == 0 {
		t.Fatalf("bad envelope: %s", res.RawJSON())
	}
	if res.Choices[0].FinishReason != "stop" || res.Choices[0].Message.Role != "assistant" {
		t.Fatalf("bad choice: %s", res.RawJSON())
	}
	u := res.Usage
	// "be brief" + "hello there" = 19 characters -> 5 tokens; 4 completion words.
	if u.PromptTokens != 5 || u.CompletionTokens != 4 || u.TotalTokens != 9 {
		t.Fatalf("usage = %+v", u)
	}

	res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("what's the weather in Oslo")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := res.Choices[0]
	if ch.FinishReason != "tool_calls" || ch.Message.Content != "Let me check." || len(ch.Message.ToolCalls) != 2 {
		t.Fatalf("bad tool reply: %s", res.RawJSON())
	}
	tc := ch.Message.ToolCalls[1]
	if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" ||
		tc.Function.Arguments != `{"city":"what's the weather in Oslo"}` {
		t.Fatalf("tool call = %+v", tc)
	}

	// The tool round trip: the last message is a tool result.
	res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("weather?"),
			res.Choices[0].Message.ToParam(),
			openai.ToolMessage(`{"sky":"sunny"}`, ch.Message.ToolCalls[0].ID),
			openai.ToolMessage(`{"sky":"sunny too"}`, ch.Message.ToolCalls[1].ID),
		},
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != `It is sunny: {"sky":"sunny too"}` {
		t.Fatalf("content = %q", got)
	}
}

func TestOpenAIStreaming(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, weatherScript, modelstub.Options{})
	client := openAIClient(hs)
	ctx := context.Background()

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         "gpt-4o-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather please")},
		Tools:         []openai.ChatCompletionToolUnionParam{weatherTool},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	var finished []openai.FinishedChatCompletionToolCall
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("accumulator refused chunk %s", stream.Current().RawJSON())
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	ch := acc.Choices[0]
	if ch.Message.Content != "Let me check." || ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 2 {
		t.Fatalf("accumulated: %+v", acc.ChatCompletion)
	}
	if args := ch.Message.ToolCalls[0].Function.Arguments; args != `{"city":"Paris"}` {
		t.Fatalf("arguments = %q", args)
	}
	if len(finished) != 2 || finished[1].Arguments != `{"city":"Weather please"}` {
		t.Fatalf("finished tool calls = %+v", finished)
	}
	// 3 text tokens + ceil(16/8) + ceil(25/8) argument pieces.
	if acc.Usage.CompletionTokens != 3+2+4 || acc.Usage.PromptTokens != 4 || acc.Usage.TotalTokens != 13 {
		t.Fatalf("usage = %+v", acc.Usage)
	}
	if chunks < 10 {
		t.Fatalf("only %d chunks", chunks)
	}

	// Plain text, no usage requested.
	stream = client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three")},
	})
	acc = openai.ChatCompletionAccumulator{}
	var pieces []string
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			pieces = append(pieces, c.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pieces, "|"); got != "You| said:| one| two| three" {
		t.Fatalf("pieces = %q", got)
	}
	if acc.Choices[0].Message.Content != "You said: one two three" || acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens != 0 {
		t.Fatalf("accumulated: %+v", acc.ChatCompletion)
	}
}

// TestOpenAIStreamWire checks the raw SSE lines against OpenAI's shapes.
func TestOpenAIStreamWire(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, "", modelstub.Options{})
	body := `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`
	res, err := http.Post(hs.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	raw := readAll(t, res)
	events := strings.Split(strings.TrimSuffix(raw, "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("last event = %q", events[len(events)-1])
	}
	var first, final, usage map[string]any
	mustJSON(t, strings.TrimPrefix(events[0], "data: "), &first)
	mustJSON(t, strings.TrimPrefix(events[len(events)-3], "data: "), &final)
	mustJSON(t, strings.TrimPrefix(events[len(events)-2], "data: "), &usage)
	delta := first["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
	if delta["role"] != "assistant" || delta["content"] != "" || first["object"] != "chat.completion.chunk" {
		t.Fatalf("first chunk = %v", first)
	}
	fc := final["choices"].([]any)[0].(map[string]any)
	if fc["finish_reason"] != "stop" || len(fc["delta"].(map[string]any)) != 0 {
		t.Fatalf("final chunk = %v", final)
	}
	if len(usage["choices"].([]any)) != 0 || usage["usage"].(map[string]any)["completion_tokens"] != 3.0 {
		t.Fatalf("usage chunk = %v", usage)
	}
}

func TestOpenAIMaxTokensAndTruncate(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"rules": [
		{"match": {"user_contains": "cut"}, "reply": {"text": "short answer", "truncate": true, "tool_calls": [{"name": "x"}]}},
		{"match": {"user_contains": "call"}, "reply": {"tool_calls": [{"name": "x", "arguments": {"a": "0123456789"}}]}}
	]}`, modelstub.Options{})
	client := openAIClient(hs)
	ctx := context.Background()

	res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:               "gpt-4o",
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a b c d e f")},
		MaxCompletionTokens: openai.Int(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Choices[0]; c.FinishReason != "length" || c.Message.Content != "You said: a b" || res.Usage.CompletionTokens != 4 {
		t.Fatalf("max tokens: %s", res.RawJSON())
	}

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:     "gpt-4o",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a b c d e f")},
		MaxTokens: openai.Int(3),
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if c := acc.Choices[0]; c.FinishReason != "length" || c.Message.Content != "You said: a" {
		t.Fatalf("streamed max tokens: %+v", c)
	}

	res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("cut it")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Choices[0]; c.FinishReason != "length" || c.Message.Content != "short answer" || len(c.Message.ToolCalls) != 0 {
		t.Fatalf("truncate: %s", res.RawJSON())
	}

	// A tool call that does not fit the budget is dropped.
	res, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:     "gpt-4o",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("call")},
		MaxTokens: openai.Int(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Choices[0]; c.FinishReason != "length" || len(c.Message.ToolCalls) != 0 {
		t.Fatalf("tool call over budget: %s", res.RawJSON())
	}
}

func TestOpenAIErrorsAndRetries(t *testing.T) {
	t.Parallel()
	stub, hs := newStub(t, `{"rules": [
		{"match": {"user_contains": "flaky"}, "reply": {"text": "finally", "fail_times": 2,
			"error": {"status": 429, "message": "slow down", "retry_after": 0.01}}},
		{"match": {"user_contains": "broken"}, "reply": {"error": {"status": 503, "message": "down"}}}
	]}`, modelstub.Options{})
	ctx := context.Background()
	params := func(text string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
	}

	// Without retries the SDK sees the scripted error, in OpenAI's format.
	_, err := openAIClient(hs).Chat.Completions.New(ctx, params("flaky"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Message != "slow down" ||
		apiErr.Type != "rate_limit_error" || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("err = %v", err)
	}
	if h := apiErr.Response.Header; h.Get("Retry-After") != "1" || h.Get("Retry-After-Ms") != "10" {
		t.Fatalf("retry headers = %v", h)
	}

	// With retries: one more failure, then success.
	start := time.Now()
	res, err := openAIClient(hs, option.WithMaxRetries(2)).Chat.Completions.New(ctx, params("flaky"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Message.Content != "finally" {
		t.Fatalf("content = %q", res.Choices[0].Message.Content)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("retry-after-ms not honoured: %v", d)
	}
	if n := len(stub.Requests()); n != 3 {
		t.Fatalf("%d requests recorded, want 3", n)
	}

	// Reset rearms fail_times.
	stub.Reset()
	if _, err := openAIClient(hs).Chat.Completions.New(ctx, params("flaky")); !errors.As(err, &apiErr) {
		t.Fatalf("after Reset: err = %v", err)
	}

	// A permanent error, checked on the raw body.
	res2, err := http.Post(hs.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"broken"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	mustJSON(t, readAll(t, res2), &body)
	if res2.StatusCode != 503 || body.Error.Message != "down" || body.Error.Type != "server_error" {
		t.Fatalf("status %d body %+v", res2.StatusCode, body)
	}

	// A bad request.
	res3, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":`))
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, readAll(t, res3), &body)
	if res3.StatusCode != 400 || body.Error.Type != "invalid_request_error" {
		t.Fatalf("bad request: status %d body %+v", res3.StatusCode, body)
	}
}

func TestOpenAIMalformed(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"default": {"malformed": true}}`, modelstub.Options{})
	client := openAIClient(hs)
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Fatal("malformed stream: no error")
	}
	if _, err := client.Chat.Completions.New(context.Background(), params); err == nil {
		t.Fatal("malformed body: no error")
	}
}

func TestHangEndsWhenClientCancels(t *testing.T) {
	t.Parallel()
	stub, hs := newStub(t, `{"rules": [{"match": {"user_contains": "hang"}, "reply": {"hang": true}}]}`, modelstub.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := openAIClient(hs).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("please hang")},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("hang returned after %v", d)
	}
	if len(stub.Requests()) != 1 {
		t.Fatal("hanging request not recorded")
	}
	// The handler ended with the client: httptest.Server.Close (in cleanup)
	// would otherwise block; Close the stub only afterwards to prove it.
	hs.Close()
}

func TestHangEndsOnServerClose(t *testing.T) {
	t.Parallel()
	stub, hs := newStub(t, `{"default": {"hang": true}}`, modelstub.Options{})
	done := make(chan error, 1)
	go func() {
		_, err := openAIClient(hs).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		done <- err
	}()
	for len(stub.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	stub.Close()
	select {
	case err := <-done:
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hanging request did not end on Close")
	}
}

func TestPacing(t *testing.T) {
	t.Parallel()
	words := strings.TrimSpace(strings.Repeat("w ", 20))
	_, hs := newStub(t, `{"default": {"text": "`+words+`"}}`, modelstub.Options{TokensPerSecond: 200})
	start := time.Now()
	stream := openAIClient(hs).Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("20 tokens at 200/s took %v", d)
	}
	if acc.Choices[0].Message.Content != words {
		t.Fatalf("content = %q", acc.Choices[0].Message.Content)
	}
}

func TestLatencyOverride(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"rules": [{"match": {"model": "fast-*"}, "reply": {"text": "quick", "latency": "0s"}}],
		"default": {"text": "slow", "latency": 0.06}}`, modelstub.Options{Latency: time.Hour})
	client := openAIClient(hs)
	for _, tc := range []struct {
		model, want string
		min         time.Duration
	}{{"fast-1", "quick", 0}, {"gpt-4o", "slow", 50 * time.Millisecond}} {
		start := time.Now()
		res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: tc.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if res.Choices[0].Message.Content != tc.want || d < tc.min || d > 2*time.Second {
			t.Fatalf("%s: %q after %v", tc.model, res.Choices[0].Message.Content, d)
		}
	}
}

func TestModelsList(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"rules": [{"match": {"model": "my-model"}, "reply": {"text": "x"}}]}`, modelstub.Options{})
	page, err := openAIClient(hs).Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if len(ids) < 3 || ids[len(ids)-1] != "my-model" {
		t.Fatalf("ids = %v", ids)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
