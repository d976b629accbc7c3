package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assistd/assistd/internal/api"
	"github.com/assistd/assistd/internal/apikey"
	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/blob/pgblob"
	"github.com/assistd/assistd/internal/config"
	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/metrics"
	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/retrieval/embed"
	"github.com/assistd/assistd/internal/sandbox"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres"
)

// HTTP server limits. There is deliberately no ReadTimeout or WriteTimeout:
// uploads of hundreds of megabytes and long-lived SSE streams must not be cut
// off by a whole-request deadline. Slow clients are bounded by the header
// timeout, the body size limits and the idle timeout.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 1 << 20
)

// defaultProject is the project that receives the key made on first start.
const defaultProject = "default"

// Main is one running server: its configuration, database, listener and
// HTTP server. Open builds it, Run serves until the context ends, Close
// releases what is left.
type Main struct {
	Config config.Config
	Logger *slog.Logger
	Store  store.Store
	HTTP   *http.Server
	Engine *engine.Engine
	// Jobs is the durable job queue (River) of runs, ingestion and sweeps.
	Jobs *jobs.Queue
	// Retrieval ingests and searches vector stores (file_search).
	Retrieval *retrieval.Service
	// Sandbox runs code_interpreter; nil when the sandbox is unavailable.
	Sandbox *sandbox.Manager
	// Metrics is the server's Prometheus registry, served at GET /metrics
	// (see config.MetricsListen).
	Metrics *metrics.Metrics
	// MetricsHTTP serves /metrics on its own listener when MetricsListen is
	// an address; nil otherwise.
	MetricsHTTP *http.Server

	ln        net.Listener
	metricsLn net.Listener
}

