package api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/sandbox"
)

// newSandbox starts a real sandbox for a test, or skips loudly when the
// machine lacks bubblewrap or the Python packages (scripts/setup.sh).
func newSandbox(t *testing.T) *sandbox.Manager {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("SKIPPED, SANDBOX UNAVAILABLE: bwrap is not installed (run scripts/setup.sh as root)")
	}
	if exec.Command(sandbox.DefaultPython, "-c", "import numpy, matplotlib").Run() != nil {
		t.Skip("SKIPPED, SANDBOX UNAVAILABLE: python3-numpy/matplotlib are not installed (run scripts/setup.sh as root)")
	}
	dir, err := os.MkdirTemp("", "assistd-ci-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil { // the sandbox runs as nobody under root
		t.Fatal(err)
	}
	m, err := sandbox.NewManager(sandbox.Config{Root: filepath.Join(dir, "s"), ExecTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func codeCall(code string) []modelstub.ToolCall {
	args, _ := json.Marshal(map[string]string{"code": code})
	return []modelstub.ToolCall{{Name: "code_interpreter", Arguments: args}}
}

// TestCodeInterpreterRun: a scripted model calls code_interpreter; the code
// reads the thread's file, draws a figure and keeps a variable; the step
// records input, logs and the image (a File of purpose assistants_output);
// a second run on the thread sees the variable.
func TestCodeInterpreterRun(t *testing.T) {
	t.Parallel()
	m := newSandbox(t)
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Done: {{last_tool_result}}"}},
		{Match: modelstub.Match{UserContains: "again", ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall("print(total + 1)")}},
		{Match: modelstub.Match{UserContains: "plot", ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall(
			"import matplotlib.pyplot as plt\nrows = open('/mnt/data/data.csv').read().split()\ntotal = sum(int(r) for r in rows)\nplt.plot([int(r) for r in rows])\nprint('sum', total)")}},
	}}
	h := newHarness(t, withScript(script), withSandbox(m))
	csv := h.mustUpload(h.keyA, "assistants", "data.csv", []byte("1\n2\n38\n")).object(t)["id"].(string)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"code_interpreter"}]}`)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, map[string]any{
		"messages":       []any{map[string]any{"role": "user", "content": "plot my data"}},
		"tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": []string{csv}}},
	}).object(t)["id"].(string)

	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	steps := h.stepsOf(h.keyA, th, id)
	if len(steps) != 2 {
		t.Fatalf("steps: %v", steps)
	}
	call := dig(steps[0], "step_details", "tool_calls", 0).(map[string]any)
	outputs, _ := dig(call, "code_interpreter", "outputs").([]any)
	if call["type"] != "code_interpreter" || !strings.Contains(str(dig(call, "code_interpreter", "input")), "plt.plot") || len(outputs) != 2 {
		t.Fatalf("call: %v", call)
	}
	if dig(outputs[0], "type") != "logs" || !strings.Contains(str(dig(outputs[0], "logs")), "sum 41") || dig(outputs[1], "type") != "image" {
		t.Fatalf("outputs: %v", outputs)
	}
	img := str(dig(outputs[1], "image", "file_id"))
	f := h.mustDo(200, "GET", "/v1/files/"+img, h.keyA, nil).object(t)
	if f["purpose"] != "assistants_output" {
		t.Errorf("image file: %v", f)
	}
	if body := h.mustDo(200, "GET", "/v1/files/"+img+"/content", h.keyA, nil).Body; !strings.HasPrefix(string(body), "\x89PNG") {
		t.Errorf("image content is not a PNG: %q", truncate(body, 16))
	}
	// The answer shows the figure first, then the text.
	msgs := h.messagesOf(h.keyA, th)
	answer := msgs[len(msgs)-1]
	if dig(answer, "content", 0, "type") != "image_file" || dig(answer, "content", 0, "image_file", "file_id") != img {
		t.Errorf("answer does not show the figure %s first: %v", img, answer["content"])
	}
	if got := str(dig(answer, "content", 1, "text", "value")); !strings.Contains(got, "sum 41") {
		t.Errorf("answer %q", got)
	}

	// The session outlives the run: the next run sees total.
	h.mustDo(200, "POST", "/v1/threads/"+th+"/messages", h.keyA, `{"role":"user","content":"again"}`)
	id2 := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	if run := h.waitRun(h.keyA, th, id2); run["status"] != "completed" {
		t.Fatalf("second run: %v", run)
	}
	// No new figure: the second answer is text only.
	msgs = h.messagesOf(h.keyA, th)
	second, _ := dig(msgs[len(msgs)-1], "content").([]any)
	if len(second) != 1 || !strings.Contains(str(dig(second, 0, "text", "value")), "42") {
		t.Errorf("second answer %v", second)
	}
}
