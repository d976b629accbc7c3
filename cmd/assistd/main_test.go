package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the assistd executable built once by TestMain; the tests drive it
// as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "assistd-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "assistd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building assistd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the test process environment without ASSISTD_* variables, plus
// extra.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASSISTD_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the binary to completion (bounded to 30 s).
func runCmd(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(env...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

var keyLine = regexp.MustCompile(`^sk-[A-Za-z0-9_-]{20,}\n$`)

func createKey(t *testing.T, data, project string) string {
	t.Helper()
	r := runCmd(t, nil, "keys", "create", "--data", data, "--project", project)
	if r.code != 0 {
		t.Fatalf("keys create: exit %d\n%s", r.code, r.stderr)
	}
	if !keyLine.MatchString(r.stdout) {
		t.Fatalf("keys create stdout %q is not one key line", r.stdout)
	}
	return strings.TrimSpace(r.stdout)
}

// server is a running `assistd serve`.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	key    string // the key printed on first start, if any
	exited chan struct{}
	err    error // cmd.Wait's result, valid after exited closes

	mu     sync.Mutex
	stderr strings.Builder
}

var (
	textAddr   = regexp.MustCompile(`\baddr=(\S+)`)
	printedKey = regexp.MustCompile(`created API key for project default: (sk-\S+)`)
)

// startServer starts serve with args and env and waits for its ready line.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Env = cleanEnv(env...)
	cmd.Dir = t.TempDir()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if m := printedKey.FindStringSubmatch(line); m != nil {
				s.mu.Lock()
				s.key = m[1]
				s.mu.Unlock()
			}
			if addr, ok := readyAddr(line); ok {
				select {
				case ready <- addr:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case s.addr = <-ready:
	case <-s.exited:
		t.Fatalf("serve exited before ready: %v\n%s", s.err, s.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve not ready after 20s\n%s", s.logs())
	}
	return s
}

// readyAddr recognises the ready log line in text or JSON format.
func readyAddr(line string) (string, bool) {
	if strings.HasPrefix(line, "{") {
		var m struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "ready" {
			return m.Addr, true
		}
		return "", false
	}
	if !strings.Contains(line, "msg=ready") {
		return "", false
	}
	m := textAddr.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) printedKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// stop sends SIGTERM and returns the exit code, failing if the process takes
// longer than within.
func (s *server) stop(within time.Duration) int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	return s.wait(within)
}

func (s *server) wait(within time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(within):
		s.t.Fatalf("serve still running %v after SIGTERM\n%s", within, s.logs())
	}
	if s.err == nil {
		return 0
	}
	if ee, ok := s.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	s.t.Fatalf("wait: %v", s.err)
	return -1
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestUsageAndVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout string // substring; "" means stdout must be empty
		wantStderr string // substring
	}{
		{name: "NoArgs", wantCode: 2, wantStderr: "Usage:"},
		{name: "Unknown", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "KeysNoSub", args: []string{"keys"}, wantCode: 2, wantStderr: "want a subcommand: create"},
		{name: "KeysBadSub", args: []string{"keys", "delete"}, wantCode: 2, wantStderr: "want a subcommand: create"},
		{name: "Help", args: []string{"help"}, wantCode: 0, wantStderr: "assistd serve"},
		{name: "Version", args: []string{"version"}, wantCode: 0, wantStdout: "assistd "},
		{name: "ServeHelp", args: []string{"serve", "-h"}, wantCode: 0, wantStderr: "ASSISTD_MAX_UPLOAD_BYTES"},
		{name: "ServeBadFlag", args: []string{"serve", "--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "ServeExtraArg", args: []string{"serve", "now"}, wantCode: 2, wantStderr: `unexpected argument "now"`},
		{name: "ServeBadListen", args: []string{"serve", "--listen", "nowhere"}, wantCode: 2, wantStderr: "listen:"},
		{name: "ServeBadEnv", args: []string{"serve"}, env: []string{"ASSISTD_LOG_FORMAT=xml"}, wantCode: 2, wantStderr: `log-format: "xml"`},
		{name: "MigrateNoListen", args: []string{"migrate", "--listen", "127.0.0.1:0"}, wantCode: 2, wantStderr: "not defined: -listen"},
		{name: "KeysEmptyProject", args: []string{"keys", "create", "--project", ""}, wantCode: 2, wantStderr: "--project must not be empty"},
		{name: "ConfigDump", args: []string{"config-dump", "--listen", "127.0.0.1:9"}, wantCode: 0, wantStdout: `"listen": "127.0.0.1:9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if tt.wantStdout == "" && r.stdout != "" {
				t.Errorf("stdout %q, want empty", r.stdout)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.wantStderr)
			}
		})
	}
}

func TestKeysCreate(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "nested", "data") // created on demand
	k1 := createKey(t, data, "alpha")
	k2 := createKey(t, data, "alpha")
	if k1 == k2 {
		t.Fatal("two keys are equal")
	}
	if _, err := os.Stat(filepath.Join(data, "assistd.db")); err != nil {
		t.Fatalf("database not created: %v", err)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "d")
	for range 2 { // idempotent
		r := runCmd(t, nil, "migrate", "--data", data)
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("migrate: exit %d stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "assistd.db")); err != nil {
		t.Fatal(err)
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", data)
	base := "http://" + s.addr

	key := s.printedKey()
	if !strings.HasPrefix(key, "sk-") {
		t.Fatalf("first start printed no key\n%s", s.logs())
	}
	if n := strings.Count(s.logs(), "ready"); n != 1 {
		t.Fatalf("%d lines mention ready, want 1\n%s", n, s.logs())
	}
	if strings.HasSuffix(s.addr, ":0") {
		t.Fatalf("ready line shows the unbound port: %s", s.addr)
	}

	if code, body := get(t, base+"/v1/assistants", key); code != http.StatusOK {
		t.Fatalf("GET /v1/assistants with key: %d %s", code, body)
	}
	if code, body := get(t, base+"/v1/assistants", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /v1/assistants without key: %d %s", code, body)
	}
	if code, body := get(t, base+"/v1/assistants", "sk-wrong"); code != http.StatusUnauthorized {
		t.Fatalf("GET /v1/assistants with a wrong key: %d %s", code, body)
	}

	start := time.Now()
	if code := s.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, s.logs())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle shutdown took %v", d)
	}
	if !strings.Contains(s.logs(), "stopped") {
		t.Errorf("no stopped line\n%s", s.logs())
	}

	// A second start keeps the keys: none is printed, the old one works, and
	// so does one made with keys create.
	other := createKey(t, data, "other")
	s2 := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", data)
	if k := s2.printedKey(); k != "" || strings.Contains(s2.logs(), "sk-") {
		t.Fatalf("second start printed a key\n%s", s2.logs())
	}
	for _, k := range []string{key, other} {
		if code, body := get(t, "http://"+s2.addr+"/v1/assistants", k); code != http.StatusOK {
			t.Fatalf("second start, GET with key: %d %s", code, body)
		}
	}
	if code := s2.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s2.logs())
	}
}

func TestServeFromEnv(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "env-data")
	s := startServer(t, []string{"ASSISTD_LISTEN=127.0.0.1:0", "ASSISTD_DATA=" + data})
	if _, err := os.Stat(filepath.Join(data, "assistd.db")); err != nil {
		t.Fatalf("ASSISTD_DATA not used: %v", err)
	}
	if code, body := get(t, "http://"+s.addr+"/v1/assistants", s.printedKey()); code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code := s.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logs())
	}
}

func TestServeFromConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "file-data")
	cfg := filepath.Join(dir, "assistd.json")
	content := fmt.Sprintf(`{"listen": "127.0.0.1:0", "data": %q, "log-format": "json"}`, data)
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// The flag names the file; the file's values beat the defaults.
	s := startServer(t, nil, "--config", cfg)
	if _, err := os.Stat(filepath.Join(data, "assistd.db")); err != nil {
		t.Fatalf("data from config file not used: %v", err)
	}
	if !strings.Contains(s.logs(), `"msg":"ready"`) {
		t.Fatalf("log-format json from the file not used\n%s", s.logs())
	}
	if code := s.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logs())
	}

	// ASSISTD_CONFIG names it too, and env beats the file.
	data2 := filepath.Join(dir, "env-data")
	s2 := startServer(t, []string{"ASSISTD_CONFIG=" + cfg, "ASSISTD_DATA=" + data2, "ASSISTD_LOG_FORMAT=text"})
	if _, err := os.Stat(filepath.Join(data2, "assistd.db")); err != nil {
		t.Fatalf("ASSISTD_DATA did not beat the file: %v", err)
	}
	if !strings.Contains(s2.logs(), "msg=ready") {
		t.Fatalf("ASSISTD_LOG_FORMAT did not beat the file\n%s", s2.logs())
	}
	if code := s2.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s2.logs())
	}
}

func TestServeListenBusy(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", t.TempDir())
	r := runCmd(t, nil, "serve", "--listen", s.addr, "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "listen") {
		t.Fatalf("second server on %s: exit %d\n%s", s.addr, r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "msg=ready") {
		t.Fatalf("logged ready without a listener\n%s", r.stderr)
	}
	s.stop(10 * time.Second)
}

// slowUpload starts POST /v1/files whose file part is fed through a pipe, so
// the test controls when the request body ends. It returns the pipe writer
// and a channel with the response status (or -1 on a transport error).
func slowUpload(t *testing.T, base, key string) (*io.PipeWriter, *multipart.Writer, <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/files", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			status <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	if err := mw.WriteField("purpose", "assistants"); err != nil {
		t.Fatal(err)
	}
	return pw, mw, status
}

// waitForPartialBlob waits until the server has started writing an upload
// into the data directory (blob.Disk streams into a temporary ".put-*" file),
// which proves the request is in flight.
func waitForPartialBlob(t *testing.T, data string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		filepath.WalkDir(filepath.Join(data, "files"), func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".put-") {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the upload never reached the server's blob store")
}

func TestServeSIGTERMLetsInFlightUploadFinish(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", data)
	base := "http://" + s.addr
	key := s.printedKey()

	pw, mw, status := slowUpload(t, base, key)
	part, err := mw.CreateFormFile("file", "slow.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write(bytes.Repeat([]byte("first half\n"), 1000)); err != nil {
		t.Fatal(err)
	}
	// Once the server is streaming the body to disk, ask it to stop while
	// the upload is unfinished.
	waitForPartialBlob(t, data)
	select {
	case code := <-status:
		t.Fatalf("upload answered %d before its body ended", code)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-s.exited:
		t.Fatalf("server exited with an upload in flight\n%s", s.logs())
	default:
	}
	// New connections are refused while draining.
	if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(base + "/v1/assistants"); err == nil {
		resp.Body.Close()
		t.Errorf("new request during shutdown got %d, want connection refused", resp.StatusCode)
	}

	part.Write(bytes.Repeat([]byte("second half\n"), 1000))
	mw.Close()
	pw.Close()
	select {
	case code := <-status:
		if code != http.StatusOK {
			t.Fatalf("in-flight upload finished with %d, want 200\n%s", code, s.logs())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight upload got no answer")
	}
	if code := s.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logs())
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", data, "--shutdown-timeout", "500ms")
	pw, mw, status := slowUpload(t, "http://"+s.addr, s.printedKey())
	defer pw.Close()
	part, err := mw.CreateFormFile("file", "never-ends.txt")
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte("this upload never finishes"))
	waitForPartialBlob(t, data)

	start := time.Now()
	if code := s.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.logs())
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("shutdown took %v with a 500ms timeout", d)
	}
	if !strings.Contains(s.logs(), "shutdown timed out") {
		t.Errorf("no timeout warning\n%s", s.logs())
	}
	// The client's transport waits for its body writer before reporting the
	// dropped connection, so end the body from our side too.
	pw.CloseWithError(errors.New("abandoned"))
	select {
	case code := <-status:
		if code == http.StatusOK {
			t.Errorf("unfinished upload succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Error("the cut-off upload's client got no error")
	}
}
