package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Run statuses.
const (
	RunQueued         = "queued"
	RunInProgress     = "in_progress"
	RunRequiresAction = "requires_action"
	RunCancelling     = "cancelling"
	RunCancelled      = "cancelled"
	RunFailed         = "failed"
	RunCompleted      = "completed"
	RunIncomplete     = "incomplete"
	RunExpired        = "expired"
)

// RunIsActive reports whether a run in status still occupies its thread:
// only one active run per thread is allowed.
func RunIsActive(status string) bool {
	switch status {
	case RunQueued, RunInProgress, RunRequiresAction, RunCancelling:
		return true
	}
	return false
}

// RunIsTerminal reports whether status is final.
func RunIsTerminal(status string) bool {
	switch status {
	case RunCancelled, RunFailed, RunCompleted, RunIncomplete, RunExpired:
		return true
	}
	return false
}

// Run error codes (last_error.code).
const (
	ErrCodeServer        = "server_error"
	ErrCodeRateLimit     = "rate_limit_exceeded"
	ErrCodeInvalidPrompt = "invalid_prompt"
)

// Limits on runs.
const (
	MinTokenLimit = 256
)

// Run is the "thread.run" object.
type Run struct {
	ID                  string             `json:"id"`
	Object              string             `json:"object"`
	CreatedAt           int64              `json:"created_at"`
	ThreadID            string             `json:"thread_id"`
	AssistantID         string             `json:"assistant_id"`
	Status              string             `json:"status"`
	RequiredAction      *RequiredAction    `json:"required_action"`
	LastError           *LastError         `json:"last_error"`
	ExpiresAt           *int64             `json:"expires_at"`
	StartedAt           *int64             `json:"started_at"`
	CancelledAt         *int64             `json:"cancelled_at"`
	FailedAt            *int64             `json:"failed_at"`
	CompletedAt         *int64             `json:"completed_at"`
	IncompleteDetails   *IncompleteDetails `json:"incomplete_details"`
	Model               string             `json:"model"`
	Instructions        string             `json:"instructions"`
	Tools               []Tool             `json:"tools"`
	Metadata            Metadata           `json:"metadata"`
	Usage               *Usage             `json:"usage"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	MaxPromptTokens     *int               `json:"max_prompt_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	TruncationStrategy  TruncationStrategy `json:"truncation_strategy"`
	ToolChoice          ToolChoice         `json:"tool_choice"`
	ParallelToolCalls   bool               `json:"parallel_tool_calls"`
	ResponseFormat      ResponseFormat     `json:"response_format"`
	ReasoningEffort     *string            `json:"reasoning_effort,omitempty"`
}

// Wire returns the run as clients see it: usage stays null until the run
// is terminal (the stored run keeps its running total for token limits).
func (r *Run) Wire() *Run {
	if r.Usage == nil || RunIsTerminal(r.Status) {
		return r
	}
	c := *r
	c.Usage = nil
	return &c
}

// RequiredAction is what a requires_action run waits for.
type RequiredAction struct {
	Type              string            `json:"type"` // always "submit_tool_outputs"
	SubmitToolOutputs SubmitToolOutputs `json:"submit_tool_outputs"`
}

// SubmitToolOutputs lists the function calls the client must answer.
type SubmitToolOutputs struct {
	ToolCalls []RequiredToolCall `json:"tool_calls"`
}

