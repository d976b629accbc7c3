package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "assistd.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `{
		"listen": "127.0.0.1:7000",
		"data": "/from/file",
		"max-upload-bytes": 1048576,
		"max-body-bytes": "64K",
		"shutdown-timeout": "5s",
		"log-level": "debug",
		"log-format": "json"
	}`)

	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "Defaults",
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Fatalf("got %+v, want defaults %+v", c, Default())
				}
				if c.Listen != "127.0.0.1:8080" || c.DataDir != "./assistd-data" || c.MaxUploadBytes != 512<<20 ||
					c.MaxBodyBytes != 8<<20 || c.ShutdownTimeout != 30*time.Second || c.LogFormat != "text" {
					t.Fatalf("unexpected defaults %+v", c)
				}
			},
		},
		{
			name: "FileOverDefaults",
			args: []string{"--config", file},
			check: func(t *testing.T, c Config) {
				want := Config{ConfigFile: file, Listen: "127.0.0.1:7000", DataDir: "/from/file", MaxUploadBytes: 1 << 20,
					MaxBodyBytes: 64 << 10, ShutdownTimeout: 5 * time.Second, LogLevel: "debug", LogFormat: "json",
					RequiresActionTimeout: RequiresActionDefault, RunLease: RunLeaseDefault}
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("got %+v, want %+v", c, want)
				}
			},
		},
		{
			name: "ConfigFromEnv",
			env:  map[string]string{"ASSISTD_CONFIG": file},
			check: func(t *testing.T, c Config) {
				if c.ConfigFile != file || c.Listen != "127.0.0.1:7000" {
					t.Fatalf("got %+v", c)
				}
			},
		},
		{
			name: "EnvOverFile",
			args: []string{"--config", file},
			env:  map[string]string{"ASSISTD_LISTEN": "0.0.0.0:9000", "ASSISTD_DATA": "/from/env", "ASSISTD_MAX_UPLOAD_BYTES": "2M"},
			check: func(t *testing.T, c Config) {
				if c.Listen != "0.0.0.0:9000" || c.DataDir != "/from/env" || c.MaxUploadBytes != 2<<20 {
					t.Fatalf("got %+v", c)
				}
				if c.LogLevel != "debug" { // still from the file
					t.Fatalf("log level %q, want debug from file", c.LogLevel)
				}
			},
		},
		{
			name: "FlagsOverEnv",
			args: []string{"--config", file, "--listen", "127.0.0.1:0", "--data=/from/flag", "--shutdown-timeout", "1m"},
			env:  map[string]string{"ASSISTD_LISTEN": "0.0.0.0:9000", "ASSISTD_DATA": "/from/env", "ASSISTD_SHUTDOWN_TIMEOUT": "2s"},
			check: func(t *testing.T, c Config) {
				if c.Listen != "127.0.0.1:0" || c.DataDir != "/from/flag" || c.ShutdownTimeout != time.Minute {
					t.Fatalf("got %+v", c)
				}
			},
		},
		{
			name: "FlagConfigBeatsEnvConfig",
			args: []string{"--config", file},
			env:  map[string]string{"ASSISTD_CONFIG": "/does/not/exist.json"},
			check: func(t *testing.T, c Config) {
				if c.ConfigFile != file {
					t.Fatalf("config file %q, want %q", c.ConfigFile, file)
				}
			},
		},
		{
			name: "EmptyEnvIsUnset",
			env:  map[string]string{"ASSISTD_LISTEN": ""},
			check: func(t *testing.T, c Config) {
				if c.Listen != ListenDefault {
					t.Fatalf("listen %q", c.Listen)
				}
			},
		},
		{
			name: "CaseInsensitiveEnums",
			env:  map[string]string{"ASSISTD_LOG_LEVEL": "WARN", "ASSISTD_LOG_FORMAT": "JSON"},
			check: func(t *testing.T, c Config) {
				if c.LogLevel != "warn" || c.LogFormat != "json" {
					t.Fatalf("got %+v", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.args, envFrom(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		file    string // written to a temp file and passed with --config
		wantErr string
	}{
		{name: "UnknownFlag", args: []string{"--nope"}, wantErr: "flag provided but not defined"},
		{name: "PositionalArg", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{name: "BadListen", args: []string{"--listen", "localhost"}, wantErr: "listen: \"localhost\" is not host:port"},
		{name: "BadPort", args: []string{"--listen", "127.0.0.1:99999"}, wantErr: "port \"99999\" must be a number"},
		{name: "NamedPort", args: []string{"--listen", "127.0.0.1:http"}, wantErr: "port \"http\""},
		{name: "EmptyData", args: []string{"--data", " "}, wantErr: "data: must not be empty"},
		{name: "BadSizeEnv", env: map[string]string{"ASSISTD_MAX_UPLOAD_BYTES": "lots"}, wantErr: `ASSISTD_MAX_UPLOAD_BYTES="lots": invalid size`},
		{name: "BadSizeUnit", args: []string{"--max-upload-bytes", "5X"}, wantErr: "invalid size unit"},
		{name: "ZeroUpload", args: []string{"--max-upload-bytes", "0"}, wantErr: "max-upload-bytes: must be positive"},
		{name: "BadDuration", args: []string{"--shutdown-timeout", "soon"}, wantErr: `--shutdown-timeout="soon"`},
		{name: "NegativeDuration", args: []string{"--shutdown-timeout", "-1s"}, wantErr: "shutdown-timeout: must be positive"},
		{name: "BadLevel", env: map[string]string{"ASSISTD_LOG_LEVEL": "loud"}, wantErr: `log-level: "loud" is not one of`},
		{name: "BadFormat", args: []string{"--log-format", "xml"}, wantErr: `log-format: "xml" is not one of text, json`},
		{name: "SeveralErrors", args: []string{"--log-format", "xml", "--log-level", "loud"}, wantErr: "log-level"},
		{name: "MissingFile", args: []string{"--config", "/does/not/exist.json"}, wantErr: "no such file"},
		{name: "UnknownFileKey", file: `{"listen":"127.0.0.1:1","lisen":"x"}`, wantErr: `unknown key "lisen"`},
		{name: "ConfigKeyInFile", file: `{"config":"other.json"}`, wantErr: `unknown key "config"`},
		{name: "FileNotObject", file: `["listen"]`, wantErr: "not a JSON object"},
		{name: "FileTrailingData", file: `{} {}`, wantErr: "trailing data"},
		{name: "FileBoolValue", file: `{"listen":true}`, wantErr: `key "listen": must be a string or a number`},
		{name: "FileBadValue", file: `{"max-body-bytes":"big"}`, wantErr: `key "max-body-bytes": invalid size`},
		{name: "FileInvalidResult", file: `{"log-format":"yaml"}`, wantErr: `log-format: "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := Load(args, envFrom(tt.env))
			if err == nil {
				t.Fatalf("Load(%q) succeeded, want error containing %q", args, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestBindSubset(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "default", "")
	b := Bind(fs, OptData, OptConfig)
	if err := fs.Parse([]string{"--data", "/d", "--project", "p"}); err != nil {
		t.Fatal(err)
	}
	c, err := b.Resolve(envFrom(map[string]string{"ASSISTD_LISTEN": "127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/d" || c.Listen != "127.0.0.1:1" || *project != "p" {
		t.Fatalf("got %+v project %q", c, *project)
	}
	if err := fs.Parse([]string{"--listen", "x:1"}); err == nil {
		t.Fatal("--listen should be undefined on a subset binding")
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"1234", 1234, false},
		{"1234b", 1234, false},
		{"64K", 64 << 10, false},
		{"64kb", 64 << 10, false},
		{"64KiB", 64 << 10, false},
		{"512M", 512 << 20, false},
		{"512 MB", 512 << 20, false},
		{"8MiB", 8 << 20, false},
		{"1g", 1 << 30, false},
		{"2T", 2 << 40, false},
		{"", 0, true},
		{"M", 0, true},
		{"1.5M", 0, true},
		{"10ib", 0, true},
		{"10X", 0, true},
		{"99999999999T", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatSizeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 1000, 1024, 8 << 20, 512 << 20, 3 << 30, 1<<20 + 1} {
		s := FormatSize(n)
		got, err := ParseSize(s)
		if err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d)=%q) = %d, %v", n, s, got, err)
		}
	}
	if s := FormatSize(512 << 20); s != "512M" {
		t.Errorf("FormatSize(512<<20) = %q", s)
	}
}

func TestDumpIsALoadableFile(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--listen", "127.0.0.1:9", "--max-upload-bytes", "3M", "--shutdown-timeout", "90s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, string(c.Dump()))
	back, err := Load([]string{"--config", path}, nil)
	if err != nil {
		t.Fatalf("loading the dump: %v\n%s", err, c.Dump())
	}
	back.ConfigFile = ""
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: got %+v, want %+v", back, c)
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	c := Config{DataDir: "/srv/assistd"}
	if c.DBPath() != "/srv/assistd/assistd.db" || c.BlobDir() != "/srv/assistd/files" {
		t.Fatalf("paths: %s %s", c.DBPath(), c.BlobDir())
	}
	if EnvName(OptMaxUploadBytes) != "ASSISTD_MAX_UPLOAD_BYTES" {
		t.Fatal(EnvName(OptMaxUploadBytes))
	}
}

