package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/assistd/assistd/internal/config"
	"github.com/assistd/assistd/internal/modelstub"
)

// devModelShutdownTimeout bounds the graceful stop of dev-model; requests
// still streaming after it are cut.
const devModelShutdownTimeout = 5 * time.Second

// cmdDevModel serves a scripted model (OpenAI Chat Completions and Anthropic
// Messages wires) for tests, benchmarks and local demos, until ctx ends.
func cmdDevModel(ctx context.Context, args []string, getenv env, stderr io.Writer) int {
	fs := newFlagSet("dev-model")
	listen := fs.String("listen", "127.0.0.1:8089", "address to serve the scripted model on")
	scriptPath := fs.String("script", "", "JSON script `file` of rules and replies; without it every reply echoes the conversation")
	latency := fs.Duration("latency", 0, "delay before the first byte of every reply")
	tps := fs.Float64("tokens-per-second", 0, "pace of streamed tokens; 0 streams unpaced")
	cfg, code, ok := parseConfig(fs, args, getenv, stderr, config.OptLogFormat, config.OptLogLevel)
	if !ok {
		return code
	}
	if *latency < 0 || *tps < 0 {
		fmt.Fprintln(stderr, "assistd dev-model: --latency and --tokens-per-second must not be negative")
		return exitUsage
	}
	var script *modelstub.Script
	if *scriptPath != "" {
		data, err := os.ReadFile(*scriptPath)
		if err == nil {
			script, err = modelstub.ParseScript(data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "assistd dev-model: --script: %v\n", err)
			return exitUsage
		}
	}
	log := newLogger(cfg, stderr)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		log.Error("cannot start", "error", fmt.Errorf("listen: %w", err))
		return exitError
	}
	stub := modelstub.New(script, modelstub.Options{Latency: *latency, TokensPerSecond: *tps})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.Debug("request", "method", r.Method, "path", r.URL.Path)
			stub.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("dev-model ready", "addr", ln.Addr().String(), "script", *scriptPath,
		"latency", latency.String(), "tokens_per_second", *tps)

	select {
	case err := <-serveErr:
		log.Error("server failed", "error", err)
		return exitError
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stub.Close() // ends hanging and paced replies so that Shutdown does not wait on them
	sctx, cancel := context.WithTimeout(context.Background(), devModelShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown timed out; closing remaining connections", "error", err)
		srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("server failed", "error", err)
		return exitError
	}
	log.Info("stopped")
	return exitOK
}
