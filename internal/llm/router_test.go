package llm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted is a Provider that plays back one outcome per call.
type scripted struct {
	mu    sync.Mutex
	steps []func(onDelta func(Delta)) (*Response, error)
	seen  []string // upstream model per call
}

func (s *scripted) Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	s.mu.Lock()
	i := len(s.seen)
	s.seen = append(s.seen, req.Model)
	s.mu.Unlock()
	if i >= len(s.steps) {
		return nil, errors.New("unexpected call")
	}
	return s.steps[i](onDelta)
}

func fail(kind string) func(func(Delta)) (*Response, error) {
	return func(func(Delta)) (*Response, error) { return nil, &Error{Kind: kind, Message: kind} }
}

func ok(text string) func(func(Delta)) (*Response, error) {
	return func(onDelta func(Delta)) (*Response, error) {
		onDelta(Delta{Text: text})
		return &Response{Text: text, FinishReason: FinishStop}, nil
	}
}

// testRouter builds an empty router whose sleeps are recorded, not slept.
func testRouter(t *testing.T) (*Router, *[]time.Duration) {
	t.Helper()
	r, err := NewRouter(&RouterConfig{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	r.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return ctx.Err() }
	return r, &slept
}

func TestRouterRetriesThenSucceeds(t *testing.T) {
	r, slept := testRouter(t)
	p := &scripted{steps: []func(func(Delta)) (*Response, error){fail(KindRateLimit), fail(KindServer), ok("hi")}}
	r.WithProvider("p", p, "m")
	var deltas int
	resp, err := r.Complete(context.Background(), &Request{Model: "m"}, func(Delta) { deltas++ })
	if err != nil || resp.Text != "hi" || resp.Model != "m" || deltas != 1 {
		t.Fatalf("%+v %v deltas=%d", resp, err, deltas)
	}
	if len(*slept) != 2 {
		t.Fatalf("slept %v", *slept)
	}
	// Exponential with jitter: attempt 0 in [100ms,200ms], attempt 1 in [200ms,400ms].
	if d := (*slept)[0]; d < 100*time.Millisecond || d > 200*time.Millisecond {
		t.Fatalf("first backoff %v", d)
	}
	if d := (*slept)[1]; d < 200*time.Millisecond || d > 400*time.Millisecond {
		t.Fatalf("second backoff %v", d)
	}
}

func TestRouterGivesUpAfterMaxRetries(t *testing.T) {
	r, slept := testRouter(t)
	p := &scripted{steps: []func(func(Delta)) (*Response, error){fail(KindServer), fail(KindServer), fail(KindServer), ok("never")}}
	r.WithProvider("p", p, "m")
	_, err := r.Complete(context.Background(), &Request{Model: "m"}, nil)
	if ErrorKind(err) != KindServer || len(p.seen) != 3 || len(*slept) != 2 {
		t.Fatalf("err %v calls %d sleeps %d", err, len(p.seen), len(*slept))
	}
}

func TestRouterNoRetryOnBadRequest(t *testing.T) {
	r, _ := testRouter(t)
	p := &scripted{steps: []func(func(Delta)) (*Response, error){fail(KindBadRequest), ok("never")}}
	r.WithProvider("p", p, "m")
	if _, err := r.Complete(context.Background(), &Request{Model: "m"}, nil); ErrorKind(err) != KindBadRequest || len(p.seen) != 1 {
		t.Fatalf("err %v calls %d", err, len(p.seen))
	}
}

func TestRouterNoRetryAfterDelta(t *testing.T) {
	r, _ := testRouter(t)
	p := &scripted{steps: []func(func(Delta)) (*Response, error){
		func(onDelta func(Delta)) (*Response, error) {
			onDelta(Delta{Text: "partial"})
			return nil, &Error{Kind: KindServer, Message: "connection reset"}
		},
		ok("never"),
	}}
	fb := &scripted{steps: []func(func(Delta)) (*Response, error){ok("never")}}
	r.WithProvider("p", p, "m")
	r.WithProvider("fb", fb, "other")
	r.exact["m"].fallbacks = []string{"other"}
	_, err := r.Complete(context.Background(), &Request{Model: "m"}, func(Delta) {})
	if ErrorKind(err) != KindServer || len(p.seen) != 1 || len(fb.seen) != 0 {
		t.Fatalf("err %v calls %d fallback calls %d", err, len(p.seen), len(fb.seen))
	}
}

func TestRouterRetryAfterAndContext(t *testing.T) {
	r, slept := testRouter(t)
	p := &scripted{steps: []func(func(Delta)) (*Response, error){
		func(func(Delta)) (*Response, error) {
			return nil, &retryAfterError{err: &Error{Kind: KindRateLimit}, after: 7 * time.Second}
		},
		ok("hi"),
	}}
	r.WithProvider("p", p, "m")
	if _, err := r.Complete(context.Background(), &Request{Model: "m"}, nil); err != nil {
		t.Fatal(err)
	}
	if (*slept)[0] != 7*time.Second {
		t.Fatalf("Retry-After not honoured: %v", *slept)
	}

	// A cancelled caller stops the retry loop at the sleep.
	r2, _ := testRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	r2.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return sleepCtx(ctx, time.Hour) }
	p2 := &scripted{steps: []func(func(Delta)) (*Response, error){fail(KindServer), ok("never")}}
	r2.WithProvider("p", p2, "m")
	if _, err := r2.Complete(ctx, &Request{Model: "m"}, nil); err == nil || len(p2.seen) != 1 {
		t.Fatalf("err %v calls %d", err, len(p2.seen))
	}
}