// Open prepares everything serve needs and binds the listener, so that once
// it returns the address accepts connections. When the database holds no API
// key it creates one for the default project and writes it to notice (the
// only time the plaintext key is shown).
func Open(ctx context.Context, cfg config.Config, getenv env, log *slog.Logger, notice io.Writer) (*Main, error) {
	m := &Main{Config: cfg, Logger: log}
	if err := m.open(ctx, getenv, notice); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *Main) open(ctx context.Context, getenv env, notice io.Writer) error {
	// Bind first: a busy port fails fast, before the database is touched or
	// a key is made.
	var lc net.ListenConfig
	var err error
	if m.ln, err = lc.Listen(ctx, "tcp", m.Config.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ml := m.Config.MetricsListen; ml != "" && ml != config.MetricsOff {
		if m.metricsLn, err = lc.Listen(ctx, "tcp", ml); err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
	}
	m.Metrics = metrics.New()
	if m.Store, err = openStore(ctx, m.Config); err != nil {
		return err
	}
	blobs, err := openBlobs(m.Config, m.Store)
	if err != nil {
		return err
	}
	n, err := m.Store.APIKeyCount(ctx)
	if err != nil {
		return fmt.Errorf("count API keys: %w", err)
	}
	if n == 0 {
		key, err := apikey.Create(ctx, m.Store, defaultProject, time.Now())
		if err != nil {
			return fmt.Errorf("create first API key: %w", err)
		}
		fmt.Fprintf(notice, "created API key for project %s: %s\n"+
			"(shown only this once; make more with: assistd keys create --project NAME)\n", defaultProject, key)
	}

	var routes *llm.RouterConfig
	if len(m.Config.Models) > 0 {
		if routes, err = llm.ParseConfig(m.Config.Models); err != nil {
			return fmt.Errorf("config: models: %w", err)
		}
	}
	router, err := llm.NewRouter(routes, getenv, m.Logger)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if m.Jobs, err = jobs.New(jobs.Config{Store: m.Store, Logger: m.Logger, Lease: m.Config.RunLease}); err != nil {
		return err
	}
	rcfg := retrieval.Config{
		Store:  m.Store,
		Blobs:  blobs,
		Logger: m.Logger,
		Lease:  m.Config.RunLease,
		Jobs:   m.Jobs,
	}
	// Several models may be named (comma-separated, one provider); the
	// first is the default and a store may pick another (embedding_model).
	for i, model := range strings.Split(m.Config.EmbeddingsModel, ",") {
		if model = strings.TrimSpace(model); model == "" {
			continue
		}
		if i == 0 {
			rcfg.DefaultEmbeddingModel = model
			rcfg.Embedders = map[string]retrieval.Embedder{}
		}
		c := m.Config
		rcfg.Embedders[model] = embed.New(embed.Config{BaseURL: c.EmbeddingsBaseURL, APIKey: c.EmbeddingsAPIKey, Model: model, Dimensions: c.EmbeddingsDimensions})
	}
	m.Retrieval = retrieval.New(rcfg)
	builtins := m.openSandbox(ctx, blobs)
	builtins[schema.ToolFileSearch] = &engine.FileSearch{Store: m.Store, Retrieval: m.Retrieval, Tokens: m.Retrieval.CountTokens}
	m.Engine = engine.New(engine.Config{
		Builtins:              builtins,
		Store:                 m.Store,
		Blobs:                 blobs,
		Models:                router,
		ContextWindow:         router.ContextWindow,
		Tokens:                llm.NewCounter(),
		Logger:                m.Logger,
		Lease:                 m.Config.RunLease,
		RequiresActionTimeout: m.Config.RequiresActionTimeout,
		Jobs:                  m.Jobs,
	})
	var handler http.Handler = api.New(api.Config{
		Store:          m.Store,
		Blobs:          blobs,
		Logger:         m.Logger,
		MaxUploadBytes: m.Config.MaxUploadBytes,
		MaxBodyBytes:   m.Config.MaxBodyBytes,
		Engine:         m.Engine,
		Retrieval:      m.Retrieval,
	})
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", m.Metrics.Handler())
	switch {
	case m.metricsLn != nil:
		m.MetricsHTTP = &http.Server{
			Handler:           metricsMux,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
		}
	case m.Config.MetricsListen == "":
		// GET /metrics beside the API, outside /v1 and its authentication;
		// everything else is the API's.
		metricsMux.Handle("/", handler)
		handler = metricsMux
	}
	m.HTTP = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// openBlobs returns where uploaded files' bytes go: the database itself on
// PostgreSQL, so that every replica sharing it serves every file, and the
// data directory's files/ next to SQLite.
func openBlobs(cfg config.Config, st store.Store) (blob.Store, error) {
	if pg, ok := st.(*postgres.Store); ok {
		return pgblob.New(pg.Pool(), 0), nil
	}
	return blob.NewDisk(cfg.BlobDir())
}

// openSandbox starts the code interpreter's sandbox and checks that it
// works. When it does not, code_interpreter is registered as unavailable:
// runs that call it fail with the reason, and code never runs unsandboxed.
func (m *Main) openSandbox(ctx context.Context, blobs blob.Store) map[string]engine.BuiltinTool {
	root := m.Config.SandboxDir
	if root == "" {
		abs, err := filepath.Abs(m.Config.DataDir)
		if err != nil {
			abs = m.Config.DataDir
		}
		sum := sha256.Sum256([]byte(abs))
		root = filepath.Join(os.TempDir(), "assistd-sandbox-"+hex.EncodeToString(sum[:6]))
	}
	mgr, err := sandbox.NewManager(sandbox.Config{
		Root:                  root,
		Logger:                m.Logger,
		MaxSessions:           m.Config.SandboxMaxSessions,
		MaxSessionsPerProject: m.Config.SandboxMaxSessionsPerProject,
		SessionMemoryBytes:    m.Config.SandboxSessionMemory,
		IdleTimeout:           m.Config.SandboxIdleTimeout,
		Observer:              m.Metrics,
	})
	if err == nil {
		if err = mgr.Check(ctx); err != nil {
			mgr.Close()
		}
	}
	if err != nil {
		m.Logger.Warn("code_interpreter unavailable: the sandbox does not work here (scripts/setup.sh installs what it needs)", "error", err)
		return map[string]engine.BuiltinTool{schema.ToolCodeInterpreter: engine.UnavailableTool{Reason: "the code sandbox failed its start-up check: " + err.Error()}}
	}
	m.Sandbox = mgr
	m.Metrics.WatchSandbox(mgr.Sessions)
	now := func() int64 { return time.Now().Unix() }
	return map[string]engine.BuiltinTool{schema.ToolCodeInterpreter: engine.NewCodeInterpreter(mgr, m.Store, blobs, now)}
}

// Addr is the bound address (with the real port when the configured one was
// 0).
func (m *Main) Addr() string { return m.ln.Addr().String() }

// MetricsAddr is the address of the metrics listener, or "" when /metrics
// is on the API listener or off.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// Run serves until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout, and
// closes the connections still open after that. It returns nil after a clean
// or timed-out shutdown and the server's error if serving failed.
func (m *Main) Run(ctx context.Context) error {
	// The engine outlives the HTTP server's shutdown so that streams in
	// flight can finish; it stops last and hands its runs over.
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		m.Engine.Run(engineCtx)
	}()
	defer func() {
		stopEngine()
		<-engineDone
	}()
	// The job queue stops first (deferred last): its run jobs hand runs to
	// the engine, which then stops and releases them.
	if err := m.Jobs.Start(engineCtx, m.Engine, m.Retrieval); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout+5*time.Second)
		defer cancel()
		if err := m.Jobs.Stop(sctx); err != nil {
			m.Logger.Warn("stopping the job queue", "error", err)
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- m.HTTP.Serve(m.ln) }()
	if m.MetricsHTTP != nil {
		go func() {
			if err := m.MetricsHTTP.Serve(m.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("metrics listener failed", "error", err)
			}
		}()
		defer m.MetricsHTTP.Close()
		m.Logger.Info("metrics", "addr", m.metricsLn.Addr().String(), "path", "/metrics")
	}
	m.Logger.Info("ready", "addr", m.Addr(), "data", m.Config.DataDir, "database", dbName(m.Config))

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down", "timeout", m.Config.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	if err := m.HTTP.Shutdown(sctx); err != nil {
		m.Logger.Warn("shutdown timed out; closing remaining connections", "error", err)
		m.HTTP.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Close releases the listener and the database. It is safe to call after a
// failed Open and more than once.
func (m *Main) Close() error {
	var errs []error
	for _, ln := range []net.Listener{m.ln, m.metricsLn} {
		if ln != nil {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	if m.Sandbox != nil {
		errs = append(errs, m.Sandbox.Close())
		m.Sandbox = nil
	}
	if m.Jobs != nil {
		errs = append(errs, m.Jobs.Close())
		m.Jobs = nil
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
		m.Store = nil
	}
	return errors.Join(errs...)
}

func cmdServe(ctx context.Context, args []string, getenv env, stderr io.Writer) int {
	fs := newFlagSet("serve")
	cfg, code, ok := parseConfig(fs, args, getenv, stderr)
	if !ok {
		return code
	}
	log := newLogger(cfg, stderr)
	m, err := Open(ctx, cfg, getenv, log, stderr)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitError
	}
	runErr := m.Run(ctx)
	if err := m.Close(); err != nil {
		log.Error("close", "error", err)
		if runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		log.Error("server failed", "error", runErr)
		return exitError
	}
	log.Info("stopped")
	return exitOK
}
