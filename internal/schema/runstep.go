package schema

import "encoding/json"

// Run step types and statuses.
const (
	StepMessageCreation = "message_creation"
	StepToolCalls       = "tool_calls"

	StepInProgress = "in_progress"
	StepCancelled  = "cancelled"
	StepFailed     = "failed"
	StepCompleted  = "completed"
	StepExpired    = "expired"
)

// IncludeFileSearchContent is the only value include[] accepts.
const IncludeFileSearchContent = "step_details.tool_calls[*].file_search.results[*].content"

// RunStep is the "thread.run.step" object.
type RunStep struct {
	ID          string      `json:"id"`
	Object      string      `json:"object"`
	CreatedAt   int64       `json:"created_at"`
	AssistantID string      `json:"assistant_id"`
	ThreadID    string      `json:"thread_id"`
	RunID       string      `json:"run_id"`
	Type        string      `json:"type"`
	Status      string      `json:"status"`
	StepDetails StepDetails `json:"step_details"`
	LastError   *LastError  `json:"last_error"`
	ExpiredAt   *int64      `json:"expired_at"`
	CancelledAt *int64      `json:"cancelled_at"`
	FailedAt    *int64      `json:"failed_at"`
	CompletedAt *int64      `json:"completed_at"`
	Metadata    Metadata    `json:"metadata"`
	Usage       *Usage      `json:"usage"`
}

// Wire returns the step as clients see it: usage stays null while the step
// is in progress.
func (s *RunStep) Wire() *RunStep {
	if s.Usage == nil || s.Status != StepInProgress {
		return s
	}
	c := *s
	c.Usage = nil
	return &c
}

// StepDetails is message_creation {message_id} or tool_calls [...].
type StepDetails struct {
	Type            string
	MessageCreation *MessageCreation
	ToolCalls       []ToolCall
}

// MessageCreation names the message a step created.
type MessageCreation struct {
	MessageID string `json:"message_id"`
}

// MarshalJSON writes only the payload matching Type; tool_calls is
// always an array.
func (d StepDetails) MarshalJSON() ([]byte, error) {
	if d.Type == StepToolCalls {
		calls := d.ToolCalls
		if calls == nil {
			calls = []ToolCall{}
		}
		return json.Marshal(struct {
			Type      string     `json:"type"`
			ToolCalls []ToolCall `json:"tool_calls"`
		}{d.Type, calls})
	}
	mc := d.MessageCreation
	if mc == nil {
		mc = &MessageCreation{}
	}
	return json.Marshal(struct {
		Type            string           `json:"type"`
		MessageCreation *MessageCreation `json:"message_creation"`
	}{d.Type, mc})
}

// UnmarshalJSON reads what MarshalJSON writes (stored steps).
func (d *StepDetails) UnmarshalJSON(data []byte) error {
	var v struct {
		Type            string           `json:"type"`
		MessageCreation *MessageCreation `json:"message_creation"`
		ToolCalls       []ToolCall       `json:"tool_calls"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*d = StepDetails{Type: v.Type, MessageCreation: v.MessageCreation, ToolCalls: v.ToolCalls}
	return nil
}

// ToolCall is one call in a tool_calls step. Exactly one payload is set,
// matching Type ("retrieval" is the v1 name of file_search).
type ToolCall struct {
	ID              string               `json:"id"`
	Type            string               `json:"type"`
	Function        *FunctionToolCall    `json:"function,omitempty"`
	CodeInterpreter *CodeInterpreterCall `json:"code_interpreter,omitempty"`
	FileSearch      *FileSearchCall      `json:"file_search,omitempty"`
	Retrieval       *struct{}            `json:"retrieval,omitempty"`
}

// FunctionToolCall is a function call; Output stays null until submitted.
type FunctionToolCall struct {
	Name      string  `json:"name"`
	Arguments string  `json:"arguments"`
	Output    *string `json:"output"`
}

// CodeInterpreterCall is the code the model ran and what it produced.
type CodeInterpreterCall struct {
	Input   string       `json:"input"`
	Outputs []CodeOutput `json:"outputs"`
}

// CodeOutput is a logs or image output of the code interpreter.
type CodeOutput struct {
	Type  string    `json:"type"`
	Logs  *string   `json:"logs,omitempty"`
	Image *FilePath `json:"image,omitempty"`
}

// FileSearchCall records a search: its ranking options and results.
type FileSearchCall struct {
	// Query is what the model searched for: an addition to OpenAI's
	// object, so that what was retrieved, and why, can be inspected.
	Query          string                    `json:"query,omitempty"`
	RankingOptions *FileSearchRankingOptions `json:"ranking_options,omitempty"`
	Results        []FileSearchResult        `json:"results,omitempty"`
}

// FileSearchRankingOptions as reported on a file_search step.
type FileSearchRankingOptions struct {
	Ranker         string  `json:"ranker"`
	ScoreThreshold float64 `json:"score_threshold"`
}

// FileSearchResult is one retrieved chunk; Content is shown only when the
// request includes IncludeFileSearchContent.
type FileSearchResult struct {
	FileID   string              `json:"file_id"`
	FileName string              `json:"file_name"`
	Score    float64             `json:"score"`
	Content  []FileSearchContent `json:"content,omitempty"`
}

// FileSearchContent is the text of a result.
type FileSearchContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// WithoutFileSearchContent returns a copy of the step with result content
// removed, as answered when include[] does not ask for it.
func (s *RunStep) WithoutFileSearchContent() *RunStep {
	if s.StepDetails.Type != StepToolCalls {
		return s
	}
	out := *s
	out.StepDetails.ToolCalls = make([]ToolCall, len(s.StepDetails.ToolCalls))
	for i, c := range s.StepDetails.ToolCalls {
		if c.FileSearch != nil && len(c.FileSearch.Results) > 0 {
			fs := *c.FileSearch
			fs.Results = make([]FileSearchResult, len(c.FileSearch.Results))
			for j, r := range c.FileSearch.Results {
				r.Content = nil
				fs.Results[j] = r
			}
			c.FileSearch = &fs
		}
		out.StepDetails.ToolCalls[i] = c
	}
	return &out
}
