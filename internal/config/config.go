// Package config resolves assistd's settings once, in main, from four layers
// with a fixed precedence: command-line flags, then ASSISTD_* environment
// variables, then an optional JSON config file, then built-in defaults. The
// result is a plain Config value that main validates and passes down; there
// is no package-level state.
//
// Every option has one name used in all three places: the flag is --NAME,
// the file key is "NAME" and the variable is ASSISTD_ followed by NAME upper-
// cased with dashes turned into underscores (data → ASSISTD_DATA,
// max-upload-bytes → ASSISTD_MAX_UPLOAD_BYTES). The config file itself is
// named by --config or ASSISTD_CONFIG.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults for the options that have one.
const (
	ListenDefault          = "127.0.0.1:8080"
	DataDirDefault         = "./assistd-data"
	MaxUploadBytesDefault  = 512 << 20
	MaxBodyBytesDefault    = 8 << 20
	ShutdownTimeoutDefault = 30 * time.Second
	RequiresActionDefault  = 10 * time.Minute
	RunLeaseDefault        = 30 * time.Second
	LogLevelDefault        = "info"
	LogFormatDefault       = "text"
)

// MetricsOff is the MetricsListen value that serves no metrics.
const MetricsOff = "off"

// EnvPrefix starts every environment variable the package reads.
const EnvPrefix = "ASSISTD_"

// Config is the resolved configuration of one assistd process.
type Config struct {
	// ConfigFile is the JSON file the other values were layered over, or ""
	// when none was given.
	ConfigFile string
	// DataDir holds the SQLite database and the file blobs (see DBPath,
	// BlobDir).
	DataDir string
	// Database is a PostgreSQL URL (postgres://…) to keep the state in
	// instead of the embedded SQLite database in DataDir; "" means SQLite.
	// File blobs stay in DataDir either way.
	Database string
	// Listen is the TCP address serve binds, host:port; port 0 picks a free
	// port.
	Listen string
	// SandboxDir holds the code interpreter's per-thread workspaces; ""
	// picks a directory under the system temp dir, one per data dir.
	SandboxDir string
	// SandboxMaxSessions bounds the code interpreter's live sessions (one
	// Python process per thread); 0 means the sandbox's default.
	SandboxMaxSessions int
	// SandboxMaxSessionsPerProject bounds the live sessions of one
	// project; 0 means SandboxMaxSessions.
	SandboxMaxSessionsPerProject int
	// SandboxSessionMemory caps the memory of one code interpreter session,
	// all its processes together (a cgroup, where available); 0 means the
	// sandbox's default.
	SandboxSessionMemory int64
	// SandboxIdleTimeout ends a code interpreter session (and its files)
	// after this long without an execution; 0 means the sandbox's default.
	SandboxIdleTimeout time.Duration
	// MetricsListen says where GET /metrics (Prometheus) is served: "" on
	// the API listener (outside /v1, without authentication), "off"
	// nowhere, or a host:port of its own (then not on the API listener).
	MetricsListen string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// MaxBodyBytes bounds one JSON request body.
	MaxBodyBytes int64
	// MaxUploadBytes bounds one uploaded file.
	MaxUploadBytes int64
	// ShutdownTimeout bounds how long serve waits for in-flight requests
	// after SIGTERM/SIGINT before closing their connections.
	ShutdownTimeout time.Duration
	// RequiresActionTimeout is how long a run waits for tool outputs.
	RequiresActionTimeout time.Duration
	// RunLease bounds how long a dead replica's runs stay claimed.
	RunLease time.Duration
	// Models is the config file's "models" object (model routing), or nil.
	Models json.RawMessage
	// EmbeddingsBaseURL is the API root of an OpenAI-compatible
	// /v1/embeddings provider for file_search's vector search; "" means
	// keyword search only.
	EmbeddingsBaseURL string
	// EmbeddingsModel is the embedding model new vector stores use.
	EmbeddingsModel string
	// EmbeddingsAPIKey is the provider's key (best set through the
	// environment, ASSISTD_EMBEDDINGS_API_KEY).
	EmbeddingsAPIKey string
	// EmbeddingsDimensions, when > 0, asks the provider for vectors of that
	// length.
	EmbeddingsDimensions int
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DataDir:               DataDirDefault,
		Listen:                ListenDefault,
		LogFormat:             LogFormatDefault,
		LogLevel:              LogLevelDefault,
		MaxBodyBytes:          MaxBodyBytesDefault,
		MaxUploadBytes:        MaxUploadBytesDefault,
		RequiresActionTimeout: RequiresActionDefault,
		RunLease:              RunLeaseDefault,
		ShutdownTimeout:       ShutdownTimeoutDefault,
	}
}

