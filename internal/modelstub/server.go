package modelstub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Wire names, as recorded in RecordedRequest.Wire.
const (
	WireOpenAI    = "openai"
	WireAnthropic = "anthropic"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 32 << 20

// Options tune the pace of every reply; a Reply can override them.
type Options struct {
	// Latency is waited before the first byte of every response.
	Latency time.Duration
	// TokensPerSecond paces the streamed tokens (and delays non-streamed
	// replies by as long); 0 means unpaced.
	TokensPerSecond float64
}

// RecordedRequest is one request the Server received.
type RecordedRequest struct {
	// Wire is WireOpenAI or WireAnthropic, from the path.
	Wire   string
	Method string
	Path   string
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Model is the requested model ("" when the body did not parse).
	Model string
	// Rule is the index of the rule that answered, -1 for the default
	// reply or when no reply was chosen (bad request, models list).
	Rule int
	Time time.Time
}

// Server is an http.Handler answering by its Script. Its methods are safe
// for concurrent use.
type Server struct {
	script    *Script
	opts      Options
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	requests []RecordedRequest
	fails    map[int]int // rule index (len(Rules) for the default) -> failures served
}

// New returns a Server answering by script (nil: an empty script, so every
// request gets the default echo reply).
func New(script *Script, opts Options) *Server {
	if script == nil {
		script = &Script{}
	}
	return &Server{script: script, opts: opts, closed: make(chan struct{}), fails: map[int]int{}}
}

// Requests returns a copy of every request received so far, in arrival
// order.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Reset forgets the recorded requests and the fail_times counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.fails = map[int]int{}
}

// Close ends the waits of requests in flight (hanging, delayed or paced
// ones), which then end at once. Requests arriving later get a 503. Close
// is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	wire := WireOpenAI
	if p == "/v1/messages" || p == "/messages" || p == "/v1/messages/count_tokens" || p == "/messages/count_tokens" ||
		((p == "/v1/models" || p == "/models") && r.Header.Get("anthropic-version") != "") {
		wire = WireAnthropic
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	rec := RecordedRequest{
		Wire: wire, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(),
		Body: body, Rule: -1, Time: time.Now(),
	}
	if err != nil {
		s.record(rec)
		writeError(w, wire, http.StatusRequestEntityTooLarge, "request body too large or unreadable", 0)
		return
	}

	var conv *conversation
	switch p {
	case "/v1/chat/completions", "/chat/completions":
		if !allowMethod(w, r, wire, http.MethodPost) {
			s.record(rec)
			return
		}
		conv, err = parseOpenAI(body)
	case "/v1/messages", "/messages":
		if !allowMethod(w, r, wire, http.MethodPost) {
			s.record(rec)
			return
		}
		conv, err = parseAnthropic(body)
	case "/v1/messages/count_tokens", "/messages/count_tokens":
		s.record(rec)
		if !allowMethod(w, r, wire, http.MethodPost) {
			return
		}
		if conv, err = parseAnthropic(body); err != nil {
			writeError(w, wire, http.StatusBadRequest, err.Error(), 0)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"input_tokens": conv.promptTokens()})
		return
	case "/v1/embeddings", "/embeddings":
		s.serveEmbeddings(w, r, rec)
		return
	case "/v1/models", "/models":
		s.record(rec)
		if allowMethod(w, r, wire, http.MethodGet) {
			s.writeModels(w, wire)
		}
		return
	default:
		s.record(rec)
		writeError(w, wire, http.StatusNotFound, "modelstub: no route for "+r.Method+" "+r.URL.Path, 0)
		return
	}
	if err != nil {
		s.record(rec)
		writeError(w, wire, http.StatusBadRequest, err.Error(), 0)
		return
	}
	conv.wire = wire
	rec.Model = conv.model

	reply, idx := s.choose(conv)
	if idx < len(s.script.Rules) {
		rec.Rule = idx
	}
	s.record(rec)
	pl := s.plan(conv, reply, s.failing(reply, idx))

	ctx, cancel := s.requestContext(r.Context())
	defer cancel()
	if !s.await(ctx, w, r, wire, pl) {
		return
	}
	switch wire {
	case WireOpenAI:
		s.writeOpenAI(ctx, w, conv, pl)
	default:
		s.writeAnthropic(ctx, w, conv, pl)
	}
}

func allowMethod(w http.ResponseWriter, r *http.Request, wire, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, wire, http.StatusMethodNotAllowed, "modelstub: method "+r.Method+" not allowed, want "+method, 0)
	return false
}

func (s *Server) record(rec RecordedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
}

