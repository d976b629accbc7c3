package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/sandbox"
	"github.com/assistd/assistd/internal/schema"
)

// CodeInterpreter executes code_interpreter calls in the sandbox: one
// Python session per project and thread, so state persists across the runs
// of a thread. Errors in the code (tracebacks, timeouts, limits) are outputs
// for the model; only an unavailable sandbox fails the run.
//
// Images and files the code produces need File objects (purpose
// assistants_output) to be referred to by id; Outputs is where that is done.
// Without it only the logs are recorded.
type CodeInterpreter struct {
	Sandbox *sandbox.Manager
	// InputFiles returns the files to put into /mnt/data for a call (the
	// thread's and assistant's tool_resources and the message attachments);
	// nil puts none.
	InputFiles func(ctx context.Context, call *BuiltinCall) ([]CodeInput, error)
	// Outputs turns the images and files of a result into outputs (image
	// outputs with file ids); nil drops them.
	Outputs func(ctx context.Context, call *BuiltinCall, res *sandbox.Result) ([]schema.CodeOutput, error)
	// MaxInputFileBytes is the largest file put into /mnt/data; a larger
	// one is left out and the model is told why. 0 means
	// DefaultMaxInputFileBytes.
	MaxInputFileBytes int64
}

// DefaultMaxInputFileBytes is CodeInterpreter.MaxInputFileBytes by default:
// OpenAI's limit for a file given to the code interpreter.
const DefaultMaxInputFileBytes = 512 << 20

// CodeInput is a file for /mnt/data, or one that cannot be put there.
type CodeInput struct {
	sandbox.InputFile
	// Bytes is the file's recorded size, checked against the limit before
	// its content is read.
	Bytes int64
	// Problem, when set, says why the file is not available (it was
	// deleted, say); the model is told instead of the file being copied.
	Problem string
}

var (
	_ BuiltinTool    = (*CodeInterpreter)(nil)
	_ BuiltinPreview = (*CodeInterpreter)(nil)
)

// SessionKey is the sandbox session of a run: its project and thread.
func SessionKey(projectID, threadID string) string { return projectID + "/" + threadID }

// Execute runs the call's code in the thread's session.
func (ci *CodeInterpreter) Execute(ctx context.Context, call *BuiltinCall) (schema.ToolCall, error) {
	var args struct {
		Code *string `json:"code"`
	}
	if err := json.Unmarshal([]byte(call.Arguments), &args); err != nil || args.Code == nil {
		logs := fmt.Sprintf(`Error: the arguments must be a JSON object {"code": "<Python code>"}, got %q.`, truncateRunes(call.Arguments, 200))
		return codeCall(call.Arguments, logs), nil
	}
	code := *args.Code
	files, notes, release, err := ci.prepareInputs(ctx, call)
	defer release()
	if err != nil {
		return schema.ToolCall{}, err
	}
	res, err := ci.Sandbox.Exec(ctx, SessionKey(call.ProjectID, call.Run.ThreadID), code, files)
	if err != nil {
		return schema.ToolCall{}, err
	}
	logs := res.Output
	if len(notes) > 0 {
		logs = strings.Join(notes, "\n") + "\n" + logs
	}
	tc := codeCall(code, logs)
	if ci.Outputs != nil {
		more, err := ci.Outputs(ctx, call, res)
		if err != nil {
			return schema.ToolCall{}, err
		}
		tc.CodeInterpreter.Outputs = append(tc.CodeInterpreter.Outputs, more...)
	}
	return tc, nil
}

// Preview is the call as shown before it runs: its code, no outputs yet.
func (ci *CodeInterpreter) Preview(arguments string) schema.ToolCall {
	var args struct {
		Code *string `json:"code"`
	}
	if err := json.Unmarshal([]byte(arguments), &args); err != nil || args.Code == nil {
		return codeCall(arguments, "")
	}
	return codeCall(*args.Code, "")
}

// prepareInputs checks the call's input files before the sandbox copies
// them: a file over the size limit, deleted, or whose content is missing
// from the blob store is left out and explained in a note for the model, so
// that the code still runs with the files that are there. Each remaining
// file is opened here (its reader handed to the sandbox), so a file cannot
// fail half-way into an execution; release closes what the sandbox did not
// take (files it copied before).
func (ci *CodeInterpreter) prepareInputs(ctx context.Context, call *BuiltinCall) (files []sandbox.InputFile, notes []string, release func(), err error) {
	var opened []io.ReadCloser
	release = func() {
		for _, r := range opened {
			if r != nil {
				r.Close()
			}
		}
	}
	if ci.InputFiles == nil {
		return nil, nil, release, nil
	}
	inputs, err := ci.InputFiles(ctx, call)
	if err != nil {
		return nil, nil, release, err
	}
	limit := ci.MaxInputFileBytes
	if limit <= 0 {
		limit = DefaultMaxInputFileBytes
	}
	for _, in := range inputs {
		switch {
		case in.Problem != "":
			notes = append(notes, fmt.Sprintf("Note: %s is not in /mnt/data: %s.", inputName(in), in.Problem))
			continue
		case in.Bytes > limit:
			notes = append(notes, fmt.Sprintf("Note: %s is not in /mnt/data: it is %d bytes, more than the %d-byte limit for files given to code_interpreter.", inputName(in), in.Bytes, limit))
			continue
		case in.Open == nil:
			notes = append(notes, fmt.Sprintf("Note: %s is not in /mnt/data: its content is not available.", inputName(in)))
			continue
		}
		r, err := in.Open()
		if errors.Is(err, blob.ErrNotFound) {
			notes = append(notes, fmt.Sprintf("Note: %s is not in /mnt/data: its content is missing from the server's storage.", inputName(in)))
			continue
		}
		if err != nil {
			return nil, nil, release, fmt.Errorf("input file %s: %w", in.ID, err)
		}
		i := len(opened)
		opened = append(opened, r)
		open := in.Open
		f := in.InputFile
		f.Open = func() (io.ReadCloser, error) {
			if r := opened[i]; r != nil {
				opened[i] = nil
				return r, nil
			}
			return open()
		}
		files = append(files, f)
	}
	return files, notes, release, nil
}

func inputName(in CodeInput) string {
	if in.Name == "" || in.Name == in.ID {
		return "the file " + in.ID
	}
	return fmt.Sprintf("the file %s (%s)", in.Name, in.ID)
}

// Replay renders a recorded call for the model: the code and its logs, with
// a line per image.
func (ci *CodeInterpreter) Replay(c schema.ToolCall) (arguments, output string) {
	if c.CodeInterpreter == nil {
		return "{}", ""
	}
	args, _ := json.Marshal(map[string]string{"code": c.CodeInterpreter.Input})
	var b strings.Builder
	for _, o := range c.CodeInterpreter.Outputs {
		switch {
		case o.Logs != nil:
			b.WriteString(*o.Logs)
		case o.Image != nil:
			fmt.Fprintf(&b, "\n[image %s]\n", o.Image.FileID)
		}
	}
	if b.Len() == 0 {
		return string(args), "(no output)"
	}
	return string(args), b.String()
}

func codeCall(input, logs string) schema.ToolCall {
	outputs := []schema.CodeOutput{}
	if logs != "" {
		outputs = append(outputs, schema.CodeOutput{Type: "logs", Logs: &logs})
	}
	return schema.ToolCall{Type: schema.ToolCodeInterpreter,
		CodeInterpreter: &schema.CodeInterpreterCall{Input: input, Outputs: outputs}}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
