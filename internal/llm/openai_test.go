package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseServer answers every POST with status and, for 200, the given SSE
// body, recording the request bodies it saw.
type sseServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	paths  []string
	auth   []string
	apiKey []string
}

func newSSEServer(t *testing.T, h func(w http.ResponseWriter, n int)) *sseServer {
	t.Helper()
	s := &sseServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.paths = append(s.paths, r.URL.Path)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.apiKey = append(s.apiKey, r.Header.Get("X-Api-Key"))
		n := len(s.bodies)
		s.mu.Unlock()
		h(w, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sseServer) body(i int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}

func (s *sseServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		fmt.Fprint(w, e)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func oaChunk(js string) string { return "data: " + js + "\n\n" }

const oaDone = "data: [DONE]\n\n"

// openAITextStream is a real-shaped chat.completion.chunk stream.
func openAITextStream() []string {
	return []string{
		oaChunk(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`),
		oaChunk(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`),
		oaChunk(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`),
		oaChunk(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
		oaChunk(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`),
		oaDone,
	}
}

func openAIToolStream() []string {
	return []string{
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`),
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`),
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}`),
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}`),
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`),
		oaChunk(`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}`),
		oaDone,
	}
}

func TestOpenAIText(t *testing.T) {
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, openAITextStream()...) })
	p := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-test"})
	var deltas []string
	resp, err := p.Complete(context.Background(), &Request{Model: "gpt-4o", Messages: []Message{TextMessage(RoleUser, "hi")}},
		func(d Delta) { deltas = append(deltas, d.Text) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Hello" || resp.FinishReason != FinishStop || resp.Model != "gpt-4o-2024-08-06" {
		t.Fatalf("got %+v", resp)
	}
	if resp.Usage != (Usage{PromptTokens: 11, CompletionTokens: 2}) {
		t.Fatalf("usage %+v", resp.Usage)
	}
	if strings.Join(deltas, "|") != "Hel|lo" {
		t.Fatalf("deltas %q", deltas)
	}
	if srv.paths[0] != "/v1/chat/completions" || srv.auth[0] != "Bearer sk-test" {
		t.Fatalf("path %q auth %q", srv.paths[0], srv.auth[0])
	}
	b := srv.body(0)
	if b["stream"] != true {
		t.Fatalf("stream not set: %v", b)
	}
	if so, _ := b["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Fatalf("stream_options %v", b["stream_options"])
	}
	for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls", "max_completion_tokens", "max_tokens", "temperature", "response_format"} {
		if _, ok := b[k]; ok {
			t.Fatalf("unset field %s was sent: %v", k, b)
		}
	}
}

func TestOpenAIToolCalls(t *testing.T) {
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, openAIToolStream()...) })
	p := NewOpenAI(OpenAIConfig{BaseURL: srv.URL})
	var got []ToolCallDelta
	resp, err := p.Complete(context.Background(), &Request{Model: "gpt-4o", Messages: []Message{TextMessage(RoleUser, "weather?")}},
		func(d Delta) {
			if d.ToolCall != nil {
				got = append(got, *d.ToolCall)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}, {ID: "call_b", Name: "get_time", Arguments: "{}"}}
	if fmt.Sprint(resp.ToolCalls) != fmt.Sprint(want) || resp.FinishReason != FinishToolCalls {
		t.Fatalf("got %+v", resp)
	}
	if len(got) != 4 || got[0] != (ToolCallDelta{Index: 0, ID: "call_a", Name: "get_weather"}) ||
		got[1] != (ToolCallDelta{Index: 0, Arguments: `{"city":`}) || got[2].Index != 1 || got[2].ID != "call_b" {
		t.Fatalf("tool deltas %+v", got)
	}
}

func TestOpenAIRequestBody(t *testing.T) {
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, openAITextStream()...) })
	temp, topP, max, par := 0.5, 0.9, 100, false
	req := &Request{
		Model: "gpt-4o",
		Messages: []Message{
			TextMessage(RoleSystem, "be brief"),
			{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "what is this"}, {Type: PartImage, ImageURL: "https://x/img.png", Detail: "low"}}},
			{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "call_1", Name: "look", Arguments: `{"q":1}`}}},
			{Role: RoleTool, ToolCallID: "call_1", Parts: []Part{{Type: PartText, Text: "a cat"}}},
		},
		Tools: []Tool{
			{Name: "look", Description: "looks", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"integer"}}}`), Strict: true},
			{Name: "noargs"},
		},
		ToolChoice:        "function",
		ToolName:          "look",
		ParallelToolCalls: &par,
		Temperature:       &temp,
		TopP:              &topP,
		MaxTokens:         &max,
		ResponseFormat:    &ResponseFormat{Type: "json_schema", Name: "answer", Schema: json.RawMessage(`{"type":"object"}`), Strict: true},
		ReasoningEffort:   "low",
	}
	if _, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL}).Complete(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(srv.body(0))
	for _, want := range []string{
		`"max_completion_tokens":100`,
		`"temperature":0.5`, `"top_p":0.9`, `"parallel_tool_calls":false`, `"reasoning_effort":"low"`,
		`"tool_choice":{"function":{"name":"look"},"type":"function"}`,
		`{"content":"be brief","role":"system"}`,
		`{"content":[{"text":"what is this","type":"text"},{"image_url":{"detail":"low","url":"https://x/img.png"},"type":"image_url"}],"role":"user"}`,
		`"tool_calls":[{"function":{"arguments":"{\"q\":1}","name":"look"},"id":"call_1","type":"function"}]`,
		`{"content":"a cat","role":"tool","tool_call_id":"call_1"}`,
		`{"function":{"description":"looks","name":"look","parameters":{"properties":{"q":{"type":"integer"}},"type":"object"},"strict":true},"type":"function"}`,
		`{"function":{"name":"noargs"},"type":"function"}`,
		`"response_format":{"json_schema":{"name":"answer","schema":{"type":"object"},"strict":true},"type":"json_schema"}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("body lacks %s\nbody: %s", want, got)
		}
	}
	if strings.Contains(string(got), `"max_tokens"`) {
		t.Errorf("legacy max_tokens sent: %s", got)
	}

	// The legacy field for servers that need it, and json_object / required.
	req.ResponseFormat = &ResponseFormat{Type: "json_object"}
	req.ToolChoice = "required"
	if _, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL, MaxTokensField: "max_tokens"}).Complete(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(srv.body(1))
	for _, want := range []string{`"max_tokens":100`, `"response_format":{"type":"json_object"}`, `"tool_choice":"required"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("body lacks %s\nbody: %s", want, got)
		}
	}
	if strings.Contains(string(got), `"max_completion_tokens"`) {
		t.Errorf("max_completion_tokens sent with legacy field: %s", got)
	}
}

