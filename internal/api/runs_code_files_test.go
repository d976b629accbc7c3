package api_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/schema"
)

// runStream creates a streamed run and returns its events (the harness has
// validated each payload against the spec) and the run id.
func (h *harness) runStream(key, threadID, assistantID string) ([]sseEvent, string) {
	h.t.Helper()
	r := h.mustDo(200, "POST", "/v1/threads/"+threadID+"/runs", key, map[string]any{"assistant_id": assistantID, "stream": true})
	events, err := parseSSE(r.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	runID := ""
	for _, ev := range events {
		if ev.Name == "thread.run.created" {
			var run schema.Run
			if err := json.Unmarshal([]byte(ev.Data), &run); err != nil {
				h.t.Fatal(err)
			}
			runID = run.ID
		}
	}
	if runID == "" || events[len(events)-2].Name != "thread.run.completed" {
		h.t.Fatalf("stream did not complete a run: %s", eventNames(events))
	}
	return events, runID
}

func eventNames(events []sseEvent) string {
	names := make([]string, len(events))
	for i, ev := range events {
		names[i] = ev.Name
	}
	return strings.Join(names, " ")
}

// stepLogs joins the logs outputs of a run's code_interpreter calls.
func (h *harness) stepLogs(key, threadID, runID string) string {
	var b strings.Builder
	for _, s := range h.stepsOf(key, threadID, runID) {
		calls, _ := dig(s, "step_details", "tool_calls").([]any)
		for _, c := range calls {
			outs, _ := dig(c, "code_interpreter", "outputs").([]any)
			for _, o := range outs {
				b.WriteString(str(dig(o, "logs")))
			}
		}
	}
	return b.String()
}

// TestCodeInterpreterStreamFilesAndFigures: a streamed run whose code draws
// a figure and writes out.csv twice (two turns) answers with the figure as
// image_file content and a file_path annotation on each sandbox link to
// out.csv, pointing at the latest write. The stream shows each call's code
// before it runs and its outputs after, never the model's raw arguments,
// and the annotations arrive before thread.message.completed.
func TestCodeInterpreterStreamFilesAndFigures(t *testing.T) {
	t.Parallel()
	m := newSandbox(t)
	code1 := "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nopen('/mnt/data/out.csv', 'w').write('old')\nprint('first written')"
	code2 := "open('/mnt/data/out.csv', 'w').write('a,b\\n1,2\\n')\nopen('/mnt/data/out.csv2', 'w').write('x')\nprint('second written')"
	answer := "Voilà — [Download](sandbox:/mnt/data/out.csv). Again: sandbox:/mnt/data/out.csv.\n" +
		"Not these: sandbox:/mnt/data/missing.txt, sandbox:/mnt/data/out.csvx."
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool", ToolResultContains: "second written"}, Reply: modelstub.Reply{Text: answer}},
		{Match: modelstub.Match{LastRole: "tool", ToolResultContains: "first written"}, Reply: modelstub.Reply{ToolCalls: codeCall(code2)}},
		{Match: modelstub.Match{UserContains: "report", ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall(code1)}},
	}}
	h := newHarness(t, withScript(script), withSandbox(m))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"code_interpreter"}]}`)
	th := h.newThread(h.keyA, "write me a report")
	events, runID := h.runStream(h.keyA, th, asst)

	// Step deltas: for each call its input, then its outputs.
	type stepDelta struct {
		Delta struct {
			StepDetails schema.StepDetailsDelta `json:"step_details"`
		} `json:"delta"`
	}
	var seen []string
	for _, ev := range events {
		if ev.Name != "thread.run.step.delta" {
			continue
		}
		var d stepDelta
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Delta.StepDetails.ToolCalls {
			switch {
			case c.Function != nil || c.Type != "code_interpreter":
				t.Errorf("a built-in call's raw arguments were streamed: %s", ev.Data)
			case c.CodeInterpreter != nil && c.CodeInterpreter.Input != "":
				if !strings.HasPrefix(c.ID, "call_") || len(c.CodeInterpreter.Outputs) != 0 {
					t.Errorf("input delta: %s", ev.Data)
				}
				seen = append(seen, "input:"+c.CodeInterpreter.Input)
			case c.CodeInterpreter != nil && len(c.CodeInterpreter.Outputs) > 0:
				kinds := []string{}
				for _, o := range c.CodeInterpreter.Outputs {
					kinds = append(kinds, o.Type)
				}
				seen = append(seen, "outputs:"+strings.Join(kinds, ","))
			default:
				t.Errorf("empty step delta: %s", ev.Data)
			}
		}
	}
	if want := []string{"input:" + code1, "outputs:logs,image", "input:" + code2, "outputs:logs"}; strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("step deltas:\n got %q\nwant %q", seen, want)
	}

	// Message deltas: the figure at index 0, the text at 1, annotations
	// before completion.
	var deltaText string
	var annotated, completed, imageAt = -1, -1, -1
	for i, ev := range events {
		switch ev.Name {
		case "thread.message.delta":
			var d schema.MessageDelta
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				t.Fatal(err)
			}
			for _, p := range d.Delta.Content {
				switch {
				case p.Type == "image_file" && p.Index == 0 && p.ImageFile != nil && p.ImageFile.FileID != "":
					imageAt = i
				case p.Type == "text" && p.Index == 1 && p.Text != nil:
					if p.Text.Value != nil {
						deltaText += *p.Text.Value
					}
					if len(p.Text.Annotations) > 0 {
						annotated = i
					}
				default:
					t.Errorf("unexpected message delta part: %s", ev.Data)
				}
			}
		case "thread.message.completed":
			completed = i
		}
	}
	if deltaText != answer || imageAt < 0 || annotated < 0 || !(imageAt < annotated && annotated < completed) {
		t.Errorf("message deltas: text %q, image at %d, annotations at %d, completed at %d", deltaText, imageAt, annotated, completed)
	}

	// The stored answer.
	steps := h.stepsOf(h.keyA, th, runID)
	if len(steps) != 3 {
		t.Fatalf("steps: %v", steps)
	}
	img := str(dig(steps[0], "step_details", "tool_calls", 0, "code_interpreter", "outputs", 1, "image", "file_id"))
	msgs := h.messagesOf(h.keyA, th)
	content, _ := dig(msgs[len(msgs)-1], "content").([]any)
	if len(content) != 2 || dig(content, 0, "type") != "image_file" || dig(content, 0, "image_file", "file_id") != img || img == "" {
		t.Fatalf("answer content %v, figure %q", content, img)
	}
	if str(dig(content, 1, "text", "value")) != answer {
		t.Errorf("answer text %q", dig(content, 1, "text", "value"))
	}
	anns, _ := dig(content, 1, "text", "annotations").([]any)
	if len(anns) != 2 {
		t.Fatalf("annotations: %v", anns)
	}
	link := "sandbox:/mnt/data/out.csv"
	first := strings.Index(answer, link)
	second := first + len(link) + strings.Index(answer[first+len(link):], link)
	fileID := str(dig(anns[0], "file_path", "file_id"))
	for i, at := range []int{first, second} {
		a := anns[i]
		start := utf8.RuneCountInString(answer[:at]) // characters, not bytes: "Voilà —" is multi-byte
		if dig(a, "type") != "file_path" || dig(a, "text") != link || dig(a, "start_index") != float64(start) ||
			dig(a, "end_index") != float64(start+len(link)) || dig(a, "file_path", "file_id") != fileID {
			t.Errorf("annotation %d: %v (want start %d)", i, a, start)
		}
	}
	f := h.mustDo(200, "GET", "/v1/files/"+fileID, h.keyA, nil).object(t)
	if f["filename"] != "out.csv" || f["purpose"] != "assistants_output" {
		t.Errorf("linked file: %v", f)
	}
	if body := string(h.mustDo(200, "GET", "/v1/files/"+fileID+"/content", h.keyA, nil).Body); body != "a,b\n1,2\n" {
		t.Errorf("linked file holds %q, want the latest write", body)
	}
}

// lazyInterpreter lets a test build the store-backed code_interpreter after
// the harness has made its store (to set limits the harness does not).
type lazyInterpreter struct{ *engine.CodeInterpreter }

// TestCodeInterpreterBadInputs: an input file over the size limit, one
// whose bytes are gone from the blob store and one deleted after it was
// attached are left out of /mnt/data and explained to the model in the
// logs; the code still runs with the good file. An exception in the code is
// an output (the traceback) and the run completes.
func TestCodeInterpreterBadInputs(t *testing.T) {
	t.Parallel()
	m := newSandbox(t)
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Tool said: {{last_tool_result}}"}},
		{Match: modelstub.Match{ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall(
			"import os\nprint(sorted(os.listdir('/mnt/data')))\nprint(open('/mnt/data/ok.csv').read())\n1/0")}},
	}}
	lazy := &lazyInterpreter{}
	h := newHarness(t, withScript(script), withEngine(func(c *engine.Config) {
		c.Builtins = map[string]engine.BuiltinTool{schema.ToolCodeInterpreter: lazy}
	}))
	blobs, err := blob.NewDisk(filepath.Join(h.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	lazy.CodeInterpreter = engine.NewCodeInterpreter(m, h.store, blobs, func() int64 { return time.Now().Unix() })
	lazy.MaxInputFileBytes = 1000

	upload := func(name string, data []byte) string {
		return h.mustUpload(h.keyA, "assistants", name, data).object(t)["id"].(string)
	}
	ok := upload("ok.csv", []byte("good,data\n"))
	big := upload("big.csv", []byte(strings.Repeat("9", 2000)))
	gone := upload("gone.csv", []byte("lost"))
	deleted := upload("deleted.csv", []byte("deleted"))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"code_interpreter"}]}`)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, map[string]any{
		"messages":       []any{map[string]any{"role": "user", "content": "look at my files"}},
		"tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": []string{ok, big, gone, deleted}}},
	}).object(t)["id"].(string)
	proj, err := h.store.ProjectGetByName(context.Background(), "project-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Delete(context.Background(), blob.FileKey(proj.ID, gone)); err != nil {
		t.Fatal(err)
	}
	h.mustDo(200, "DELETE", "/v1/files/"+deleted, h.keyA, nil)

	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" || run["last_error"] != nil {
		t.Fatalf("run: %v", run)
	}
	logs := h.stepLogs(h.keyA, th, id)
	for _, want := range []string{
		"the file big.csv (" + big + ") is not in /mnt/data: it is 2000 bytes, more than the 1000-byte limit",
		"the file gone.csv (" + gone + ") is not in /mnt/data: its content is missing from the server's storage",
		"the file " + deleted + " is not in /mnt/data: it was deleted after it was attached",
		"['ok.csv']\ngood,data\n",
		"ZeroDivisionError",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	msgs := h.messagesOf(h.keyA, th)
	if got := str(dig(msgs[len(msgs)-1], "content", 0, "text", "value")); !strings.Contains(got, "ZeroDivisionError") || !strings.Contains(got, "big.csv") {
		t.Errorf("the model was not told: %q", got)
	}
}

