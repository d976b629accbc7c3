// Package embed is a client of the OpenAI-compatible embeddings endpoint
// (POST {base}/embeddings) that OpenAI, Azure OpenAI, Ollama, vLLM, TEI, LM
// Studio and others serve. It batches inputs, keeps their order, retries
// rate limits and server errors, and returns unit-length vectors.
package embed

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Config.
const (
	DefaultBatchSize      = 96
	DefaultConcurrency    = 4
	DefaultMaxBatchChars  = 200_000 // about 50k tokens, well under OpenAI's 300k per request
	DefaultTimeout        = 60 * time.Second
	DefaultMaxRetries     = 4
	DefaultRetryBaseDelay = 500 * time.Millisecond
	// maxRetryDelay caps one wait, also a Retry-After the server asks for.
	maxRetryDelay = time.Minute
	// maxResponseBytes bounds a response body: 96 vectors of 3072 floats as
	// JSON text are about 6 MB.
	maxResponseBytes = 64 << 20
)

// Config says where and how to embed. Zero fields take the defaults.
type Config struct {
	// BaseURL is the API root that "/embeddings" is appended to:
	// "https://api.openai.com/v1", "http://localhost:11434/v1" (Ollama),
	// or an Azure deployment
	// "https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT?api-version=2024-10-21"
	// (its query is kept).
	BaseURL string
	// APIKey is sent as a bearer token, or as the api-key header to Azure
	// (a host under openai.azure.com or a URL with an api-version); none
	// when empty.
	APIKey string
	// Model is the embedding model, e.g. "text-embedding-3-small".
	Model string
	// Dimensions, when > 0, asks for vectors of that length (models that
	// support shortening) and is checked in the answer.
	Dimensions int
	// BatchSize is the most inputs per request (default 96).
	BatchSize int
	// Concurrency is how many requests one Embed call has in flight at
	// most (default 4).
	Concurrency int
	// MaxBatchChars is the most characters per request (default 200,000);
	// a longer single input goes alone.
	MaxBatchChars int
	// Timeout bounds each request (default 60s).
	Timeout time.Duration
	// MaxRetries is how many times a request that got 429, 5xx or a
	// network error is retried (default 4; negative for none).
	MaxRetries int
	// RetryBaseDelay is the first backoff (default 500ms), doubled on
	// each retry and jittered; a Retry-After header wins.
	RetryBaseDelay time.Duration
	// HTTPClient sends the requests (default: a new http.Client).
	HTTPClient *http.Client
}

// Client embeds texts. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	azure    bool
	cfgErr   error
}

// New returns a Client for cfg. An invalid cfg (no base URL or model, a
// URL that does not parse) is reported by Embed.
func New(cfg Config) *Client {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxBatchChars <= 0 {
		cfg.MaxBatchChars = DefaultMaxBatchChars
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	c := &Client{cfg: cfg}
	c.endpoint, c.azure, c.cfgErr = endpointOf(cfg)
	return c
}

// endpointOf is the embeddings URL of cfg and whether it is Azure's.
func endpointOf(cfg Config) (string, bool, error) {
	if cfg.Model == "" {
		return "", false, errors.New("embed: no model configured")
	}
	if cfg.BaseURL == "" {
		return "", false, errors.New("embed: no base URL configured")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false, fmt.Errorf("embed: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/embeddings"
	u.RawPath = ""
	azure := strings.HasSuffix(u.Hostname(), ".openai.azure.com") || u.Query().Has("api-version")
	return u.String(), azure, nil
}

// Model returns the configured model.
func (c *Client) Model() string { return c.cfg.Model }

// Embed returns one unit-length vector per text, in the order of texts.
// Empty texts are refused (the APIs reject them). The inputs are sent in
// batches, up to Concurrency at a time; the first batch that fails cancels
// the others and ends the call with an error that names it.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.cfgErr != nil {
		return nil, c.cfgErr
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("embed: input %d is empty", i)
		}
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("embed: input %d is not valid UTF-8", i)
		}
	}
	batches := c.batches(texts)
	results := make([][][]float32, len(batches))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		failed  = -1 // the batch whose failure ends the call
		failErr error
	)
	// Workers take batches in order; all have ended when wg.Wait returns.
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c.cfg.Concurrency, len(batches)) {
		wg.Go(func() {
			for bi := range next {
				b := batches[bi]
				vecs, err := c.embedBatch(ctx, texts[b[0]:b[1]])
				if err == nil {
					results[bi] = vecs
					continue
				}
				mu.Lock()
				if failed < 0 { // later failures are this one's cancellations
					failed, failErr = bi, err
				}
				mu.Unlock()
				cancel() // the call fails: spare the other requests
			}
		})
	}