// requestContext is ctx, also cancelled when the Server is closed.
func (s *Server) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	select {
	case <-s.closed:
		cancel()
		return ctx, cancel
	default:
	}
	go func() { // ends with the request: cancel is deferred by the handler
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// choose returns the reply for the conversation and the index of the rule
// that matched, len(Rules) for the default.
func (s *Server) choose(c *conversation) (*Reply, int) {
	for i := range s.script.Rules {
		if s.script.Rules[i].Match.matches(c) {
			return &s.script.Rules[i].Reply, i
		}
	}
	if s.script.Default != nil {
		return s.script.Default, len(s.script.Rules)
	}
	return &Reply{}, len(s.script.Rules)
}

// failing counts one use of the reply's fail_times and reports whether this
// request gets the error.
func (s *Server) failing(r *Reply, idx int) bool {
	if r.FailTimes <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails[idx] >= r.FailTimes {
		return false
	}
	s.fails[idx]++
	return true
}

// finish reasons, neutral between the wires.
const (
	finishStop = iota
	finishToolCalls
	finishLength
)

// plan is a reply resolved against one request.
type plan struct {
	err       *ErrorReply
	hang      bool
	malformed bool
	latency   time.Duration
	tps       float64

	textTokens []string
	calls      []plannedCall
	finish     int
}

type plannedCall struct {
	id     string
	name   string
	args   string
	pieces []string
}

// text is the whole reply text.
func (p *plan) text() string { return strings.Join(p.textTokens, "") }

// completionTokens is the number of streamed pieces.
func (p *plan) completionTokens() int {
	n := len(p.textTokens)
	for _, c := range p.calls {
		n += len(c.pieces)
	}
	return n
}

func (s *Server) plan(c *conversation, r *Reply, failing bool) *plan {
	p := &plan{latency: s.opts.Latency, tps: s.opts.TokensPerSecond}
	if r.Latency != nil {
		p.latency = time.Duration(*r.Latency)
	}
	if r.TokensPerSecond != nil {
		p.tps = *r.TokensPerSecond
	}
	if failing || (r.FailTimes == 0 && r.Error != nil) {
		e := ErrorReply{Status: http.StatusInternalServerError}
		if r.Error != nil {
			e = *r.Error
		}
		if e.Message == "" {
			e.Message = fmt.Sprintf("modelstub: scripted error %d", e.Status)
		}
		p.err = &e
		return p
	}
	p.hang, p.malformed = r.Hang, r.Malformed

	var text string
	switch {
	case r.EchoJSON:
		b, _ := json.Marshal(map[string]string{"echo": c.lastUser})
		text = string(b)
	case r.Text != "":
		text = c.expand(r.Text)
	case len(r.ToolCalls) == 0:
		if c.lastRole == "tool" {
			text = c.expand("Tool said: {{last_tool_result}}")
		} else {
			text = c.expand("You said: {{last_user}}")
		}
	}
	p.textTokens = splitWords(text)
	for _, tc := range r.ToolCalls {
		args := "{}"
		if len(tc.Arguments) > 0 {
			var buf bytes.Buffer
			if err := json.Compact(&buf, tc.Arguments); err == nil {
				args = c.expandJSON(buf.String())
			}
		}
		id := "call_" + randomID(24)
		if c.wire == WireAnthropic {
			id = "toolu_01" + randomID(22)
		}
		p.calls = append(p.calls, plannedCall{id: id, name: tc.Name, args: args, pieces: splitBytes(args, 8)})
	}

	truncated := r.Truncate
	if max := c.maxTokens; max > 0 {
		if len(p.textTokens) > max {
			p.textTokens = p.textTokens[:max]
			truncated = true
		}
		if p.completionTokens() > max {
			truncated = true
		}
	}
	switch {
	case truncated:
		p.calls = nil
		p.finish = finishLength
	case len(p.calls) > 0:
		p.finish = finishToolCalls
	default:
		p.finish = finishStop
	}
	return p
}

// pacer spaces the streamed tokens: token i goes out at start + i/tps.
type pacer struct {
	start    time.Time
	interval time.Duration
}

func newPacer(tps float64) pacer {
	p := pacer{start: time.Now()}
	if tps > 0 {
		p.interval = time.Duration(float64(time.Second) / tps)
	}
	return p
}

// wait blocks until token i is due; false when ctx ended first.
func (p pacer) wait(ctx context.Context, i int) bool {
	if p.interval == 0 || i <= 0 {
		return ctx.Err() == nil
	}
	return sleep(ctx, time.Until(p.start.Add(time.Duration(i)*p.interval)))
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes an error in the wire's own format.
func writeError(w http.ResponseWriter, wire string, status int, msg string, retryAfter float64) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int64(retryAfter+0.999999)))
		w.Header().Set("Retry-After-Ms", fmt.Sprint(int64(retryAfter*1000)))
	}
	if wire == WireAnthropic {
		reqID := "req_" + randomID(24)
		w.Header().Set("Request-Id", reqID)
		writeJSON(w, status, map[string]any{
			"type":       "error",
			"error":      map[string]string{"type": anthropicErrorType(status), "message": msg},
			"request_id": reqID,
		})
		return
	}
	typ, code := openAIErrorType(status)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": code,
	}})
}