// TestCodeInterpreterThreadsIsolated: two threads of one project and
// assistant get separate sessions through runs: the second sees neither the
// first's input file, nor the file its code wrote, nor its variables.
func TestCodeInterpreterThreadsIsolated(t *testing.T) {
	t.Parallel()
	m := newSandbox(t)
	probe := "import os\nprint('files', sorted(os.listdir('/mnt/data')))\nprint('secret' in globals())"
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Tool said: {{last_tool_result}}"}},
		{Match: modelstub.Match{UserContains: "first", ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall(
			"secret = 42\nopen('/mnt/data/mine.txt', 'w').write('private')\n" + probe)}},
		{Match: modelstub.Match{UserContains: "second", ToolAvailable: "code_interpreter"}, Reply: modelstub.Reply{ToolCalls: codeCall(probe)}},
	}}
	h := newHarness(t, withScript(script), withSandbox(m))
	in := h.mustUpload(h.keyA, "assistants", "input.csv", []byte("1,2\n")).object(t)["id"].(string)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"code_interpreter"}]}`)
	th1 := h.mustDo(200, "POST", "/v1/threads", h.keyA, map[string]any{
		"messages":       []any{map[string]any{"role": "user", "content": "first"}},
		"tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": []string{in}}},
	}).object(t)["id"].(string)
	th2 := h.newThread(h.keyA, "second")

	run1 := h.createRun(h.keyA, th1, map[string]any{"assistant_id": asst})["id"].(string)
	h.waitRun(h.keyA, th1, run1, "completed")
	if logs := h.stepLogs(h.keyA, th1, run1); !strings.Contains(logs, "files ['input.csv', 'mine.txt']\nTrue") {
		t.Fatalf("first thread: %q", logs)
	}
	run2 := h.createRun(h.keyA, th2, map[string]any{"assistant_id": asst})["id"].(string)
	h.waitRun(h.keyA, th2, run2, "completed")
	if logs := h.stepLogs(h.keyA, th2, run2); !strings.Contains(logs, "files []\nFalse") {
		t.Errorf("second thread sees the first's session: %q", logs)
	}
}