feed:
	for bi := range batches {
		select {
		case next <- bi:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	if failed >= 0 {
		if len(batches) == 1 {
			return nil, failErr
		}
		b := batches[failed]
		return nil, fmt.Errorf("embed: batch %d of %d (inputs %d to %d): %w", failed+1, len(batches), b[0], b[1]-1, failErr)
	}
	if err := ctx.Err(); err != nil && len(batches) > 0 && results[len(batches)-1] == nil {
		return nil, err // cancelled by the caller before every batch was sent
	}
	out := make([][]float32, 0, len(texts))
	dims := c.cfg.Dimensions
	for bi, vecs := range results {
		for i, v := range vecs {
			if dims == 0 {
				dims = len(v)
			}
			if len(v) != dims {
				return nil, fmt.Errorf("embed: input %d has %d dimensions, want %d", batches[bi][0]+i, len(v), dims)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// batches cuts texts into [start, end) ranges of at most BatchSize inputs
// and MaxBatchChars characters (at least one input each).
func (c *Client) batches(texts []string) [][2]int {
	var out [][2]int
	start, chars := 0, 0
	for i, t := range texts {
		n := len(t)
		if i > start && (i-start >= c.cfg.BatchSize || chars+n > c.cfg.MaxBatchChars) {
			out = append(out, [2]int{start, i})
			start, chars = i, 0
		}
		chars += n
	}
	if start < len(texts) {
		out = append(out, [2]int{start, len(texts)})
	}
	return out
}

type request struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions,omitempty"`
}

type response struct {
	Data []struct {
		Index     *int            `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
}

// embedBatch sends one request, retrying, and returns its vectors in input
// order.
func (c *Client) embedBatch(ctx context.Context, inputs []string) ([][]float32, error) {
	body, err := json.Marshal(request{Model: c.cfg.Model, Input: inputs, Dimensions: c.cfg.Dimensions})
	if err != nil {
		return nil, fmt.Errorf("embed: encode request: %w", err)
	}
	for attempt := 0; ; attempt++ {
		vecs, retryAfter, err := c.post(ctx, body, len(inputs))
		if err == nil {
			return vecs, nil
		}
		var he *Error
		retryable := errors.As(err, &he) && he.retryable() ||
			!errors.As(err, &he) && !errors.Is(err, errBadResponse) && ctx.Err() == nil
		if !retryable || attempt >= c.cfg.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return nil, err
		}
		if !sleep(ctx, c.backoff(attempt, retryAfter)) {
			return nil, fmt.Errorf("embed: %w while waiting to retry after: %v", ctx.Err(), err)
		}
	}
}

// backoff is the wait before retry attempt+1: what the server asked for,
// or an exponential delay with full jitter.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxRetryDelay)
	}
	d := min(c.cfg.RetryBaseDelay<<attempt, maxRetryDelay)
	return d/2 + rand.N(d/2+1)
}

// errBadResponse marks a 200 answer that cannot be used; retrying it is
// not expected to help.
var errBadResponse = errors.New("embed: bad response")

// post sends one request; on failure it also returns the delay the server
// asked for, if any.
func (c *Client) post(ctx context.Context, body []byte, n int) ([][]float32, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("embed: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		if c.azure {
			req.Header.Set("api-key", c.cfg.APIKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
		}
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("embed: POST %s: %w", c.endpoint, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("embed: POST %s: read response: %w", c.endpoint, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, retryAfter(res.Header), newError(c.endpoint, res.StatusCode, data)
	}
	if len(data) > maxResponseBytes {
		return nil, 0, fmt.Errorf("%w: POST %s: response larger than %d bytes", errBadResponse, c.endpoint, maxResponseBytes)
	}
	vecs, err := decode(data, n)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: POST %s: %v", errBadResponse, c.endpoint, err)
	}
	return vecs, 0, nil
}

// decode reads a response to n inputs into vectors in input order (the
// data carry their index and need not come in order), each normalized to
// unit length.
func decode(data []byte, n int) ([][]float32, error) {
	var res response
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if len(res.Data) != n {
		return nil, fmt.Errorf("%d embeddings for %d inputs", len(res.Data), n)
	}
	out := make([][]float32, n)
	for pos, d := range res.Data {
		i := pos
		if d.Index != nil {
			i = *d.Index
		}
		if i < 0 || i >= n || out[i] != nil {
			return nil, fmt.Errorf("embedding index %d out of range or repeated", i)
		}
		v, err := vector(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embedding %d: %v", i, err)
		}
		if len(v) == 0 {
			return nil, fmt.Errorf("embedding %d is empty", i)
		}
		out[i] = normalize(v)
	}
	return out, nil
}

// vector reads an embedding as a JSON array of numbers or, as some servers
// answer, base64 little-endian float32s.
func vector(raw json.RawMessage) ([]float32, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b)%4 != 0 {
			return nil, errors.New("invalid base64 embedding")
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, nil
	}
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errors.New("embedding is neither an array of numbers nor base64")
	}
	return v, nil
}

// normalize scales v to unit length in place; a zero vector stays zero,
// and a vector with NaN or Inf is zeroed rather than poisoning every
// similarity computed with it.
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	norm := math.Sqrt(sum)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		clear(v)
		return v
	}
	for i, x := range v {
		v[i] = float32(float64(x) / norm)
	}
	return v
}

// Error is an HTTP error answer of the embeddings endpoint.
type Error struct {
	// URL is the endpoint called.
	URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Type, Code and Message are from the error body, in OpenAI's format
	// ({"error": {"message", "type", "code"}}) or the simpler ones of
	// Ollama and TEI ({"error": "...", "error_type": "..."}); Message is the
	// start of the body when it is in none of them.
	Type, Code, Message string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "embed: POST %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Type != "" || e.Code != "" {
		b.WriteString(" (")
		b.WriteString(strings.Trim(e.Type+", "+e.Code, ", "))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// retryable reports whether the failure may pass: a rate limit, a timeout
// or a server error.
func (e *Error) retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout || e.StatusCode >= 500
}

func newError(endpoint string, status int, body []byte) *Error {
	e := &Error{URL: endpoint, StatusCode: status}
	var openai struct {
		Error json.RawMessage `json:"error"`
		Type  string          `json:"error_type"`
	}
	if json.Unmarshal(body, &openai) == nil && len(openai.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		}
		var msg string
		switch {
		case json.Unmarshal(openai.Error, &obj) == nil && obj.Message != "":
			e.Message, e.Type = obj.Message, obj.Type
			if obj.Code != nil {
				e.Code = fmt.Sprint(obj.Code)
			}
			return e
		case json.Unmarshal(openai.Error, &msg) == nil && msg != "":
			e.Message, e.Type = msg, openai.Type
			return e
		}
	}
	e.Message = strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), 512)]), ""))
	return e
}

// retryAfter reads the delay a server asks for: retry-after-ms (OpenAI),
// then Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