// DBPath is the SQLite database file inside DataDir.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "assistd.db") }

// BlobDir is the directory inside DataDir that holds uploaded file bytes.
func (c Config) BlobDir() string { return filepath.Join(c.DataDir, "files") }

// Option names, shared by flags, file keys and (upper-cased) variables.
const (
	OptConfig          = "config"
	OptData            = "data"
	OptDatabase        = "database"
	OptListen          = "listen"
	OptLogFormat       = "log-format"
	OptLogLevel        = "log-level"
	OptMaxBodyBytes    = "max-body-bytes"
	OptMaxUploadBytes  = "max-upload-bytes"
	OptShutdownTimeout = "shutdown-timeout"
	OptRequiresAction  = "requires-action-timeout"
	OptSandboxDir      = "sandbox-dir"
	OptRunLease        = "run-lease"
	// Code interpreter limits and metrics.
	OptSandboxMaxSessions           = "sandbox-max-sessions"
	OptSandboxMaxSessionsPerProject = "sandbox-max-sessions-per-project"
	OptSandboxSessionMemory         = "sandbox-session-memory"
	OptSandboxIdleTimeout           = "sandbox-idle-timeout"
	OptMetricsListen                = "metrics-listen"
	// file_search's embedding provider.
	OptEmbeddingsBaseURL    = "embeddings-base-url"
	OptEmbeddingsModel      = "embeddings-model"
	OptEmbeddingsAPIKey     = "embeddings-api-key"
	OptEmbeddingsDimensions = "embeddings-dimensions"
	// OptModels is a file-only key: the model routing table (see
	// internal/llm's RouterConfig), a JSON object rather than a scalar.
	OptModels = "models"
)

// option describes one setting: how to document it and how to apply a raw
// string value to a Config.
type option struct {
	name  string
	usage string
	// def renders the default for help text.
	def func(Config) string
	set func(c *Config, v string) error
}