func TestOpenAIErrors(t *testing.T) {
	cases := []struct {
		name     string
		handler  func(w http.ResponseWriter)
		kind     string
		status   int
		contains string
	}{
		{"429", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			http.Error(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, 429)
		}, KindRateLimit, 429, "Rate limit reached"},
		{"500", func(w http.ResponseWriter) {
			http.Error(w, `{"error":{"message":"The server had an error","type":"server_error"}}`, 500)
		}, KindServer, 500, "The server had an error"},
		{"400", func(w http.ResponseWriter) {
			http.Error(w, `{"error":{"message":"This model's maximum context length is 128000 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}`, 400)
		}, KindBadRequest, 400, "maximum context length"},
		{"401", func(w http.ResponseWriter) {
			http.Error(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, 401)
		}, KindAuth, 401, "Incorrect API key"},
		{"malformed", func(w http.ResponseWriter) {
			writeSSE(w, oaChunk(`{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}`), "data: {not json\n\n", oaDone)
		}, KindMalformed, 0, ""},
		{"no finish", func(w http.ResponseWriter) {
			writeSSE(w, oaChunk(`{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`))
		}, KindMalformed, 0, "finish_reason"},
		{"stream error event", func(w http.ResponseWriter) {
			writeSSE(w, oaChunk(`{"error":{"message":"overloaded","type":"server_error"}}`))
		}, KindServer, 0, "overloaded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSEServer(t, func(w http.ResponseWriter, _ int) { tc.handler(w) })
			_, err := NewOpenAI(OpenAIConfig{Name: "local", BaseURL: srv.URL}).Complete(context.Background(), &Request{Model: "m", Messages: []Message{TextMessage(RoleUser, "x")}}, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %v", err)
			}
			if e.Kind != tc.kind || e.StatusCode != tc.status || e.Provider != "local" || e.Model != "m" || !strings.Contains(e.Message, tc.contains) {
				t.Fatalf("got %+v", e)
			}
			if tc.name == "429" && retryAfterOf(err) != 3*time.Second {
				t.Fatalf("retry-after %v", retryAfterOf(err))
			}
			if srv.calls() != 1 {
				t.Fatalf("the SDK retried: %d calls", srv.calls())
			}
		})
	}
}

func TestOpenAITimeoutAndConnection(t *testing.T) {
	release := make(chan struct{})
	srv := newSSEServer(t, func(w http.ResponseWriter, _ int) {
		writeSSE(w, oaChunk(`{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}`))
		<-release
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL}).Complete(ctx, &Request{Model: "m"}, nil)
	if ErrorKind(err) != KindTimeout {
		t.Fatalf("got %v", err)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, err = NewOpenAI(OpenAIConfig{BaseURL: url}).Complete(context.Background(), &Request{Model: "m"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindServer {
		t.Fatalf("connection refused: %v", err)
	}
}
