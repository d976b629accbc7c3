package engine_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/sandbox"
	"github.com/assistd/assistd/internal/schema"
)

// TestCodeInterpreter runs the tool directly on a real sandbox: state
// persists between calls of a thread, tracebacks and bad arguments are
// outputs, other threads see nothing.
func TestCodeInterpreter(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("SKIPPED, SANDBOX UNAVAILABLE: bwrap is not installed (run scripts/setup.sh as root)")
	}
	if exec.Command(sandbox.DefaultPython, "-c", "import numpy").Run() != nil {
		t.Skip("SKIPPED, SANDBOX UNAVAILABLE: python3-numpy is not installed (run scripts/setup.sh as root)")
	}
	dir, err := os.MkdirTemp("", "citest-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o711); err != nil { // the sandbox runs as nobody under root
		t.Fatal(err)
	}
	m, err := sandbox.NewManager(sandbox.Config{Root: filepath.Join(dir, "s"), ExecTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	ci := &engine.CodeInterpreter{Sandbox: m, InputFiles: func(context.Context, *engine.BuiltinCall) ([]engine.CodeInput, error) {
		return []engine.CodeInput{{Bytes: 5, InputFile: sandbox.InputFile{ID: "file-1", Name: "in.txt", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("hello")), nil
		}}}}, nil
	}}
	call := func(thread, args string) schema.ToolCall {
		t.Helper()
		tc, err := ci.Execute(ctx, &engine.BuiltinCall{ProjectID: "proj_1", Run: &schema.Run{ID: "run_1", ThreadID: thread}, Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		if tc.Type != schema.ToolCodeInterpreter || tc.CodeInterpreter == nil {
			t.Fatalf("tool call %+v", tc)
		}
		return tc
	}
	logs := func(tc schema.ToolCall) string {
		_, out := ci.Replay(tc)
		return out
	}

	tc := call("thread_a", `{"code":"x = open('/mnt/data/in.txt').read()\nlen(x)"}`)
	if tc.CodeInterpreter.Input != "x = open('/mnt/data/in.txt').read()\nlen(x)" || len(tc.CodeInterpreter.Outputs) != 1 ||
		tc.CodeInterpreter.Outputs[0].Type != "logs" || *tc.CodeInterpreter.Outputs[0].Logs != "5\n" {
		t.Fatalf("first call: %+v", tc.CodeInterpreter)
	}
	if got := logs(call("thread_a", `{"code":"print(x.upper())"}`)); got != "HELLO\n" {
		t.Fatalf("state: %q", got)
	}
	if got := logs(call("thread_b", `{"code":"x"}`)); !strings.Contains(got, "NameError") {
		t.Fatalf("other thread: %q", got)
	}
	if got := logs(call("thread_a", `{"code":"x = 1"}`)); got != "(no output)" {
		t.Fatalf("no output: %q", got)
	}
	if got := logs(call("thread_a", `not json`)); !strings.Contains(got, `"code"`) {
		t.Fatalf("bad arguments: %q", got)
	}
	args, _ := ci.Replay(tc)
	if args != `{"code":"x = open('/mnt/data/in.txt').read()\nlen(x)"}` {
		t.Fatalf("replayed arguments %s", args)
	}
}