var options = []option{
	{OptConfig, "JSON config file (keys named like the flags)",
		func(c Config) string { return c.ConfigFile },
		func(c *Config, v string) error { c.ConfigFile = v; return nil }},
	{OptData, "data directory (database and files)",
		func(c Config) string { return c.DataDir },
		func(c *Config, v string) error { c.DataDir = v; return nil }},
	{OptDatabase, "PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=…) to store state in; empty keeps the embedded SQLite database in the data directory",
		func(c Config) string { return "" },
		func(c *Config, v string) error { c.Database = strings.TrimSpace(v); return nil }},
	{OptSandboxDir, "directory of the code interpreter's workspaces (default: one under the system temp dir per data dir; when serving as root its parents must be traversable by nobody)",
		func(c Config) string { return c.SandboxDir },
		func(c *Config, v string) error { c.SandboxDir = v; return nil }},
	{OptSandboxMaxSessions, "most live code interpreter sessions (one Python process per thread); the least recently used idle one ends when more are needed (0: 32)",
		func(c Config) string { return "" },
		func(c *Config, v string) (err error) { c.SandboxMaxSessions, err = strconv.Atoi(v); return err }},
	{OptSandboxMaxSessionsPerProject, "most live code interpreter sessions of one project; over it the project's least recently used idle session ends, and when all are executing the call fails (0: the server's maximum)",
		func(c Config) string { return "" },
		func(c *Config, v string) (err error) {
			c.SandboxMaxSessionsPerProject, err = strconv.Atoi(v)
			return err
		}},
	{OptSandboxSessionMemory, "memory of one code interpreter session, all its processes together, bytes or with a K/M/G suffix; enforced by a cgroup where the server may create one (0: 2G)",
		func(c Config) string { return "" },
		func(c *Config, v string) (err error) { c.SandboxSessionMemory, err = ParseSize(v); return err }},
	{OptSandboxIdleTimeout, "how long an idle code interpreter session (a thread's Python process and files) lives (Go duration; 0: 1h)",
		func(c Config) string { return "" },
		func(c *Config, v string) (err error) { c.SandboxIdleTimeout, err = time.ParseDuration(v); return err }},
	{OptMetricsListen, "where GET /metrics (Prometheus, no authentication) is served: empty for the API listener, off for nowhere, or host:port for a listener of its own",
		func(c Config) string { return "" },
		func(c *Config, v string) error { c.MetricsListen = strings.TrimSpace(v); return nil }},
	{OptEmbeddingsBaseURL, "API root of an OpenAI-compatible embeddings provider for file_search's vector search (e.g. https://api.openai.com/v1, http://localhost:11434/v1); empty: keyword search only",
		func(c Config) string { return "" },
		func(c *Config, v string) error { c.EmbeddingsBaseURL = strings.TrimSpace(v); return nil }},
	{OptEmbeddingsModel, "embedding model new vector stores use (e.g. text-embedding-3-small); several, comma-separated, may be chosen per store (the first is the default); needs embeddings-base-url",
		func(c Config) string { return "" },
		func(c *Config, v string) error { c.EmbeddingsModel = strings.TrimSpace(v); return nil }},
	{OptEmbeddingsAPIKey, "the embeddings provider's API key (prefer the environment variable ASSISTD_EMBEDDINGS_API_KEY)",
		func(c Config) string { return "" },
		func(c *Config, v string) error { c.EmbeddingsAPIKey = strings.TrimSpace(v); return nil }},
	{OptEmbeddingsDimensions, "length of the embedding vectors to ask for (0: the model's own)",
		func(c Config) string { return "" },
		func(c *Config, v string) (err error) { c.EmbeddingsDimensions, err = strconv.Atoi(v); return err }},
	{OptListen, "TCP address to serve on, host:port (port 0 picks a free one)",
		func(c Config) string { return c.Listen },
		func(c *Config, v string) error { c.Listen = v; return nil }},
	{OptLogFormat, "log format: text or json",
		func(c Config) string { return c.LogFormat },
		func(c *Config, v string) error { c.LogFormat = strings.ToLower(v); return nil }},
	{OptLogLevel, "log level: debug, info, warn or error",
		func(c Config) string { return c.LogLevel },
		func(c *Config, v string) error { c.LogLevel = strings.ToLower(v); return nil }},
	{OptMaxBodyBytes, "largest JSON request body, bytes or with a K/M/G suffix (binary)",
		func(c Config) string { return FormatSize(c.MaxBodyBytes) },
		func(c *Config, v string) (err error) { c.MaxBodyBytes, err = ParseSize(v); return err }},
	{OptMaxUploadBytes, "largest uploaded file, bytes or with a K/M/G suffix (binary)",
		func(c Config) string { return FormatSize(c.MaxUploadBytes) },
		func(c *Config, v string) (err error) { c.MaxUploadBytes, err = ParseSize(v); return err }},
	{OptShutdownTimeout, "time to let in-flight requests finish on SIGTERM (Go duration, e.g. 30s)",
		func(c Config) string { return c.ShutdownTimeout.String() },
		func(c *Config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return err }},
	{OptRequiresAction, "how long a run waits for tool outputs before it expires (Go duration)",
		func(c Config) string { return c.RequiresActionTimeout.String() },
		func(c *Config, v string) (err error) {
			c.RequiresActionTimeout, err = time.ParseDuration(v)
			return err
		}},
	{OptRunLease, "how long a run's executor lease lasts without renewal; a crashed replica's runs are taken over after it (Go duration)",
		func(c Config) string { return c.RunLease.String() },
		func(c *Config, v string) (err error) { c.RunLease, err = time.ParseDuration(v); return err }},
}

func lookup(name string) (option, bool) {
	for _, o := range options {
		if o.name == name {
			return o, true
		}
	}
	return option{}, false
}

// EnvName returns the environment variable for an option name.
func EnvName(opt string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(opt, "-", "_"))
}

// Names lists every option name, sorted.
func Names() []string {
	out := make([]string, len(options))
	for i, o := range options {
		out[i] = o.name
	}
	return out
}

// Binding ties a subset of the options to a FlagSet. Create it with Bind
// before fs.Parse and call Resolve after.
type Binding struct {
	fs    *flag.FlagSet
	names []string
	vals  map[string]*string
}

// Bind registers --NAME string flags on fs for the given option names (all
// options when names is empty). Subcommands bind only what they use, so that
// `migrate --listen x` is an unknown flag rather than silently ignored. The
// layers below flags (env, file) may still set every option.
func Bind(fs *flag.FlagSet, names ...string) *Binding {
	if len(names) == 0 {
		names = Names()
	}
	b := &Binding{fs: fs, names: names, vals: map[string]*string{}}
	def := Default()
	for _, n := range names {
		o, ok := lookup(n)
		if !ok {
			panic("config: Bind: unknown option " + n) // programming error
		}
		usage := fmt.Sprintf("%s (env %s", o.usage, EnvName(n))
		if d := o.def(def); d != "" {
			usage += ", default " + d
		}
		usage += ")"
		b.vals[n] = fs.String(n, "", usage)
	}
	return b
}

