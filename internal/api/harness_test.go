package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/assistd/assistd/internal/api"
	"github.com/assistd/assistd/internal/apikey"
	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/retrieval/embed"
	"github.com/assistd/assistd/internal/sandbox"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store/sqlite"
)

// ---------------------------------------------------------------------------
// The OpenAPI contract, loaded once per test binary.

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	path   string
	err    error
}

// findSpec returns the path of openapi.yaml: $ASSISTD_OPENAPI_SPEC, or the
// first shared/openai/openapi.yaml found walking up from the working
// directory (also looking beside each directory, since the repo lives at
// /work/main and the spec at /work/shared).
func findSpec() (string, error) {
	if p := os.Getenv("ASSISTD_OPENAPI_SPEC"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ASSISTD_OPENAPI_SPEC=%s: %w", p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, cand := range []string{
			filepath.Join(dir, "shared", "openai", "openapi.yaml"),
			filepath.Join(dir, "..", "shared", "openai", "openapi.yaml"),
		} {
			if _, err := os.Stat(cand); err == nil {
				return filepath.Clean(cand), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("openapi.yaml not found (set ASSISTD_OPENAPI_SPEC)")
		}
		dir = parent
	}
}

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		spec.path, spec.err = findSpec()
		if spec.err != nil {
			return
		}
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		doc, err := loader.LoadFromFile(spec.path)
		if err != nil {
			spec.err = fmt.Errorf("load %s: %w", spec.path, err)
			return
		}
		// doc.Validate is skipped on purpose: the spec has one known error
		// (AdditionalTools: a $recursiveRef sibling).
		doc.Servers = nil
		allowNullable(doc)
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			spec.err = fmt.Errorf("router: %w", err)
			return
		}
		spec.doc, spec.router = doc, r
	})
	if spec.err != nil {
		t.Fatalf("OpenAPI spec: %v", spec.err)
	}
	return spec.doc, spec.router
}

// allowNullable makes the OpenAPI 3.0 keyword "nullable: true", which this
// 3.1 spec still uses (e.g. RunObject's timestamps), mean what it says under
// 3.1 validation: null is allowed. kin-openapi's 3.1 mode ignores it.
func allowNullable(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Nullable && s.Type != nil && !s.Type.Includes("null") {
			t := append(openapi3.Types{}, *s.Type...)
			t = append(t, "null")
			s.Type = &t
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		if s.AdditionalProperties.Schema != nil {
			walk(s.AdditionalProperties.Schema)
		}
		for _, l := range [][]*openapi3.SchemaRef{s.OneOf, s.AnyOf, s.AllOf} {
			for _, x := range l {
				walk(x)
			}
		}
		walk(s.Not)
	}
	for _, ref := range doc.Components.Schemas {
		walk(ref)
	}
}

// specValidator is an http.RoundTripper that validates every JSON response
// against the spec and records failures for the test's cleanup.
type specValidator struct {
	t      testing.TB
	next   http.RoundTripper
	doc    *openapi3.T
	router routers.Router

	mu      sync.Mutex
	errs    []string
	checked int
}

func newSpecValidator(t testing.TB, next http.RoundTripper) *specValidator {
	doc, router := loadSpec(t)
	v := &specValidator{t: t, next: next, doc: doc, router: router}
	t.Cleanup(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, e := range v.errs {
			t.Errorf("spec validation: %s", e)
		}
	})
	return v
}