func TestRouterAttemptTimeout(t *testing.T) {
	r, _ := testRouter(t)
	hang := func(ctx context.Context, _ *Request, _ func(Delta)) (*Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	r.WithProvider("p", providerFunc(hang), "m")
	r.providers["p"].timeout = 20 * time.Millisecond
	r.providers["p"].maxRetries = 1
	_, err := r.Complete(context.Background(), &Request{Model: "m"}, nil)
	if ErrorKind(err) != KindTimeout {
		t.Fatalf("got %v", err)
	}
}

type providerFunc func(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error)

func (f providerFunc) Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	return f(ctx, req, onDelta)
}

func TestRouterRouting(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{
		"providers": {
			"a": {"type": "openai", "base_url": "http://a.invalid/v1"},
			"b": {"type": "openai", "base_url": "http://b.invalid/v1"},
			"c": {"type": "anthropic"}
		},
		"models": [
			{"match": "gpt-4*", "provider": "a", "context_window": 8192},
			{"match": "gpt-4o*", "provider": "b"},
			{"match": "gpt-4o", "provider": "a", "upstream_model": "gpt-4o-2024-08-06", "context_window": 128000},
			{"match": "prefix:claude-", "provider": "c", "context_window": 200000}
		],
		"aliases": {"fast": "gpt-4o-mini", "smart": "gpt-4o"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ model, provider, upstream string }{
		{"gpt-4o", "a", "gpt-4o-2024-08-06"}, // exact beats the longer glob
		{"smart", "a", "gpt-4o-2024-08-06"},  // alias, then exact
		{"gpt-4o-mini", "b", "gpt-4o-mini"},  // longest glob
		{"fast", "b", "gpt-4o-mini"},
		{"gpt-4-turbo", "a", "gpt-4-turbo"},
		{"claude-sonnet-4-5", "c", "claude-sonnet-4-5"},
	} {
		p, up, ok := r.Resolve(tc.model)
		if !ok || p != tc.provider || up != tc.upstream {
			t.Errorf("%s: got %s %s %v, want %s %s", tc.model, p, up, ok, tc.provider, tc.upstream)
		}
	}
	if _, _, ok := r.Resolve("llama3"); ok {
		t.Error("llama3 routed")
	}
	if r.ContextWindow("gpt-4-turbo") != 8192 || r.ContextWindow("gpt-4o-mini") != DefaultContextWindow || r.ContextWindow("claude-3") != 200000 || r.ContextWindow("smart") != 128000 || r.ContextWindow("nope") != DefaultContextWindow {
		t.Error("context windows")
	}
	_, err = r.Complete(context.Background(), &Request{Model: "llama3"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNoProvider || !strings.Contains(e.Message, `model "llama3"; set OPENAI_BASE_URL/OPENAI_API_KEY`) {
		t.Fatalf("got %v", err)
	}
}

func TestRouterEnvShortcuts(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	r, _ := NewRouter(nil, env(nil), nil)
	if _, err := r.Complete(context.Background(), &Request{Model: "gpt-4o"}, nil); ErrorKind(err) != KindNoProvider {
		t.Fatalf("no env: %v", err)
	}
	r, _ = NewRouter(nil, env(map[string]string{"OPENAI_BASE_URL": "http://localhost:11434/v1"}), nil)
	for _, m := range []string{"llama3", "claude-3"} {
		if p, _, ok := r.Resolve(m); !ok || p != "openai" {
			t.Errorf("%s -> %q", m, p)
		}
	}
	r, _ = NewRouter(nil, env(map[string]string{"ANTHROPIC_API_KEY": "k"}), nil)
	if p, _, _ := r.Resolve("claude-opus-4"); p != "anthropic" {
		t.Errorf("claude -> %q", p)
	}
	if _, _, ok := r.Resolve("gpt-4o"); ok {
		t.Error("gpt-4o routed with only an Anthropic key")
	}
	r, _ = NewRouter(nil, env(map[string]string{"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}), nil)
	if p, _, _ := r.Resolve("claude-opus-4"); p != "anthropic" {
		t.Errorf("both: claude -> %q", p)
	}
	if p, _, _ := r.Resolve("gpt-4o"); p != "openai" {
		t.Errorf("both: gpt -> %q", p)
	}
}

// TestRouterEndToEnd drives real providers over HTTP: a 429 then success
// on OpenAI, and a fallback from a failing OpenAI model to Anthropic.
func TestRouterEndToEnd(t *testing.T) {
	oa := newSSEServer(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			http.Error(w, `{"error":{"message":"slow down","type":"requests"}}`, 429)
			return
		}
		writeSSE(w, openAITextStream()...)
	})
	down := newSSEServer(t, func(w http.ResponseWriter, _ int) {
		http.Error(w, `{"error":{"message":"upstream down","type":"server_error"}}`, 503)
	})
	an := newSSEServer(t, func(w http.ResponseWriter, _ int) { writeSSE(w, anthropicToolStream()...) })
	cfg, err := ParseConfig([]byte(`{
		"providers": {
			"oa": {"type": "openai", "base_url": "` + oa.URL + `/v1", "api_key_env": "OA_KEY", "timeout": "5s"},
			"down": {"type": "openai", "base_url": "` + down.URL + `/v1", "max_retries": 1, "max_tokens_field": "max_tokens"},
			"an": {"type": "anthropic", "base_url": "` + an.URL + `", "api_key_env": "AN_KEY"}
		},
		"models": [
			{"match": "gpt-4o", "provider": "oa"},
			{"match": "local-*", "provider": "down", "fallbacks": ["nowhere", "claude-sonnet-4-5"]},
			{"match": "prefix:claude", "provider": "an"}
		]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(cfg, func(k string) string { return map[string]string{"OA_KEY": "sk-oa", "AN_KEY": "sk-an"}[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.SetBackoff(time.Millisecond, 2*time.Millisecond)

	resp, err := r.Complete(context.Background(), &Request{Model: "gpt-4o", Messages: []Message{TextMessage(RoleUser, "hi")}}, nil)
	if err != nil || resp.Text != "Hello" || oa.calls() != 2 || oa.auth[1] != "Bearer sk-oa" {
		t.Fatalf("%+v %v calls=%d", resp, err, oa.calls())
	}

	resp, err = r.Complete(context.Background(), &Request{Model: "local-llama", Messages: []Message{TextMessage(RoleUser, "hi")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if down.calls() != 2 || an.calls() != 1 || resp.Model != "claude-sonnet-4-5-20250929" || len(resp.ToolCalls) != 2 || an.apiKey[0] != "sk-an" {
		t.Fatalf("%+v down=%d an=%d", resp, down.calls(), an.calls())
	}
	if an.body(0)["model"] != "claude-sonnet-4-5" {
		t.Fatalf("fallback sent model %v", an.body(0)["model"])
	}
}

func TestParseConfigStrict(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"providers": {"a": {"type": "openai", "api_key": "sk-x"}}}`, `unknown key "api_key"`},
		{`{"model": []}`, `unknown key "model"`},
		{`{"models": [{"match": "x", "provider": "a", "fallback": []}], "providers": {"a": {"type": "openai"}}}`, `unknown key "fallback"`},
		{`{"providers": {"a": {"type": "azure"}}}`, `type must be "openai" or "anthropic"`},
		{`{"providers": {"a": {"type": "openai", "timeout": "soon"}}}`, `timeout "soon"`},
		{`{"models": [{"match": "x", "provider": "missing"}]}`, `provider "missing" is not defined`},
		{`{"providers": {"a": {"type": "openai"}}, "models": [{"match": "[", "provider": "a"}]}`, `bad pattern`},
		{`{} {}`, `unexpected data`},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.json, err, tc.want)
		}
	}
}