// RequiredToolCall is one function call awaiting its output.
type RequiredToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // always "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names a function and its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// LastError is a run's or step's failure.
type LastError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Usage counts tokens over a run or step.
type Usage struct {
	CompletionTokens int `json:"completion_tokens"`
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Add accumulates u into the receiver.
func (u *Usage) Add(o Usage) {
	u.CompletionTokens += o.CompletionTokens
	u.PromptTokens += o.PromptTokens
	u.TotalTokens += o.TotalTokens
}

// Truncation strategy types.
const (
	TruncationAuto         = "auto"
	TruncationLastMessages = "last_messages"
)

// TruncationStrategy controls how the thread is cut to fit the prompt.
type TruncationStrategy struct {
	Type         string `json:"type"`
	LastMessages *int   `json:"last_messages"`
}

// Validate checks the strategy's shape.
func (t TruncationStrategy) Validate(param string) error {
	switch t.Type {
	case TruncationAuto:
		if t.LastMessages != nil {
			return Invalid(param+".last_messages", "Invalid '%s.last_messages': only allowed when type is 'last_messages'.", param)
		}
	case TruncationLastMessages:
		if t.LastMessages == nil {
			return Invalid(param+".last_messages", "Missing required parameter: '%s.last_messages'.", param)
		}
		if *t.LastMessages < 1 {
			return Invalid(param+".last_messages", "Invalid '%s.last_messages': expected an integer of at least 1, got %d.", param, *t.LastMessages)
		}
	case "":
		return Invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	default:
		return Invalid(param+".type", "Invalid value for '%s.type': expected 'auto' or 'last_messages', got %q.", param, t.Type)
	}
	return nil
}

// Tool choice modes (the string forms).
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ToolChoice is "none", "auto", "required" (Mode set) or a named tool
// {"type": "function"|"file_search"|"code_interpreter", "function": {"name"}}.
type ToolChoice struct {
	Mode     string
	Type     string
	Function string
}

// MarshalJSON writes the string or the object form.
func (c ToolChoice) MarshalJSON() ([]byte, error) {
	if c.Type == "" {
		mode := c.Mode
		if mode == "" {
			mode = ToolChoiceAuto
		}
		return json.Marshal(mode)
	}
	if c.Type == ToolFunction {
		return json.Marshal(struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}{Type: c.Type, Function: struct {
			Name string `json:"name"`
		}{c.Function}})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{c.Type})
}

// UnmarshalJSON accepts either form, strictly.
func (c *ToolChoice) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = ToolChoice{Mode: s}
		return nil
	}
	var v struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := DecodeStrict(data, &v); err != nil {
		return err
	}
	*c = ToolChoice{Type: v.Type}
	if v.Function != nil {
		c.Function = v.Function.Name
	}
	if c.Type == "" {
		// Keep the object form visible to Validate as "missing type".
		c.Mode = "{}"
	}
	return nil
}

// Validate checks the choice and, for a named tool, that tools offer it.
func (c ToolChoice) Validate(param string, tools []Tool) error {
	if c.Type == "" {
		switch c.Mode {
		case "", ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
			return nil
		case "{}":
			return Invalid(param+".type", "Missing required parameter: '%s.type'.", param)
		}
		return Invalid(param, "Invalid value for '%s': expected 'none', 'auto', 'required' or an object naming a tool, got %q.", param, c.Mode)
	}
	switch c.Type {
	case ToolFunction:
		if c.Function == "" {
			return Invalid(param+".function.name", "Missing required parameter: '%s.function.name'.", param)
		}
		for _, t := range tools {
			if t.Type == ToolFunction && t.Function != nil && t.Function.Name == c.Function {
				return nil
			}
		}
		return Invalid(param, "Invalid '%s': function '%s' is not among the run's tools.", param, c.Function)
	case ToolFileSearch, ToolCodeInterpreter:
		for _, t := range tools {
			if t.Type == c.Type {
				return nil
			}
		}
		return Invalid(param, "Invalid '%s': tool '%s' is not among the run's tools.", param, c.Type)
	}
	return Invalid(param+".type", "Invalid value for '%s.type': expected 'function', 'file_search' or 'code_interpreter', got %q.", param, c.Type)
}

// RunCreateRequest is the body of POST /v1/threads/{id}/runs.
type RunCreateRequest struct {
	AssistantID            string                 `json:"assistant_id"`
	AdditionalInstructions *string                `json:"additional_instructions"`
	AdditionalMessages     []MessageCreateRequest `json:"additional_messages"`
	RunOptions
}

// RunOptions are the run settings shared by create-run and
// create-thread-and-run; both bodies embed them.
type RunOptions struct {
	Model               *string             `json:"model"`
	ReasoningEffort     *string             `json:"reasoning_effort"`
	Instructions        *string             `json:"instructions"`
	Tools               *[]Tool             `json:"tools"`
	Metadata            Metadata            `json:"metadata"`
	Temperature         *float64            `json:"temperature"`
	TopP                *float64            `json:"top_p"`
	Stream              *bool               `json:"stream"`
	MaxPromptTokens     *int                `json:"max_prompt_tokens"`
	MaxCompletionTokens *int                `json:"max_completion_tokens"`
	TruncationStrategy  *TruncationStrategy `json:"truncation_strategy"`
	ToolChoice          *ToolChoice         `json:"tool_choice"`
	ParallelToolCalls   *bool               `json:"parallel_tool_calls"`
	ResponseFormat      *ResponseFormat     `json:"response_format"`
}

// Streamed reports whether the client asked for server-sent events.
func (o *RunOptions) Streamed() bool { return o.Stream != nil && *o.Stream }

// Validate checks every field's shape (assistant existence is the caller's).
func (r *RunCreateRequest) Validate() error {
	if r.AssistantID == "" {
		return Invalid("assistant_id", "Missing required parameter: 'assistant_id'.")
	}
	if err := validateLen("additional_instructions", r.AdditionalInstructions, MaxInstructionsLen); err != nil {
		return err
	}
	for i := range r.AdditionalMessages {
		if err := r.AdditionalMessages[i].validate(fmt.Sprintf("additional_messages[%d].", i)); err != nil {
			return err
		}
	}
	return r.RunOptions.Validate()
}

// Validate checks the shared run settings.
func (o RunOptions) Validate() error {
	if o.Model != nil && *o.Model == "" {
		return Invalid("model", "Invalid 'model': empty string.")
	}
	if o.ReasoningEffort != nil && !isReasoningEffort(*o.ReasoningEffort) {
		return Invalid("reasoning_effort", "Invalid 'reasoning_effort': expected one of none, minimal, low, medium, high, xhigh or max, got %q.", *o.ReasoningEffort)
	}
	if err := validateLen("instructions", o.Instructions, MaxInstructionsLen); err != nil {
		return err
	}
	if o.Tools != nil {
		if err := ValidateTools(*o.Tools, "tools", MaxRunTools); err != nil {
			return err
		}
	}
	if err := o.Metadata.Validate("metadata"); err != nil {
		return err
	}
	if err := ValidateSampling(o.Temperature, o.TopP); err != nil {
		return err
	}
	for _, lim := range []struct {
		param string
		v     *int
	}{{"max_prompt_tokens", o.MaxPromptTokens}, {"max_completion_tokens", o.MaxCompletionTokens}} {
		if lim.v != nil && *lim.v < MinTokenLimit {
			return Invalid(lim.param, "Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", lim.param, MinTokenLimit, *lim.v)
		}
	}
	if o.TruncationStrategy != nil {
		if err := o.TruncationStrategy.Validate("truncation_strategy"); err != nil {
			return err
		}
	}
	if o.ResponseFormat != nil {
		if err := o.ResponseFormat.Validate("response_format"); err != nil {
			return err
		}
	}
	return nil
}

// NewRun builds a queued run from the assistant and the request's
// overrides. additional, when non-empty, is appended to the instructions.
func (o RunOptions) NewRun(id, threadID string, a *Assistant, additional *string, createdAt, expiresAt int64) *Run {
	run := &Run{
		ID: id, Object: "thread.run", CreatedAt: createdAt, ThreadID: threadID, AssistantID: a.ID,
		Status: RunQueued, ExpiresAt: &expiresAt, Model: a.Model, Tools: a.Tools, Metadata: o.Metadata,
		Temperature: a.Temperature, TopP: a.TopP, MaxPromptTokens: o.MaxPromptTokens,
		MaxCompletionTokens: o.MaxCompletionTokens, TruncationStrategy: TruncationStrategy{Type: TruncationAuto},
		ToolChoice: ToolChoice{Mode: ToolChoiceAuto}, ParallelToolCalls: true,
		ResponseFormat: ResponseFormat{Type: ResponseFormatAuto}, ReasoningEffort: a.ReasoningEffort,
	}
	if a.Instructions != nil {
		run.Instructions = *a.Instructions
	}
	if a.ResponseFormat != nil {
		run.ResponseFormat = *a.ResponseFormat
	}
	if o.Model != nil {
		run.Model = *o.Model
	}
	if o.ReasoningEffort != nil {
		run.ReasoningEffort = o.ReasoningEffort
	}
	if o.Instructions != nil {
		run.Instructions = *o.Instructions
	}
	if additional != nil && *additional != "" {
		if run.Instructions != "" {
			run.Instructions += "\n\n"
		}
		run.Instructions += *additional
	}
	if o.Tools != nil {
		run.Tools = *o.Tools
	}
	if run.Tools == nil {
		run.Tools = []Tool{}
	}
	if run.Metadata == nil {
		run.Metadata = Metadata{}
	}
	if o.Temperature != nil {
		run.Temperature = o.Temperature
	}
	if o.TopP != nil {
		run.TopP = o.TopP
	}
	if run.Temperature == nil {
		one := 1.0
		run.Temperature = &one
	}
	if run.TopP == nil {
		one := 1.0
		run.TopP = &one
	}
	if o.TruncationStrategy != nil {
		run.TruncationStrategy = *o.TruncationStrategy
	}
	if o.ToolChoice != nil {
		run.ToolChoice = *o.ToolChoice
	}
	if o.ParallelToolCalls != nil {
		run.ParallelToolCalls = *o.ParallelToolCalls
	}
	if o.ResponseFormat != nil {
		run.ResponseFormat = *o.ResponseFormat
	}
	return run
}

