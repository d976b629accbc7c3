package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/assistd/assistd/internal/apikey"
	"github.com/assistd/assistd/internal/config"
	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres"
	"github.com/assistd/assistd/internal/store/sqlite"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // bad subcommand, flag or configuration
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `assistd — a self-hosted OpenAI Assistants API server

Usage:
  assistd serve   [--listen ADDR] [--data DIR] [--config FILE] [flags]
  assistd migrate [--data DIR | --database URL] [--config FILE]
  assistd keys create [--data DIR | --database URL] [--config FILE] [--project NAME]
  assistd config-dump [flags]
  assistd dev-model [--listen ADDR] [--script FILE] [--latency D] [--tokens-per-second N]
  assistd version

Commands:
  serve        serve the API (creates the data directory, migrates, and
               prints a new API key on first start when none exists)
  migrate      apply database migrations and exit
  keys create  create an API key for a project (created if missing) and
               print only the key on stdout
  config-dump  print the effective configuration as a JSON config file
  dev-model    serve a scripted model (OpenAI and Anthropic wires) for tests
  version      print the version

State lives in an embedded SQLite database in the data directory, or in
PostgreSQL with --database postgres://… (file bytes stay in the data
directory either way).

Configuration: flags > ASSISTD_* environment > JSON config file > defaults.
Run "assistd serve -h" for every option.
`

// env is the process environment as a lookup function.
type env = func(string) string

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stderr)
	case "keys":
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprintf(stderr, "assistd keys: want a subcommand: create\n\n%s", usage)
			return exitUsage
		}
		return cmdKeysCreate(ctx, rest[1:], getenv, stdout, stderr)
	case "config-dump":
		return cmdConfigDump(rest, getenv, stdout, stderr)
	case "dev-model":
		return cmdDevModel(ctx, rest, getenv, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "assistd", versionString(), runtime.Version())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stderr, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "assistd: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// parseConfig parses a subcommand's flags (the config options in names plus
// any extra flags the caller registered on fs) and resolves the
// configuration. It returns ok=false with the exit code when the command
// must stop (bad flags, -h, invalid configuration).
func parseConfig(fs *flag.FlagSet, args []string, getenv env, stderr io.Writer, names ...string) (config.Config, int, bool) {
	fs.SetOutput(stderr)
	b := config.Bind(fs, names...)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, exitOK, false
		}
		return config.Config{}, exitUsage, false // flag already printed the error and usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "assistd %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return config.Config{}, exitUsage, false
	}
	cfg, err := b.Resolve(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "assistd %s: %v\n", fs.Name(), err)
		return config.Config{}, exitUsage, false
	}
	return cfg, 0, true
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: assistd %s [flags]\n\nFlags (precedence: flag > ASSISTD_* env > config file > default):\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// newLogger builds the process logger: slog on stderr, never stdout.
func newLogger(cfg config.Config, stderr io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}

// openStore opens the database — PostgreSQL when cfg.Database is set,
// else the SQLite file in the data directory (created if missing) — and
// applies pending migrations.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	var st store.Store
	where := dbName(cfg)
	if postgres.IsURL(cfg.Database) {
		pg, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, err
		}
		st = pg
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		lite, err := sqlite.Open(ctx, cfg.DBPath())
		if err != nil {
			return nil, err
		}
		st = lite
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s: %w", where, err)
	}
	// The job queue's tables (River's own migrations) live beside ours.
	if err := jobs.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s: %w", where, err)
	}
	ok, err := st.SchemaUpToDate(ctx)
	if err == nil && !ok {
		err = errors.New("schema is not up to date after migrating")
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("check schema of %s: %w", where, err)
	}
	return st, nil
}

// dbName names the configured database for messages, without a password.
func dbName(cfg config.Config) string {
	if cfg.Database != "" {
		return config.RedactURL(cfg.Database)
	}
	return cfg.DBPath()
}

func cmdMigrate(ctx context.Context, args []string, getenv env, stderr io.Writer) int {
	fs := newFlagSet("migrate")
	cfg, code, ok := parseConfig(fs, args, getenv, stderr,
		config.OptConfig, config.OptData, config.OptDatabase, config.OptLogFormat, config.OptLogLevel)
	if !ok {
		return code
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		log.Error("migrate failed", "error", err)
		return exitError
	}
	if err := st.Close(); err != nil {
		log.Error("close database", "error", err)
		return exitError
	}
	log.Info("database is up to date", "database", dbName(cfg))
	return exitOK
}

func cmdKeysCreate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) int {
	fs := newFlagSet("keys create")
	project := fs.String("project", "default", "project (tenant) the key belongs to; created if missing")
	cfg, code, ok := parseConfig(fs, args, getenv, stderr,
		config.OptConfig, config.OptData, config.OptDatabase, config.OptLogFormat, config.OptLogLevel)
	if !ok {
		return code
	}
	if strings.TrimSpace(*project) == "" {
		fmt.Fprintln(stderr, "assistd keys create: --project must not be empty")
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		log.Error("keys create failed", "error", err)
		return exitError
	}
	defer st.Close()
	key, err := apikey.Create(ctx, st, *project, time.Now())
	if err != nil {
		log.Error("keys create failed", "error", err)
		return exitError
	}
	fmt.Fprintln(stdout, key)
	return exitOK
}

func cmdConfigDump(args []string, getenv env, stdout, stderr io.Writer) int {
	fs := newFlagSet("config-dump")
	cfg, code, ok := parseConfig(fs, args, getenv, stderr)
	if !ok {
		return code
	}
	stdout.Write(cfg.Dump())
	return exitOK
}

// versionString is the link-time version, else the module version or VCS
// revision recorded by the go command, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return "devel-" + rev + dirty
	}
	return "devel"
}
