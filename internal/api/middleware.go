package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/assistd/assistd/internal/apikey"
	"github.com/assistd/assistd/internal/store"
)

type ctxKey int

const (
	ctxProject ctxKey = iota
	ctxDialect
)

// Dialect is the Assistants API version a request speaks.
type Dialect int

// Dialects. A request without an OpenAI-Beta assistants entry is treated as
// v2, the native dialect.
const (
	DialectV2 Dialect = iota
	DialectV1
)

func projectID(r *http.Request) string { return r.Context().Value(ctxProject).(string) }

func dialect(r *http.Request) Dialect {
	d, _ := r.Context().Value(ctxDialect).(Dialect)
	return d
}

// common sets the response headers every answer carries and recovers panics.
func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id [12]byte
		rand.Read(id[:])
		h := w.Header()
		h.Set("X-Request-Id", "req_"+hex.EncodeToString(id[:]))
		h.Set("Openai-Version", "2020-10-01")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.ErrorContext(r.Context(), "panic", slog.Any("panic", v), slog.String("path", r.URL.Path))
				writeJSON(w, http.StatusInternalServerError, errInternal())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the bearer key to its project and the OpenAI-Beta
// header to a dialect.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			writeJSON(w, http.StatusUnauthorized, errMissingKey())
			return
		}
		k, err := s.cfg.Store.APIKeyGetByHash(r.Context(), apikey.Hash(key))
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusUnauthorized, errUnauthorized())
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		d, apiErr := parseBeta(r.Header.Values("OpenAI-Beta"))
		if apiErr != nil {
			writeJSON(w, apiErr.Status, apiErr)
			return
		}
		ctx := context.WithValue(r.Context(), ctxProject, k.ProjectID)
		ctx = context.WithValue(ctx, ctxDialect, d)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// parseBeta reads "assistants=v1|v2" from the OpenAI-Beta header values,
// which may list several comma-separated betas.
func parseBeta(values []string) (Dialect, *Error) {
	d := DialectV2
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, version, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok || strings.TrimSpace(name) != "assistants" {
				continue
			}
			switch strings.TrimSpace(version) {
			case "v2":
				d = DialectV2
			case "v1":
				d = DialectV1
			default:
				return d, &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_beta",
					Message: "Invalid 'OpenAI-Beta' header: expected 'assistants=v2' or 'assistants=v1'."}
			}
		}
	}
	return d, nil
}