// Resolve layers the parsed flags over the environment, the config file and
// the defaults, then validates the result.
func (b *Binding) Resolve(getenv func(string) string) (Config, error) {
	set := map[string]bool{}
	b.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	flags := map[string]string{}
	for n, v := range b.vals {
		if set[n] {
			flags[n] = *v
		}
	}
	return resolve(flags, getenv)
}

// Load parses args with a FlagSet binding every option and resolves the
// configuration. Positional arguments are an error. It suits callers (and
// tests) that need no extra flags; subcommands use Bind and Resolve.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("assistd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	b := Bind(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	return b.Resolve(getenv)
}

// resolve applies defaults < file < env < flags. flags holds only the flags
// that were given on the command line.
func resolve(flags map[string]string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := Default()

	// Where is the file? Flag beats env.
	path, ok := flags[OptConfig]
	if !ok {
		path = getenv(EnvName(OptConfig))
	}
	if path != "" {
		fileVals, models, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		c.Models = models
		for _, o := range options {
			if v, ok := fileVals[o.name]; ok {
				if err := o.set(&c, v); err != nil {
					return Config{}, fmt.Errorf("config: %s: key %q: %w", path, o.name, err)
				}
			}
		}
		c.ConfigFile = path
	}

	for _, o := range options {
		if o.name == OptConfig {
			continue
		}
		env := EnvName(o.name)
		if v := getenv(env); v != "" {
			if err := o.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("config: %s=%q: %w", env, v, err)
			}
		}
	}

	for _, o := range options {
		if o.name == OptConfig {
			continue
		}
		if v, ok := flags[o.name]; ok {
			if err := o.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("config: --%s=%q: %w", o.name, v, err)
			}
		}
	}

	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readFile reads a JSON object whose keys are option names and whose values
// are strings or numbers. Unknown keys, including "config", are errors so that
// typos do not pass silently.
func readFile(path string) (map[string]string, json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("config: %s: not a JSON object: %w", path, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("config: %s: trailing data after the JSON object", path)
	}
	out := map[string]string{}
	var models json.RawMessage
	for k, v := range raw {
		if k == OptModels {
			models = v
			continue
		}
		if _, ok := lookup(k); !ok || k == OptConfig {
			return nil, nil, fmt.Errorf("config: %s: unknown key %q (known: %s)", path, k, strings.Join(append(fileKeys(), OptModels), ", "))
		}
		s, err := scalar(v)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s: key %q: %w", path, k, err)
		}
		out[k] = s
	}
	return out, models, nil
}

func fileKeys() []string {
	var out []string
	for _, n := range Names() {
		if n != OptConfig {
			out = append(out, n)
		}
	}
	return out
}

// scalar turns a JSON string or number into its text.
func scalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", errors.New("empty value")
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	default:
		return "", fmt.Errorf("must be a string or a number, got %s", v)
	}
}