func (v *specValidator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if e := v.validate(req, resp.StatusCode, resp.Header, body); e != nil {
		v.mu.Lock()
		v.errs = append(v.errs, fmt.Sprintf("%s %s → %d: %v\nbody: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, e, truncate(body, 2000)))
		v.mu.Unlock()
	}
	v.mu.Lock()
	v.checked++
	v.mu.Unlock()
	return resp, nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

func isV1(h http.Header) bool {
	for _, v := range h.Values("OpenAI-Beta") {
		if strings.Contains(v, "assistants=v1") {
			return true
		}
	}
	return false
}

// validate checks one response. Error statuses must carry the OpenAI error
// object (ErrorResponse); successful JSON responses must match the
// operation's declared response. Non-JSON successes (file content) and v1
// successes are not validated against the v2 spec.
func (v *specValidator) validate(req *http.Request, status int, header http.Header, body []byte) error {
	mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if status >= 400 {
		if mediaType != "application/json" {
			return fmt.Errorf("error response with Content-Type %q", header.Get("Content-Type"))
		}
		return v.validateError(body)
	}
	if mediaType == "text/event-stream" && !isV1(req.Header) {
		_, err := v.validateEvents(body)
		return err
	}
	if mediaType != "application/json" {
		return nil
	}
	if isV1(req.Header) {
		return nil
	}
	u := *req.URL
	p, ok := strings.CutPrefix(u.Path, "/v1")
	if !ok {
		return fmt.Errorf("path %q lacks the /v1 prefix", u.Path)
	}
	u.Path, u.RawPath = p, ""
	r2 := req.Clone(req.Context())
	r2.URL = &u
	r2.Body = http.NoBody
	route, params, err := v.router.FindRoute(r2)
	if err != nil {
		return fmt.Errorf("no spec route for a %d response: %w", status, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r2,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{ExcludeRequestBody: true},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(emptyListIDs(body))
	return openapi3filter.ValidateResponse(context.Background(), input)
}

// emptyListIDs returns body with first_id/last_id null replaced by "" when
// body is an empty list: the List*Response schemas type them as string, but
// the real API answers an empty page with null and the SDKs accept it
// (ASSISTANTS_API.md §1.1, "observed behaviour; not in spec"). Null on a
// non-empty page is still an error.
func emptyListIDs(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || string(m["object"]) != `"list"` {
		return body
	}
	var data []json.RawMessage
	if json.Unmarshal(m["data"], &data) != nil || len(data) != 0 {
		return body
	}
	for _, k := range []string{"first_id", "last_id"} {
		if string(m[k]) == "null" {
			m[k] = json.RawMessage(`""`)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// sseEvent is one server-sent event.
type sseEvent struct {
	Name string
	Data string
}

// parseSSE splits a complete event stream into events.
func parseSSE(body []byte) ([]sseEvent, error) {
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimRight(string(body), "\n"), "\n\n") {
		if block == "" {
			continue
		}
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			default:
				return nil, fmt.Errorf("unexpected SSE line %q", line)
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

// eventSchema names the spec schema of each event's data.
func eventSchema(name string) string {
	switch {
	case name == "thread.created":
		return "ThreadObject"
	case name == "thread.run.step.delta":
		return "RunStepDeltaObject"
	case name == "thread.message.delta":
		return "MessageDeltaObject"
	case strings.HasPrefix(name, "thread.run.step."):
		return "RunStepObject"
	case strings.HasPrefix(name, "thread.run."):
		return "RunObject"
	case strings.HasPrefix(name, "thread.message."):
		return "MessageObject"
	case name == "error":
		return "Error"
	}
	return ""
}

// validateEvents checks a stream: every payload against its schema, and
// the stream ends with done/[DONE].
func (v *specValidator) validateEvents(body []byte) ([]sseEvent, error) {
	events, err := parseSSE(body)
	if err != nil {
		return nil, err
	}
	if n := len(events); n == 0 || events[n-1].Name != "done" || events[n-1].Data != "[DONE]" {
		return events, fmt.Errorf("stream does not end with done/[DONE]")
	}
	for _, ev := range events[:len(events)-1] {
		name := eventSchema(ev.Name)
		if name == "" {
			return events, fmt.Errorf("unknown event %q", ev.Name)
		}
		ref := v.doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return events, fmt.Errorf("spec has no %s schema", name)
		}
		var val any
		if err := json.Unmarshal([]byte(ev.Data), &val); err != nil {
			return events, fmt.Errorf("event %s: data is not JSON: %w", ev.Name, err)
		}
		if err := ref.Value.VisitJSON(val, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
			return events, fmt.Errorf("event %s does not match %s: %w\ndata: %s", ev.Name, name, err, truncate([]byte(ev.Data), 1500))
		}
	}
	return events, nil
}

func (v *specValidator) validateError(body []byte) error {
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	ref := v.doc.Components.Schemas["ErrorResponse"]
	if ref == nil || ref.Value == nil {
		return errors.New("spec has no ErrorResponse schema")
	}
	if err := ref.Value.VisitJSON(val, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return err
	}
	// Beyond the schema: the four keys exactly, no extras.
	var shape struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	json.Unmarshal(body, &shape)
	for k := range shape.Error {
		switch k {
		case "message", "type", "param", "code":
		default:
			return fmt.Errorf("error object has unexpected key %q", k)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// The server under test.

type harness struct {
	t     *testing.T
	dir   string // holds assistd.db and blobs/
	srv   *httptest.Server
	store *sqlite.Store
	v     *specValidator
	http  *http.Client // validating client for raw requests
	keyA  string
	keyB  string
	A     openai.Client
	B     openai.Client
	// model is the scripted model server every run talks to over HTTP.
	model     *modelstub.Server
	engine    *engine.Engine
	retrieval *retrieval.Service
	jobs      *jobs.Queue
}

type harnessSettings struct {
	api     api.Config
	engine  engine.Config
	script  *modelstub.Script
	options modelstub.Options
	// router, when set, builds the model router's config from the scripted
	// model server's base URL (instead of the OPENAI_BASE_URL shortcut).
	router func(baseURL string) *llm.RouterConfig
	// sandbox, when set, runs code_interpreter through the engine's
	// store-backed tool.
	sandbox *sandbox.Manager
	// retrieval configures file_search's ingestion and search.
	retrieval retrieval.Config
	// embeddingModel, when set, embeds new vector stores with the scripted
	// model server's /v1/embeddings under that model name.
	embeddingModel string
	// jobs configures the job queue (its Store is the harness's).
	jobs jobs.Config
}

// withJobs adjusts the job queue's settings.
func withJobs(f func(*jobs.Config)) harnessOption {
	return func(c *harnessSettings) { f(&c.jobs) }
}

type harnessOption func(*harnessSettings)

func withMaxBody(n int64) harnessOption {
	return func(c *harnessSettings) { c.api.MaxBodyBytes = n }
}
func withMaxUpload(n int64) harnessOption {
	return func(c *harnessSettings) { c.api.MaxUploadBytes = n }
}

// withScript sets the scripted model's rules.
func withScript(s *modelstub.Script) harnessOption {
	return func(c *harnessSettings) { c.script = s }
}

// withRouter builds the model router from the config f returns for the
// scripted model server's base URL.
func withRouter(f func(baseURL string) *llm.RouterConfig) harnessOption {
	return func(c *harnessSettings) { c.router = f }
}

// withSandbox runs code_interpreter in m.
func withSandbox(m *sandbox.Manager) harnessOption {
	return func(c *harnessSettings) { c.sandbox = m }
}

// withEmbeddings makes file_search embed with the scripted model server.
func withEmbeddings(model string) harnessOption {
	return func(c *harnessSettings) { c.embeddingModel = model }
}

// withEngine adjusts the engine's settings.
func withEngine(f func(*engine.Config)) harnessOption {
	return func(c *harnessSettings) { f(&c.engine) }
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "assistd.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatalf("jobs.Migrate: %v", err)
	}
	blobs, err := blob.NewDisk(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatalf("blob.NewDisk: %v", err)
	}
	set := harnessSettings{api: api.Config{Store: st, Blobs: blobs}}
	for _, o := range opts {
		o(&set)
	}
	model := modelstub.New(set.script, set.options)
	modelSrv := httptest.NewServer(model)
	t.Cleanup(modelSrv.Close)
	var rcfg *llm.RouterConfig
	if set.router != nil {
		rcfg = set.router(modelSrv.URL + "/v1")
	}
	router, err := llm.NewRouter(rcfg, func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return modelSrv.URL + "/v1"
		}
		return ""
	}, nil)
	if err != nil {
		t.Fatalf("llm.NewRouter: %v", err)
	}
	rcfg2 := set.retrieval
	rcfg2.Store, rcfg2.Blobs = st, blobs
	if m := set.embeddingModel; m != "" {
		rcfg2.DefaultEmbeddingModel = m
		rcfg2.Embedders = map[string]retrieval.Embedder{m: embed.New(embed.Config{BaseURL: modelSrv.URL + "/v1", Model: m})}
	}
	jcfg := set.jobs
	jcfg.Store = st
	if jcfg.Lease == 0 {
		jcfg.Lease = set.engine.Lease
	}
	q, err := jobs.New(jcfg)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	rcfg2.Jobs = q
	ret := retrieval.New(rcfg2)
	ecfg := set.engine
	ecfg.Store, ecfg.Blobs, ecfg.Models, ecfg.Tokens = st, blobs, router, llm.NewCounter()
	if ecfg.Builtins == nil {
		// Tests that set their own built-in tools keep exactly those.
		ecfg.Builtins = map[string]engine.BuiltinTool{schema.ToolFileSearch: &engine.FileSearch{Store: st, Retrieval: ret, Tokens: ret.CountTokens}}
		if set.sandbox != nil {
			ecfg.Builtins[schema.ToolCodeInterpreter] = engine.NewCodeInterpreter(set.sandbox, st, blobs, func() int64 { return time.Now().Unix() })
		}
	}
	ecfg.Jobs = q
	eng := engine.New(ecfg)
	engCtx, stopEngine := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() {
		defer close(engDone)
		eng.Run(engCtx)
	}()
	if err := q.Start(engCtx, eng, ret); err != nil {
		t.Fatalf("jobs.Start: %v", err)
	}
	cfg := set.api
	cfg.Engine, cfg.Retrieval = eng, ret
	srv := httptest.NewServer(api.New(cfg))
	t.Cleanup(func() {
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(sctx); err != nil {
			t.Errorf("jobs.Stop: %v", err)
		}
		stopEngine()
		<-engDone
		q.Close()
	})

	keyA, err := apikey.Create(ctx, st, "project-a", time.Now())
	if err != nil {
		t.Fatalf("apikey.Create A: %v", err)
	}
	keyB, err := apikey.Create(ctx, st, "project-b", time.Now())
	if err != nil {
		t.Fatalf("apikey.Create B: %v", err)
	}
	v := newSpecValidator(t, srv.Client().Transport)
	hc := &http.Client{Transport: v, Timeout: 10 * time.Second}
	h := &harness{t: t, dir: dir, srv: srv, store: st, v: v, http: hc, keyA: keyA, keyB: keyB, model: model, engine: eng, retrieval: ret, jobs: q}
	h.A = h.client(keyA)
	h.B = h.client(keyB)
	return h
}

func (h *harness) client(key string, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(h.srv.URL + "/v1/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(h.http),
	}
	return openai.NewClient(append(base, opts...)...)
}

// response is a raw HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, truncate(r.Body, 1000))
}

// decode unmarshals the body into v (failing the test on error).
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// object returns the body as a generic JSON object.
func (r *response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (r *response) apiError(t testing.TB) apiError {
	t.Helper()
	var e apiError
	r.decode(t, &e)
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("error without message/type: %s", r)
	}
	return e
}

// do sends a raw request through the validating client. body may be nil, a
// string or []byte (sent verbatim) or any other value (JSON-encoded). hdr
// holds extra headers as "Name: value"; "Authorization:" with an empty value
// removes the header.
func (h *harness) do(method, path, key string, body any, hdr ...string) *response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatalf("new request: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, kv := range hdr {
		k, val, _ := strings.Cut(kv, ":")
		val = strings.TrimSpace(val)
		if val == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, val)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// mustDo is do that fails the test unless the status is want.
func (h *harness) mustDo(want int, method, path, key string, body any, hdr ...string) *response {
	h.t.Helper()
	r := h.do(method, path, key, body, hdr...)
	if r.Status != want {
		h.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// multipartField is one part of an upload body.
type multipartField struct {
	Name, Filename string
	Data           []byte
}

func multipartBody(t testing.TB, fields ...multipartField) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f.Filename != "" {
			w, err = mw.CreateFormFile(f.Name, f.Filename)
		} else {
			w, err = mw.CreateFormField(f.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.Data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// uploadRaw posts a multipart body to /v1/files.
func (h *harness) uploadRaw(key string, fields ...multipartField) *response {
	h.t.Helper()
	ct, body := multipartBody(h.t, fields...)
	return h.do("POST", "/v1/files", key, body, "Content-Type: "+ct)
}

// upload stores a file through openai-go and returns it.
func (h *harness) upload(c openai.Client, filename string, purpose openai.FilePurpose, data []byte) *openai.FileObject {
	h.t.Helper()
	f, err := c.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(bytes.NewReader(data), filename, "application/octet-stream"),
		Purpose: purpose,
	})
	if err != nil {
		h.t.Fatalf("upload %s: %v", filename, err)
	}
	return f
}

// count returns how many objects a list endpoint holds for key (following
// pages).
func (h *harness) count(key, path string) int {
	h.t.Helper()
	n := 0
	after := ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		r := h.mustDo(200, "GET", path+"?"+q.Encode(), key, nil)
		var page struct {
			Data    []map[string]any `json:"data"`
			HasMore bool             `json:"has_more"`
			LastID  *string          `json:"last_id"`
		}
		r.decode(h.t, &page)
		n += len(page.Data)
		if !page.HasMore || page.LastID == nil {
			return n
		}
		after = *page.LastID
	}
}

// snapshot captures a GET's body for later comparison.
func (h *harness) snapshot(key, path string) string {
	h.t.Helper()
	return string(h.mustDo(200, "GET", path, key, nil).Body)
}

// waitIngested waits until no vector store file is being ingested (its job
// runs in the background), so that a fingerprint taken next is stable.
func (h *harness) waitIngested() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		refs, err := h.store.IngestPending(context.Background(), time.Now().Add(time.Hour), 1)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(refs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("file %s still being ingested after 10s", refs[0].FileID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fingerprint summarises every row of every table of the database and the
// number of stored blobs, so that a test can prove a request wrote nothing.
// The job queue's tables (river_*), busy with its own sweeps, are left out,
// and background ingestion is waited for first.
func (h *harness) fingerprint() string {
	h.t.Helper()
	h.waitIngested()
	db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(h.dir, "assistd.db"), "_pragma=query_only(1)"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'river\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		h.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tbl := range tables {
		q := `SELECT * FROM "` + tbl + `"`
		if tbl == "sqlite_sequence" {
			q += ` WHERE name NOT LIKE 'river\_%' ESCAPE '\'`
		}
		rows, err := db.Query(q)
		if err != nil {
			h.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintf(&b, "%s%v\n", tbl, vals)
			n++
		}
		rows.Close()
		fmt.Fprintf(&b, "%s: %d rows\n", tbl, n)
	}
	blobs := 0
	filepath.WalkDir(filepath.Join(h.dir, "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			blobs++
		}
		return nil
	})
	fmt.Fprintf(&b, "blobs: %d\n", blobs)
	return b.String()
}

// apiErr extracts the *openai.Error from an openai-go call's error.
func apiErrOf(t testing.TB, err error) *openai.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an API error, got nil")
	}
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("expected *openai.Error, got %T: %v", err, err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }
