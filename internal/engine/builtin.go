package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/schema"
)

// BuiltinTool executes one of the Assistants API's built-in tools
// (file_search, code_interpreter) on the server. Chat models know nothing of
// these tools, so each is offered to the model as an ordinary function
// named after the tool type, with the JSON-schema parameters of
// BuiltinFunction; its calls are executed here and recorded in the run step
// in the tool's own shape.
type BuiltinTool interface {
	// Execute runs one call. Its result is recorded in the step and
	// rendered back to the model by Replay.
	Execute(ctx context.Context, call *BuiltinCall) (schema.ToolCall, error)
	// Replay renders a recorded call for the model's next turn: the
	// arguments it was called with and the output it got.
	Replay(call schema.ToolCall) (arguments, output string)
}

// BuiltinPreview is a BuiltinTool that can show a call before it runs:
// code_interpreter shows its code while it executes, as OpenAI streams it.
type BuiltinPreview interface {
	// Preview is the call recorded and announced before execution, in the
	// tool's shape, from the model's arguments.
	Preview(arguments string) schema.ToolCall
}

// UnavailableTool stands for a built-in tool this server cannot run (its
// sandbox failed its start-up check, say): the model may call it, and the
// run then fails with Reason rather than the tool silently vanishing.
type UnavailableTool struct {
	Reason string
}

// Execute always fails with the reason.
func (u UnavailableTool) Execute(context.Context, *BuiltinCall) (schema.ToolCall, error) {
	return schema.ToolCall{}, fmt.Errorf("it is unavailable on this server: %s", u.Reason)
}

// Replay has nothing to replay: no call ever succeeded.
func (UnavailableTool) Replay(schema.ToolCall) (string, string) { return "{}", "" }

// BuiltinCall is one call of a built-in tool by the model.
type BuiltinCall struct {
	ProjectID string
	Run       *schema.Run
	// Tool is the run's declaration of the tool (its options, e.g.
	// file_search.max_num_results).
	Tool schema.Tool
	// Arguments is the model's JSON arguments.
	Arguments string
	// Wrote, when set, is told of each file the call's code wrote: its
	// path in the sandbox (/mnt/data/…) and the File it was saved as.
	Wrote func(sandboxPath, fileID string)
}

// BuiltinFunction is the function a chat model is offered for a built-in
// tool type. The names and schemas are part of assistd's contract with
// prompts and are documented in the README.
func BuiltinFunction(toolType string) (llm.Tool, bool) {
	switch toolType {
	case schema.ToolFileSearch:
		return llm.Tool{
			Name:        schema.ToolFileSearch,
			Description: "Search the files attached to this conversation and the assistant, and return the most relevant passages with their file names. Use it for any question the files may answer.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"What to search for, as a self-contained question or keywords."}},"required":["query"],"additionalProperties":false}`),
		}, true
	case schema.ToolCodeInterpreter:
		return llm.Tool{
			Name:        schema.ToolCodeInterpreter,
			Description: "Run Python 3 code in a stateful sandbox (variables and files persist between calls in this thread; files are in /mnt/data; no network). Returns what the code prints and the images it saves; the images are shown to the user with your answer. To give the user a file the code wrote, link it in your answer as [name](sandbox:/mnt/data/name).",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"code":{"type":"string","description":"The Python 3 code to run."}},"required":["code"],"additionalProperties":false}`),
		}, true
	}
	return llm.Tool{}, false
}

// offeredTools returns the tools the model is offered: the run's functions
// and, for each built-in tool of the run that this engine can execute, its
// function. builtins maps an offered built-in's function name to the run's
// declaration of it.
func (x *execution) offeredTools() (tools []llm.Tool, builtins map[string]schema.Tool) {
	tools = functionTools(x.run.Tools)
	taken := make(map[string]bool, len(tools))
	for _, t := range tools {
		taken[t.Name] = true
	}
	for _, t := range x.run.Tools {
		if x.e.cfg.Builtins[t.Type] == nil {
			continue
		}
		fn, ok := BuiltinFunction(t.Type)
		if !ok || taken[fn.Name] {
			continue // a function of the same name wins: the client asked for it
		}
		taken[fn.Name] = true
		tools = append(tools, fn)
		if builtins == nil {
			builtins = make(map[string]schema.Tool)
		}
		builtins[fn.Name] = t
	}
	return tools, builtins
}

// functionTools offers the run's function tools to the model.
func functionTools(tools []schema.Tool) []llm.Tool {
	var out []llm.Tool
	for _, t := range tools {
		if t.Type != schema.ToolFunction || t.Function == nil {
			continue
		}
		lt := llm.Tool{Name: t.Function.Name, Parameters: t.Function.Parameters}
		if t.Function.Description != nil {
			lt.Description = *t.Function.Description
		}
		if t.Function.Strict != nil {
			lt.Strict = *t.Function.Strict
		}
		out = append(out, lt)
	}
	return out
}
