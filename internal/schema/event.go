package schema

// Stream event names (the SSE "event:" field).
const (
	EventThreadCreated = "thread.created"

	EventRunCreated        = "thread.run.created"
	EventRunQueued         = "thread.run.queued"
	EventRunInProgress     = "thread.run.in_progress"
	EventRunRequiresAction = "thread.run.requires_action"
	EventRunCompleted      = "thread.run.completed"
	EventRunIncomplete     = "thread.run.incomplete"
	EventRunFailed         = "thread.run.failed"
	EventRunCancelling     = "thread.run.cancelling"
	EventRunCancelled      = "thread.run.cancelled"
	EventRunExpired        = "thread.run.expired"

	EventStepCreated    = "thread.run.step.created"
	EventStepInProgress = "thread.run.step.in_progress"
	EventStepDelta      = "thread.run.step.delta"
	EventStepCompleted  = "thread.run.step.completed"
	EventStepFailed     = "thread.run.step.failed"
	EventStepCancelled  = "thread.run.step.cancelled"
	EventStepExpired    = "thread.run.step.expired"

	EventMessageCreated    = "thread.message.created"
	EventMessageInProgress = "thread.message.in_progress"
	EventMessageDelta      = "thread.message.delta"
	EventMessageCompleted  = "thread.message.completed"
	EventMessageIncomplete = "thread.message.incomplete"

	EventError = "error"
	EventDone  = "done"
)

// RunEventName is the event announcing a run in status.
func RunEventName(status string) string { return "thread.run." + status }

// StepEventName is the event announcing a step in status.
func StepEventName(status string) string { return "thread.run.step." + status }

// MessageEventName is the event announcing a message in status.
func MessageEventName(status string) string { return "thread.message." + status }

// Event is one server-sent event: Data is the JSON payload (an object of
// this package), or nil for done.
type Event struct {
	Name string
	Data any
}

// MessageDelta is the "thread.message.delta" payload.
type MessageDelta struct {
	ID     string           `json:"id"`
	Object string           `json:"object"`
	Delta  MessageDeltaBody `json:"delta"`
}

// MessageDeltaBody holds the changed fields.
type MessageDeltaBody struct {
	Role    string             `json:"role,omitempty"`
	Content []MessageDeltaPart `json:"content,omitempty"`
}

// MessageDeltaPart is one content part's change; Index is its position.
type MessageDeltaPart struct {
	Index     int        `json:"index"`
	Type      string     `json:"type"`
	Text      *TextDelta `json:"text,omitempty"`
	ImageFile *ImageFile `json:"image_file,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
}

// TextDelta is appended text and any new annotations.
type TextDelta struct {
	Value       *string           `json:"value,omitempty"`
	Annotations []AnnotationDelta `json:"annotations"`
}

// AnnotationDelta is an annotation with its index in the text's list.
type AnnotationDelta struct {
	Index int `json:"index"`
	Annotation
}

// NewTextDelta builds a message delta appending value to part index.
func NewTextDelta(messageID string, index int, value string) *MessageDelta {
	return &MessageDelta{ID: messageID, Object: "thread.message.delta", Delta: MessageDeltaBody{
		Content: []MessageDeltaPart{{Index: index, Type: ContentText, Text: &TextDelta{Value: &value, Annotations: []AnnotationDelta{}}}},
	}}
}

// RunStepDelta is the "thread.run.step.delta" payload.
type RunStepDelta struct {
	ID     string           `json:"id"`
	Object string           `json:"object"`
	Delta  RunStepDeltaBody `json:"delta"`
}

// RunStepDeltaBody holds the changed step details.
type RunStepDeltaBody struct {
	StepDetails StepDetailsDelta `json:"step_details"`
}

// StepDetailsDelta is the tool_calls delta form.
type StepDetailsDelta struct {
	Type      string          `json:"type"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a change to tool call Index.
type ToolCallDelta struct {
	Index           int                       `json:"index"`
	ID              string                    `json:"id,omitempty"`
	Type            string                    `json:"type"`
	Function        *FunctionToolCallDelta    `json:"function,omitempty"`
	CodeInterpreter *CodeInterpreterCallDelta `json:"code_interpreter,omitempty"`
	FileSearch      *struct{}                 `json:"file_search,omitempty"`
	Retrieval       *struct{}                 `json:"retrieval,omitempty"`
}

// FunctionToolCallDelta carries a function call's name and argument chunks.
type FunctionToolCallDelta struct {
	Name      string  `json:"name,omitempty"`
	Arguments string  `json:"arguments"`
	Output    *string `json:"output"`
}

// CodeInterpreterCallDelta carries code input chunks and new outputs.
type CodeInterpreterCallDelta struct {
	Input   string            `json:"input,omitempty"`
	Outputs []CodeOutputDelta `json:"outputs,omitempty"`
}

// CodeOutputDelta is a new output with its index.
type CodeOutputDelta struct {
	Index int `json:"index"`
	CodeOutput
}
