package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/assistd/assistd/internal/schema"
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: an error becomes the OpenAI error object.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	apiErr, known := toAPIError(err)
	if !known {
		s.cfg.Logger.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", w.Header().Get("X-Request-Id")), slog.Any("error", err))
	}
	if dialect(r) == DialectV1 {
		apiErr = v1Param(apiErr)
	}
	writeJSON(w, apiErr.Status, apiErr)
}

// v2FileParam matches the v2 request paths that v1 file_ids are translated
// to: an assistant's code_interpreter file list and a message's attachments.
var v2FileParam = regexp.MustCompile(`^((?:messages\[\d+\]\.)?)(?:tool_resources\.code_interpreter\.file_ids|attachments)(\[\d+\])(?:\.file_id)?$`)

// v1Param names a v1 request's field as the client sent it: file_ids[i]
// rather than the v2 path it was translated to.
func v1Param(e *Error) *Error {
	m := v2FileParam.FindStringSubmatch(e.Param)
	if m == nil {
		return e
	}
	out := *e
	out.Param = m[1] + "file_ids" + m[2]
	out.Message = strings.ReplaceAll(e.Message, e.Param, out.Param)
	return &out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(errInternal())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// decodeJSON reads the body into v strictly: unknown fields, wrong types,
// trailing data and oversized bodies are errors. An empty body decodes as {}.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		return badRequest("", "Could not read the request body.")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return badRequest("", "Invalid request body: expected a JSON object.")
	}
	if err := schema.DecodeStrict(body, v); err != nil {
		return jsonDecodeError(err)
	}
	return nil
}
