package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/modelstub"
)

// stub starts a modelstub with script (JSON, "" for none) behind handler
// wrappers, and returns it with its URL.
func stub(t *testing.T, script string, wrap ...func(http.Handler) http.Handler) (*modelstub.Server, string) {
	t.Helper()
	var sc *modelstub.Script
	if script != "" {
		var err error
		if sc, err = modelstub.ParseScript([]byte(script)); err != nil {
			t.Fatal(err)
		}
	}
	s := modelstub.New(sc, modelstub.Options{})
	var h http.Handler = s
	for _, w := range wrap {
		h = w(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs.URL + "/v1"
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("document %d talks about topic%d and shared words", i, i)
	}
	return out
}

// checkVectors asserts that got are the stub's vectors of in, in order.
func checkVectors(t *testing.T, in []string, got [][]float32, dims int) {
	t.Helper()
	if len(got) != len(in) {
		t.Fatalf("got %d vectors for %d inputs", len(got), len(in))
	}
	for i, v := range got {
		want := modelstub.EmbedText(in[i], dims)
		if len(v) != dims {
			t.Fatalf("vector %d has %d dimensions, want %d", i, len(v), dims)
		}
		for j := range v {
			if math.Abs(float64(v[j]-want[j])) > 1e-6 {
				t.Fatalf("vector %d is not the embedding of input %d", i, i)
			}
		}
	}
}

func TestEmbedBatchesInOrder(t *testing.T) {
	s, base := stub(t, "")
	in := texts(250)
	c := New(Config{BaseURL: base, Model: "text-embedding-3-small", APIKey: "sk-test"})
	got, err := c.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, in, got, modelstub.DefaultEmbeddingDimensions)
	reqs := s.Requests()
	var sizes []int
	for _, r := range reqs {
		var body struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Model != "text-embedding-3-small" || r.Header.Get("Authorization") != "Bearer sk-test" {
			t.Fatalf("request model %q, authorization %q", body.Model, r.Header.Get("Authorization"))
		}
		sizes = append(sizes, len(body.Input))
	}
	slices.Sort(sizes) // concurrent batches arrive in any order
	if fmt.Sprint(sizes) != "[58 96 96]" {
		t.Fatalf("batch sizes %v, want 96, 96 and 58", sizes)
	}
}

func TestEmbedCharCapAndDimensions(t *testing.T) {
	s, base := stub(t, "")
	in := []string{strings.Repeat("a ", 50), strings.Repeat("b ", 50), strings.Repeat("c ", 50), strings.Repeat("d ", 500)}
	c := New(Config{BaseURL: base, Model: "m", Dimensions: 64, MaxBatchChars: 250, BatchSize: 10})
	got, err := c.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, in, got, 64)
	// 100+100 fit in 250, the third starts a batch, the 1000-char input
	// goes alone.
	if n := len(s.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	var body struct {
		Dimensions int `json:"dimensions"`
	}
	json.Unmarshal(s.Requests()[0].Body, &body)
	if body.Dimensions != 64 {
		t.Fatalf("dimensions sent: %d, want 64", body.Dimensions)
	}
}

// reverseData answers with the data array reversed, as a server that does
// not keep the order would.
func reverseData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil {
			if data, ok := body["data"].([]any); ok {
				for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
					data[i], data[j] = data[j], data[i]
				}
			}
		}
		w.WriteHeader(rec.Code)
		json.NewEncoder(w).Encode(body)
	})
}

func TestEmbedOrdersByIndex(t *testing.T) {
	_, base := stub(t, "", reverseData)
	in := texts(10)
	got, err := New(Config{BaseURL: base, Model: "m", BatchSize: 4}).Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, in, got, modelstub.DefaultEmbeddingDimensions)
}

func TestEmbedRetries(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		retries  int
		requests int
		minTime  time.Duration
		status   int // 0: success
		message  string
	}{
		{"429 with Retry-After", `{"rules": [{"match": {}, "reply": {"fail_times": 2,
			"error": {"status": 429, "message": "slow down", "retry_after": 0.1}}}]}`, 0, 3, 200 * time.Millisecond, 0, ""},
		{"500 with backoff", `{"rules": [{"match": {}, "reply": {"fail_times": 3, "error": {"status": 500}}}]}`, 0, 4, 0, 0, ""},
		{"retries exhausted", `{"rules": [{"match": {}, "reply": {"fail_times": 10,
			"error": {"status": 503, "message": "overloaded"}}}]}`, 2, 3, 0, 503, "overloaded"},
		{"no retry on 400", `{"rules": [{"match": {}, "reply": {"error": {"status": 400, "message": "bad input"}}}]}`, 0, 1, 0, 400, "bad input"},
		{"no retry when disabled", `{"rules": [{"match": {}, "reply": {"fail_times": 1, "error": {"status": 429}}}]}`, -1, 1, 0, 429, "scripted error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := stub(t, tt.script)
			c := New(Config{BaseURL: base, Model: "m", MaxRetries: tt.retries, RetryBaseDelay: 5 * time.Millisecond})
			start := time.Now()
			got, err := c.Embed(context.Background(), []string{"hello world"})
			if n := len(s.Requests()); n != tt.requests {
				t.Fatalf("%d requests, want %d", n, tt.requests)
			}
			if d := time.Since(start); d < tt.minTime {
				t.Fatalf("took %v, the server asked to wait %v in all", d, tt.minTime)
			}
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				checkVectors(t, []string{"hello world"}, got, modelstub.DefaultEmbeddingDimensions)
				return
			}
			var he *Error
			if !errors.As(err, &he) || he.StatusCode != tt.status || !strings.Contains(he.Message, tt.message) {
				t.Fatalf("err = %v, want a %d saying %q", err, tt.status, tt.message)
			}
			if tt.requests > 1 && !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", tt.requests)) {
				t.Fatalf("error %q does not tell the attempts", err)
			}
		})
	}
}

func TestEmbedErrorNamesBatch(t *testing.T) {
	s, base := stub(t, `{"rules": [{"match": {"user_contains": "poison"}, "reply": {"error": {"status": 422, "message": "cannot embed this"}}}]}`)
	in := texts(10)
	in[7] = "poison pill"
	_, err := New(Config{BaseURL: base, Model: "m", BatchSize: 3, Concurrency: 1}).Embed(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "batch 3 of 4 (inputs 6 to 8)") || !strings.Contains(err.Error(), "cannot embed this") {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3 (stop at the failing batch)", n)
	}
	// Concurrent batches name the same one.
	_, err = New(Config{BaseURL: base, Model: "m", BatchSize: 3, Concurrency: 4}).Embed(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "batch 3 of 4 (inputs 6 to 8)") {
		t.Fatalf("err = %v", err)
	}
}

// inFlight counts the requests being served at once.
type inFlight struct {
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.now++
		f.max = max(f.max, f.now)
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.now--; f.mu.Unlock() }()
		next.ServeHTTP(w, r)
	})
}

func TestEmbedConcurrency(t *testing.T) {
	var f inFlight
	_, base := stub(t, `{"default": {"latency": "100ms"}}`, f.wrap, reverseData)
	in := texts(80)
	got, err := New(Config{BaseURL: base, Model: "m", BatchSize: 10, Concurrency: 4}).Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, in, got, modelstub.DefaultEmbeddingDimensions)
	// 8 batches of 100 ms: at most 4, and (the server being slow enough)
	// exactly 4, were in flight at once. No wall-clock bound: a busy CI
	// machine stretches it.
	if f.max != 4 {
		t.Fatalf("%d requests at once, want 4", f.max)
	}
}

func TestEmbedCancelStopsBatches(t *testing.T) {
	s, base := stub(t, `{"default": {"latency": "50ms"}}`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(75*time.Millisecond, cancel)
	_, err := New(Config{BaseURL: base, Model: "m", BatchSize: 1, Concurrency: 1}).Embed(ctx, texts(40))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := len(s.Requests()); n > 3 {
		t.Fatalf("%d requests after cancelling at the second", n)
	}
}

func TestEmbedStubValidationError(t *testing.T) {
	_, base := stub(t, "")
	_, err := New(Config{BaseURL: base, Model: "m", Dimensions: 5000}).Embed(context.Background(), []string{"x"})
	var he *Error
	if !errors.As(err, &he) || he.StatusCode != 400 || he.Type != "invalid_request_error" || !strings.Contains(he.Message, "dimensions") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmbedMalformedIsNotRetried(t *testing.T) {
	s, base := stub(t, `{"rules": [{"match": {}, "reply": {"malformed": true}}]}`)
	_, err := New(Config{BaseURL: base, Model: "m"}).Embed(context.Background(), []string{"x"})
	if !errors.Is(err, errBadResponse) || len(s.Requests()) != 1 {
		t.Fatalf("err = %v after %d requests", err, len(s.Requests()))
	}
}

func TestEmbedTimeoutAndCancel(t *testing.T) {
	s, base := stub(t, `{"rules": [{"match": {}, "reply": {"hang": true}}]}`)
	c := New(Config{BaseURL: base, Model: "m", Timeout: 50 * time.Millisecond, MaxRetries: 1, RetryBaseDelay: time.Millisecond})
	start := time.Now()
	_, err := c.Embed(context.Background(), []string{"x"})
	if !errors.Is(err, context.DeadlineExceeded) || len(s.Requests()) != 2 {
		t.Fatalf("err = %v after %d requests, want a timeout after 2", err, len(s.Requests()))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed out after %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = New(Config{BaseURL: base, Model: "m"}).Embed(ctx, []string{"x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestEmbedInputs(t *testing.T) {
	_, base := stub(t, "")
	c := New(Config{BaseURL: base, Model: "m"})
	if v, err := c.Embed(context.Background(), nil); err != nil || len(v) != 0 {
		t.Fatalf("no inputs: %v, %v", v, err)
	}
	for _, in := range [][]string{{"ok", ""}, {"  \n"}, {"bad \xff"}} {
		if _, err := c.Embed(context.Background(), in); err == nil {
			t.Fatalf("Embed(%q) succeeded", in)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "http://localhost/v1"},
		{Model: "m"},
		{BaseURL: "localhost:11434", Model: "m"},
		{BaseURL: "ftp://x/v1", Model: "m"},
	} {
		if _, err := New(cfg).Embed(context.Background(), []string{"x"}); err == nil {
			t.Fatalf("config %+v accepted", cfg)
		}
	}
}

// fake answers every request with status and body, after checking it.
func fake(t *testing.T, status int, body string, check func(r *http.Request)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			check(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name, body  string
		status      int
		typ, msg    string
		errContains string
	}{
		{"openai", `{"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}}`, 401,
			"invalid_request_error", "Incorrect API key", "401 Unauthorized (invalid_request_error, invalid_api_key): Incorrect API key"},
		{"ollama", `{"error": "model \"nomic\" not found, try pulling it first"}`, 404, "", `model "nomic" not found`, "404 Not Found: model"},
		{"tei", `{"error": "Input validation error: inputs too long", "error_type": "Validation"}`, 413, "Validation", "inputs too long", "(Validation)"},
		{"plain text", "upstream connect error\n", 502, "", "upstream connect error", "502 Bad Gateway: upstream connect error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fake(t, tt.status, tt.body, nil)
			_, err := New(Config{BaseURL: base, Model: "m", MaxRetries: -1}).Embed(context.Background(), []string{"x"})
			var he *Error
			if !errors.As(err, &he) || he.StatusCode != tt.status || he.Type != tt.typ || !strings.Contains(he.Message, tt.msg) {
				t.Fatalf("err = %#v", err)
			}
			if !strings.Contains(err.Error(), tt.errContains) || !strings.Contains(err.Error(), base+"/embeddings") {
				t.Fatalf("error text %q lacks %q or the URL", err, tt.errContains)
			}
		})
	}
}

func TestAzureAndAuth(t *testing.T) {
	var got *http.Request
	body := `{"data": [{"index": 0, "embedding": [3, 4]}]}`
	base := fake(t, 200, body, func(r *http.Request) { got = r.Clone(context.Background()) })

	c := New(Config{BaseURL: base + "/openai/deployments/emb?api-version=2024-10-21", Model: "emb", APIKey: "azkey"})
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/openai/deployments/emb/embeddings" || got.URL.Query().Get("api-version") != "2024-10-21" ||
		got.Header.Get("api-key") != "azkey" || got.Header.Get("Authorization") != "" {
		t.Fatalf("Azure request: %s, api-key %q, authorization %q", got.URL, got.Header.Get("api-key"), got.Header.Get("Authorization"))
	}

	if _, err := New(Config{BaseURL: base + "/v1/", Model: "m"}).Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/v1/embeddings" || got.Header.Get("Authorization") != "" || got.Header.Get("api-key") != "" {
		t.Fatalf("keyless request: %s with auth headers", got.URL)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int
		want [][]float32
		ok   bool
	}{
		{"normalized", `{"data": [{"index": 0, "embedding": [3, 4]}]}`, 1, [][]float32{{0.6, 0.8}}, true},
		{"no index keeps position", `{"data": [{"embedding": [1, 0]}, {"embedding": [0, 2]}]}`, 2, [][]float32{{1, 0}, {0, 1}}, true},
		// base64 of the little-endian float32s 0, 2.
		{"base64", `{"data": [{"index": 0, "embedding": "AAAAAAAAAEA="}]}`, 1, [][]float32{{0, 1}}, true},
		{"zero vector", `{"data": [{"index": 0, "embedding": [0, 0]}]}`, 1, [][]float32{{0, 0}}, true},
		{"too few", `{"data": [{"index": 0, "embedding": [1]}]}`, 2, nil, false},
		{"repeated index", `{"data": [{"index": 0, "embedding": [1]}, {"index": 0, "embedding": [1]}]}`, 2, nil, false},
		{"index out of range", `{"data": [{"index": 5, "embedding": [1]}]}`, 1, nil, false},
		{"empty vector", `{"data": [{"index": 0, "embedding": []}]}`, 1, nil, false},
		{"not numbers", `{"data": [{"index": 0, "embedding": {"a": 1}}]}`, 1, nil, false},
		{"bad base64", `{"data": [{"index": 0, "embedding": "!!"}]}`, 1, nil, false},
		{"not JSON", `<html>`, 1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode([]byte(tt.body), tt.n)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDimensionsChecked(t *testing.T) {
	base := fake(t, 200, `{"data": [{"index": 0, "embedding": [1, 2, 3]}]}`, nil)
	_, err := New(Config{BaseURL: base, Model: "m", Dimensions: 4}).Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "3 dimensions, want 4") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"1"}}, 250 * time.Millisecond},
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h); got != tt.want {
			t.Fatalf("retryAfter(%v) = %v, want %v", tt.h, got, tt.want)
		}
	}
	future := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	if got := retryAfter(http.Header{"Retry-After": {future}}); got < time.Second || got > 3*time.Second {
		t.Fatalf("HTTP date Retry-After gave %v", got)
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	c := New(Config{BaseURL: "http://x/v1", Model: "m", RetryBaseDelay: 100 * time.Millisecond})
	for attempt, hi := range []time.Duration{100, 200, 400, 800} {
		hi *= time.Millisecond
		for range 50 {
			if d := c.backoff(attempt, 0); d < hi/2 || d > hi {
				t.Fatalf("backoff(%d) = %v, want %v..%v", attempt, d, hi/2, hi)
			}
		}
	}
	if d := c.backoff(0, 3*time.Second); d != 3*time.Second {
		t.Fatalf("Retry-After not honoured: %v", d)
	}
	if d := c.backoff(0, time.Hour); d != maxRetryDelay {
		t.Fatalf("Retry-After not capped: %v", d)
	}
}

// BenchmarkEmbed5000 embeds 5,000 short texts through the modelstub on
// loopback, in batches of 96: the client's and the stub's overhead.
func BenchmarkEmbed5000(b *testing.B) {
	s := modelstub.New(nil, modelstub.Options{})
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close()
	c := New(Config{BaseURL: hs.URL + "/v1", Model: "m"})
	in := texts(5000)
	for b.Loop() {
		if _, err := c.Embed(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		s.Reset()
	}
}