// Validate checks every option and reports all problems at once, each
// naming the option it is about.
func (c Config) Validate() error {
	var errs []error
	add := func(opt, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", opt, fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		add(OptListen, "must not be empty")
	} else if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		add(OptListen, "%q is not host:port (e.g. 127.0.0.1:8080)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add(OptListen, "port %q must be a number from 0 to 65535", port)
	} else if strings.ContainsAny(host, " \t") {
		add(OptListen, "host %q contains spaces", host)
	}
	if c.SandboxMaxSessions < 0 {
		add(OptSandboxMaxSessions, "must not be negative, got %d", c.SandboxMaxSessions)
	}
	if c.SandboxMaxSessionsPerProject < 0 {
		add(OptSandboxMaxSessionsPerProject, "must not be negative, got %d", c.SandboxMaxSessionsPerProject)
	}
	if c.MetricsListen != "" && c.MetricsListen != MetricsOff {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil {
			add(OptMetricsListen, "%q is not empty, off, or host:port", c.MetricsListen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add(OptMetricsListen, "port %q must be a number from 0 to 65535", port)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add(OptData, "must not be empty")
	}
	if c.Database != "" && !IsPostgresURL(c.Database) {
		add(OptDatabase, "must be a postgres:// or postgresql:// URL, or empty for SQLite")
	}
	if c.MaxUploadBytes <= 0 {
		add(OptMaxUploadBytes, "must be positive, got %d", c.MaxUploadBytes)
	}
	if c.MaxBodyBytes <= 0 {
		add(OptMaxBodyBytes, "must be positive, got %d", c.MaxBodyBytes)
	}
	if c.RequiresActionTimeout <= 0 {
		add(OptRequiresAction, "must be positive, got %s", c.RequiresActionTimeout)
	}
	if c.RunLease < time.Second {
		add(OptRunLease, "must be at least 1s, got %s", c.RunLease)
	}
	if c.ShutdownTimeout <= 0 {
		add(OptShutdownTimeout, "must be positive, got %s", c.ShutdownTimeout)
	}
	if (c.EmbeddingsBaseURL == "") != (c.EmbeddingsModel == "") {
		add(OptEmbeddingsModel, "embeddings-base-url and embeddings-model go together (both set, or neither)")
	} else if c.EmbeddingsBaseURL != "" && !strings.HasPrefix(c.EmbeddingsBaseURL, "http://") && !strings.HasPrefix(c.EmbeddingsBaseURL, "https://") {
		add(OptEmbeddingsBaseURL, "%q is not an http:// or https:// URL", c.EmbeddingsBaseURL)
	}
	if c.EmbeddingsDimensions < 0 {
		add(OptEmbeddingsDimensions, "must not be negative, got %d", c.EmbeddingsDimensions)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(OptLogLevel, "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		add(OptLogFormat, "%q is not one of text, json", c.LogFormat)
	}
	return errors.Join(errs...)
}

// Dump returns the configuration as a JSON config file (without ConfigFile,
// which a file cannot name), suitable for `assistd config-dump > file`.
func (c Config) Dump() []byte {
	m := map[string]any{
		OptData:            c.DataDir,
		OptDatabase:        RedactURL(c.Database),
		OptListen:          c.Listen,
		OptLogFormat:       c.LogFormat,
		OptLogLevel:        c.LogLevel,
		OptMaxBodyBytes:    c.MaxBodyBytes,
		OptMaxUploadBytes:  c.MaxUploadBytes,
		OptShutdownTimeout: c.ShutdownTimeout.String(),
		OptRequiresAction:  c.RequiresActionTimeout.String(),
		OptRunLease:        c.RunLease.String(),
		OptSandboxDir:      c.SandboxDir,
		OptMetricsListen:   c.MetricsListen,
	}
	if c.SandboxMaxSessions != 0 {
		m[OptSandboxMaxSessions] = c.SandboxMaxSessions
	}
	if c.SandboxMaxSessionsPerProject != 0 {
		m[OptSandboxMaxSessionsPerProject] = c.SandboxMaxSessionsPerProject
	}
	if len(c.Models) > 0 {
		m[OptModels] = c.Models
	}
	out, _ := json.MarshalIndent(m, "", "  ") // map keys are sorted
	return append(out, '\n')
}

// IsPostgresURL reports whether s is a postgres:// or postgresql:// URL.
func IsPostgresURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// RedactURL hides the password of a database URL (for dumps and logs).
func RedactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ParseSize parses a byte count: a plain integer, or one followed by a
// binary unit K, M, G or T (also written KB, KiB, MB, MiB, …; all mean
// powers of 1024), case-insensitive, e.g. "512M", "8MiB", "1g".
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '-' && i == 0) {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q (want bytes, or a number with K/M/G/T)", s)
	}
	var shift uint
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "ib"), "b") {
	case "":
		if unit != "" && unit != "b" {
			return 0, fmt.Errorf("invalid size unit in %q", s)
		}
	case "k":
		shift = 10
	case "m":
		shift = 20
	case "g":
		shift = 30
	case "t":
		shift = 40
	default:
		return 0, fmt.Errorf("invalid size unit in %q (want K, M, G or T)", s)
	}
	if shift > 0 && (n > (1<<63-1)>>shift || n < -(1<<63-1)>>shift) {
		return 0, fmt.Errorf("size %q overflows", s)
	}
	return n << shift, nil
}

// FormatSize renders a byte count in the largest binary unit that divides it
// exactly (536870912 → "512M"), so ParseSize(FormatSize(n)) == n.
func FormatSize(n int64) string {
	for _, u := range []struct {
		shift  uint
		suffix string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