func TestDatabase(t *testing.T) {
	t.Parallel()
	const pg = "postgres://assistd:s3cret@db.internal:5432/assistd?sslmode=require"
	c, err := Load(nil, nil)
	if err != nil || c.Database != "" {
		t.Fatalf("default database = %q, %v; want empty (SQLite)", c.Database, err)
	}
	file := writeFile(t, `{"database": "postgresql://file@h/db"}`)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"flag", []string{"--database", pg}, nil, pg},
		{"env", nil, map[string]string{"ASSISTD_DATABASE": pg}, pg},
		{"file", []string{"--config", file}, nil, "postgresql://file@h/db"},
		{"flag beats env", []string{"--database", pg}, map[string]string{"ASSISTD_DATABASE": "postgres://env@h/db"}, pg},
	} {
		c, err := Load(tc.args, envFrom(tc.env))
		if err != nil || c.Database != tc.want {
			t.Errorf("%s: database = %q, %v; want %q", tc.name, c.Database, err, tc.want)
		}
	}
	for _, bad := range []string{"mysql://h/db", "/var/lib/assistd.db", "host=localhost dbname=x"} {
		if _, err := Load([]string{"--database", bad}, nil); err == nil || !strings.Contains(err.Error(), "database") {
			t.Errorf("--database %q: got %v, want an error naming the option", bad, err)
		}
	}
	c, err = Load([]string{"--database", pg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := string(c.Dump()); strings.Contains(d, "s3cret") || !strings.Contains(d, "db.internal:5432") {
		t.Fatalf("dump must show the database without its password:\n%s", d)
	}
}

func TestSandboxAndMetricsOptions(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--sandbox-max-sessions", "10", "--metrics-listen", "127.0.0.1:9100"},
		func(k string) string {
			if k == "ASSISTD_SANDBOX_MAX_SESSIONS_PER_PROJECT" {
				return "3"
			}
			return ""
		})
	if err != nil {
		t.Fatal(err)
	}
	if c.SandboxMaxSessions != 10 || c.SandboxMaxSessionsPerProject != 3 || c.MetricsListen != "127.0.0.1:9100" {
		t.Fatalf("got %+v", c)
	}
	path := writeFile(t, string(c.Dump()))
	back, err := Load([]string{"--config", path}, nil)
	if err != nil {
		t.Fatalf("loading the dump: %v\n%s", err, c.Dump())
	}
	back.ConfigFile = ""
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: got %+v, want %+v", back, c)
	}
	for _, bad := range [][]string{
		{"--sandbox-max-sessions", "-1"},
		{"--sandbox-max-sessions-per-project", "x"},
		{"--metrics-listen", "nowhere"},
		{"--metrics-listen", "127.0.0.1:99999"},
	} {
		if _, err := Load(bad, nil); err == nil {
			t.Errorf("Load(%q) accepted", bad)
		}
	}
	if c, err := Load([]string{"--metrics-listen", "off"}, nil); err != nil || c.MetricsListen != MetricsOff {
		t.Fatalf("off: %+v, %v", c, err)
	}
}