// ThreadAndRunCreateRequest is the body of POST /v1/threads/runs.
type ThreadAndRunCreateRequest struct {
	AssistantID   string               `json:"assistant_id"`
	Thread        *ThreadCreateRequest `json:"thread"`
	ToolResources *ToolResources       `json:"tool_resources"`
	RunOptions
}

// Validate checks every field's shape.
func (r *ThreadAndRunCreateRequest) Validate() error {
	if r.AssistantID == "" {
		return Invalid("assistant_id", "Missing required parameter: 'assistant_id'.")
	}
	if r.Thread != nil {
		if err := r.Thread.validate("thread."); err != nil {
			return err
		}
	}
	if r.ToolResources != nil {
		if err := r.ToolResources.Validate("tool_resources", false); err != nil {
			return err
		}
	}
	return r.RunOptions.Validate()
}

// RunModifyRequest is the body of POST /v1/threads/{tid}/runs/{id}.
type RunModifyRequest struct {
	Metadata Field[Metadata] `json:"metadata"`
}

// Validate checks the metadata.
func (r *RunModifyRequest) Validate() error {
	return r.Metadata.Value.Validate("metadata")
}

// SubmitToolOutputsRequest is the body of .../submit_tool_outputs.
type SubmitToolOutputsRequest struct {
	ToolOutputs []ToolOutput `json:"tool_outputs"`
	Stream      *bool        `json:"stream"`
}

// ToolOutput answers one function call.
type ToolOutput struct {
	ToolCallID *string `json:"tool_call_id"`
	Output     *string `json:"output"`
}

// Validate checks the outputs against the calls the run is waiting for:
// every call answered exactly once, no unknown ids.
func (r *SubmitToolOutputsRequest) Validate(pending []RequiredToolCall) error {
	if r.ToolOutputs == nil {
		return Invalid("tool_outputs", "Missing required parameter: 'tool_outputs'.")
	}
	want := make(map[string]bool, len(pending))
	for _, c := range pending {
		want[c.ID] = true
	}
	seen := make(map[string]bool, len(r.ToolOutputs))
	for i, o := range r.ToolOutputs {
		param := fmt.Sprintf("tool_outputs[%d]", i)
		if o.ToolCallID == nil || *o.ToolCallID == "" {
			return Invalid(param+".tool_call_id", "Missing required parameter: '%s.tool_call_id'.", param)
		}
		id := *o.ToolCallID
		if !want[id] {
			return Invalid(param+".tool_call_id", "Invalid '%s.tool_call_id': no tool call with id '%s' is awaiting output.", param, id)
		}
		if seen[id] {
			return Invalid(param+".tool_call_id", "Invalid '%s.tool_call_id': duplicate output for tool call '%s'.", param, id)
		}
		seen[id] = true
	}
	for _, c := range pending {
		if !seen[c.ID] {
			return Invalid("tool_outputs", "Expected tool outputs for call_ids %s, got %s.", callIDs(pending), submittedIDs(r.ToolOutputs))
		}
	}
	return nil
}

func callIDs(calls []RequiredToolCall) string {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func submittedIDs(outs []ToolOutput) string {
	ids := make([]string, 0, len(outs))
	for _, o := range outs {
		if o.ToolCallID != nil {
			ids = append(ids, *o.ToolCallID)
		}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}
