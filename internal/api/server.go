// Package api serves the OpenAI Assistants API over HTTP: routing, auth,
// request decoding and validation, the v1/v2 dialects, pagination and the
// OpenAI error object. Handlers call the store; they never reach providers or
// the sandbox directly.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/store"
)

// Defaults for Config's limits.
const (
	DefaultMaxUploadBytes = 512 << 20
	DefaultMaxBodyBytes   = 8 << 20
)

// Config holds the server's dependencies and limits.
type Config struct {
	Store  store.Store
	Blobs  blob.Store
	Logger *slog.Logger
	// MaxUploadBytes bounds one uploaded file (default 512 MB).
	MaxUploadBytes int64
	// MaxBodyBytes bounds a JSON request body (default 8 MB).
	MaxBodyBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Engine executes runs.
	Engine *engine.Engine
	// Retrieval ingests and searches vector stores.
	Retrieval *retrieval.Service
	// RunExpiry is how long a run may wait before it is expired
	// (expires_at = created_at + RunExpiry); default 10 minutes.
	RunExpiry time.Duration
	// PollAfterMs is the openai-poll-after-ms header on run retrieves: how
	// long the SDKs' poll helpers sleep between polls (default 25).
	PollAfterMs int
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	handler http.Handler
}

// New builds the API handler.
func New(cfg Config) *Server {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RunExpiry <= 0 {
		cfg.RunExpiry = 10 * time.Minute
	}
	if cfg.PollAfterMs <= 0 {
		cfg.PollAfterMs = 25
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg}
	s.handler = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