func openAIErrorType(status int) (typ string, code any) {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key"
	case status == http.StatusForbidden:
		return "permission_error", nil
	case status == http.StatusNotFound:
		return "invalid_request_error", "not_found"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", nil
	default:
		return "invalid_request_error", nil
	}
}

func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// modelIDs are the models GET /v1/models lists: a few well-known names and
// the literal model names of the script's rules.
func (s *Server) modelIDs() []string {
	ids := []string{"modelstub", "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"}
	for _, r := range s.script.Rules {
		if m := r.Match.Model; m != "" && !strings.ContainsAny(m, `*?[\`) && !slices.Contains(ids, m) {
			ids = append(ids, m)
		}
	}
	return ids
}

func (s *Server) writeModels(w http.ResponseWriter, wire string) {
	ids := s.modelIDs()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var data []map[string]any
	if wire == WireAnthropic {
		for _, id := range ids {
			data = append(data, map[string]any{"type": "model", "id": id, "display_name": id, "created_at": created.Format(time.RFC3339)})
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": false, "first_id": ids[0], "last_id": ids[len(ids)-1]})
		return
	}
	for _, id := range ids {
		data = append(data, map[string]any{"id": id, "object": "model", "created": created.Unix(), "owned_by": "modelstub"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// sseWriter writes server-sent events, flushing each one.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
	buf []byte // reused for every event
}

func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// send writes one event (no "event:" line when name is "") with data
// marshalled as JSON unless it is already []byte.
func (s *sseWriter) send(name string, data any) bool {
	if s.err != nil {
		return false
	}
	b, ok := data.([]byte)
	if !ok {
		if b, s.err = json.Marshal(data); s.err != nil {
			return false
		}
	}
	buf := s.buf[:0]
	if name != "" {
		buf = append(append(append(buf, "event: "...), name...), '\n')
	}
	buf = append(append(append(buf, "data: "...), b...), "\n\n"...)
	s.buf = buf
	if _, s.err = s.w.Write(buf); s.err != nil {
		return false
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
	return s.err == nil
}

// randomID returns n random characters of [a-zA-Z0-9].
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// await plays a reply plan's prelude: it hangs, waits out the latency or
// answers the planned error, and reports whether the reply should follow.
func (s *Server) await(ctx context.Context, w http.ResponseWriter, r *http.Request, wire string, pl *plan) bool {
	if pl.hang {
		<-ctx.Done()
	} else if sleep(ctx, pl.latency) {
		if pl.err != nil {
			writeError(w, wire, pl.err.Status, pl.err.Message, pl.err.RetryAfter)
			return false
		}
		return true
	}
	if r.Context().Err() == nil { // the Server was closed, the client is still there
		writeError(w, wire, http.StatusServiceUnavailable, "modelstub: server closed", 0)
	}
	return false
}

// templateHole marks where a template's string goes; JSON encodes it as
// "\u0000hole\u0000", which no other value of a chunk contains.
const templateHole = "\x00hole\x00"

// template is a JSON document with one string left open, encoded once: a
// streamed reply's content chunks differ only in their token.
type template struct{ prefix, suffix []byte }

func newTemplate(doc any) (*template, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	hole, _ := json.Marshal(templateHole)
	i := bytes.Index(b, hole)
	if i < 0 || bytes.Index(b[i+len(hole):], hole) >= 0 {
		return nil, errors.New("modelstub: a template needs its hole exactly once")
	}
	return &template{prefix: b[:i], suffix: b[i+len(hole):]}, nil
}

// fill returns the document with s in the hole.
func (t *template) fill(s string) []byte {
	v, _ := json.Marshal(s) // a string always encodes
	out := make([]byte, 0, len(t.prefix)+len(v)+len(t.suffix))
	return append(append(append(out, t.prefix...), v...), t.suffix...)
}
