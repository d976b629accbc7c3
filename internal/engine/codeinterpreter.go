package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
	InputFiles func(ctx context.Context, call *BuiltinCall) ([]sandbox.InputFile, error)
	// Outputs turns the images and files of a result into outputs (image
	// outputs with file ids); nil drops them.
	Outputs func(ctx context.Context, call *BuiltinCall, res *sandbox.Result) ([]schema.CodeOutput, error)
}

var _ BuiltinTool = (*CodeInterpreter)(nil)

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
	var files []sandbox.InputFile
	if ci.InputFiles != nil {
		var err error
		if files, err = ci.InputFiles(ctx, call); err != nil {
			return schema.ToolCall{}, err
		}
	}
	res, err := ci.Sandbox.Exec(ctx, SessionKey(call.ProjectID, call.Run.ThreadID), code, files)
	if err != nil {
		return schema.ToolCall{}, err
	}
	tc := codeCall(code, res.Output)
	if ci.Outputs != nil {
		more, err := ci.Outputs(ctx, call, res)
		if err != nil {
			return schema.ToolCall{}, err
		}
		tc.CodeInterpreter.Outputs = append(tc.CodeInterpreter.Outputs, more...)
	}
	return tc, nil
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
