package schema

import "fmt"

// RunV1 is the v1 shape of a run: no token limits, truncation, tool_choice
// or response_format; retrieval instead of file_search; file_ids.
type RunV1 struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	CreatedAt      int64           `json:"created_at"`
	ThreadID       string          `json:"thread_id"`
	AssistantID    string          `json:"assistant_id"`
	Status         string          `json:"status"`
	RequiredAction *RequiredAction `json:"required_action"`
	LastError      *LastError      `json:"last_error"`
	ExpiresAt      *int64          `json:"expires_at"`
	StartedAt      *int64          `json:"started_at"`
	CancelledAt    *int64          `json:"cancelled_at"`
	FailedAt       *int64          `json:"failed_at"`
	CompletedAt    *int64          `json:"completed_at"`
	Model          string          `json:"model"`
	Instructions   string          `json:"instructions"`
	Tools          []Tool          `json:"tools"`
	FileIDs        []string        `json:"file_ids"`
	Metadata       Metadata        `json:"metadata"`
	Usage          *Usage          `json:"usage"`
	Temperature    *float64        `json:"temperature"`
}

// V1 renders the run for a v1 client. The run does not record the
// assistant's files, so file_ids is empty.
func (r *Run) V1() *RunV1 {
	return &RunV1{
		ID: r.ID, Object: r.Object, CreatedAt: r.CreatedAt, ThreadID: r.ThreadID, AssistantID: r.AssistantID,
		Status: r.Status, RequiredAction: r.RequiredAction, LastError: r.LastError, ExpiresAt: r.ExpiresAt,
		StartedAt: r.StartedAt, CancelledAt: r.CancelledAt, FailedAt: r.FailedAt, CompletedAt: r.CompletedAt,
		Model: r.Model, Instructions: r.Instructions, Tools: toolsToV1(r.Tools), FileIDs: []string{},
		Metadata: r.Metadata, Usage: r.Usage, Temperature: r.Temperature,
	}
}

// V1 renders the step for a v1 client: file_search calls are retrieval.
func (s *RunStep) V1() *RunStep {
	if s.StepDetails.Type != StepToolCalls {
		return s
	}
	out := *s
	out.StepDetails.ToolCalls = make([]ToolCall, len(s.StepDetails.ToolCalls))
	for i, c := range s.StepDetails.ToolCalls {
		if c.Type == ToolFileSearch {
			c = ToolCall{ID: c.ID, Type: ToolRetrieval, Retrieval: &struct{}{}}
		}
		out.StepDetails.ToolCalls[i] = c
	}
	return &out
}

// RunCreateRequestV1 is the v1 create-run body.
type RunCreateRequestV1 struct {
	AssistantID            string                   `json:"assistant_id"`
	AdditionalInstructions *string                  `json:"additional_instructions"`
	AdditionalMessages     []MessageCreateRequestV1 `json:"additional_messages"`
	v1RunOptions
}

// v1RunOptions are the run settings v1 knew.
type v1RunOptions struct {
	Model        *string  `json:"model"`
	Instructions *string  `json:"instructions"`
	Tools        *[]Tool  `json:"tools"`
	Metadata     Metadata `json:"metadata"`
	Temperature  *float64 `json:"temperature"`
	Stream       *bool    `json:"stream"`
}

func (o v1RunOptions) v2() RunOptions {
	return RunOptions{Model: o.Model, Instructions: o.Instructions, Metadata: o.Metadata, Temperature: o.Temperature, Stream: o.Stream}
}

// V2 translates the request to the native form.
func (r *RunCreateRequestV1) V2() (*RunCreateRequest, error) {
	out := &RunCreateRequest{AssistantID: r.AssistantID, AdditionalInstructions: r.AdditionalInstructions,
		RunOptions: r.v1RunOptions.v2()}
	if r.Tools != nil {
		tools, err := ToolsFromV1(*r.Tools, "tools")
		if err != nil {
			return nil, err
		}
		if tools == nil {
			tools = []Tool{}
		}
		out.Tools = &tools
	}
	for i := range r.AdditionalMessages {
		m, err := r.AdditionalMessages[i].v2(fmt.Sprintf("additional_messages[%d].", i))
		if err != nil {
			return nil, err
		}
		out.AdditionalMessages = append(out.AdditionalMessages, *m)
	}
	return out, nil
}

// ThreadAndRunCreateRequestV1 is the v1 create-thread-and-run body.
type ThreadAndRunCreateRequestV1 struct {
	AssistantID string                 `json:"assistant_id"`
	Thread      *ThreadCreateRequestV1 `json:"thread"`
	v1RunOptions
}

// V2 translates the request to the native form.
func (r *ThreadAndRunCreateRequestV1) V2() (*ThreadAndRunCreateRequest, error) {
	out := &ThreadAndRunCreateRequest{AssistantID: r.AssistantID, RunOptions: r.v1RunOptions.v2()}
	if r.Tools != nil {
		tools, err := ToolsFromV1(*r.Tools, "tools")
		if err != nil {
			return nil, err
		}
		if tools == nil {
			tools = []Tool{}
		}
		out.Tools = &tools
	}
	if r.Thread != nil {
		t, err := r.Thread.V2()
		if err != nil {
			return nil, err
		}
		out.Thread = t
	}
	return out, nil
}
