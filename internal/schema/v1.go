package schema

import "fmt"

// The v1 dialect (OpenAI-Beta: assistants=v1) is served by translation:
//   - assistant file_ids ↔ tool_resources.code_interpreter.file_ids;
//   - the retrieval tool ↔ file_search;
//   - message file_ids ↔ attachments for both code_interpreter and
//     file_search (v1 files were open to every tool).
// Objects are stored in v2 shape; the v1 views below are what v1 clients see.

// MaxV1AssistantFiles and MaxV1MessageFiles are v1's file_ids limits.
const (
	MaxV1AssistantFiles = 20
	MaxV1MessageFiles   = 10
)

// AssistantV1 is the v1 "assistant" object.
type AssistantV1 struct {
	ID           string   `json:"id"`
	Object       string   `json:"object"`
	CreatedAt    int64    `json:"created_at"`
	Name         *string  `json:"name"`
	Description  *string  `json:"description"`
	Model        string   `json:"model"`
	Instructions *string  `json:"instructions"`
	Tools        []Tool   `json:"tools"`
	FileIDs      []string `json:"file_ids"`
	Metadata     Metadata `json:"metadata"`
}

// V1 renders the assistant in v1 shape.
func (a *Assistant) V1() *AssistantV1 {
	files := []string{}
	if a.ToolResources.CodeInterpreter != nil {
		files = append(files, a.ToolResources.CodeInterpreter.FileIDs...)
	}
	return &AssistantV1{
		ID: a.ID, Object: a.Object, CreatedAt: a.CreatedAt, Name: a.Name, Description: a.Description,
		Model: a.Model, Instructions: a.Instructions, Tools: toolsToV1(a.Tools), FileIDs: files, Metadata: a.Metadata,
	}
}

func toolsToV1(tools []Tool) []Tool {
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		if t.Type == ToolFileSearch {
			t = Tool{Type: ToolRetrieval}
		}
		out = append(out, t)
	}
	return out
}

// ToolsFromV1 maps retrieval to file_search and refuses v2-only tools' v2
// names where v1 had none (file_search did not exist in v1).
func ToolsFromV1(tools []Tool, param string) ([]Tool, error) {
	if tools == nil {
		return nil, nil
	}
	out := make([]Tool, 0, len(tools))
	for i, t := range tools {
		switch t.Type {
		case ToolRetrieval:
			t = Tool{Type: ToolFileSearch}
		case ToolFileSearch:
			return nil, Invalid(fmt.Sprintf("%s[%d].type", param, i), "Invalid '%s[%d].type': 'file_search' is not a v1 tool; use 'retrieval' or send 'OpenAI-Beta: assistants=v2'.", param, i)
		}
		out = append(out, t)
	}
	return out, nil
}

// RejectV2Retrieval refuses the v1-only retrieval tool on the v2 wire.
func RejectV2Retrieval(tools []Tool, param string) error {
	for i, t := range tools {
		if t.Type == ToolRetrieval {
			return Invalid(fmt.Sprintf("%s[%d].type", param, i), "Invalid '%s[%d].type': 'retrieval' is a v1 tool; use 'file_search' with 'OpenAI-Beta: assistants=v2' or send 'OpenAI-Beta: assistants=v1'.", param, i)
		}
	}
	return nil
}

// AssistantCreateRequestV1 is the v1 create body.
type AssistantCreateRequestV1 struct {
	Model        *string  `json:"model"`
	Name         *string  `json:"name"`
	Description  *string  `json:"description"`
	Instructions *string  `json:"instructions"`
	Tools        []Tool   `json:"tools"`
	FileIDs      []string `json:"file_ids"`
	Metadata     Metadata `json:"metadata"`
}

// V2 translates the request to the native form.
func (r *AssistantCreateRequestV1) V2() (*AssistantCreateRequest, error) {
	tools, err := ToolsFromV1(r.Tools, "tools")
	if err != nil {
		return nil, err
	}
	if len(r.FileIDs) > MaxV1AssistantFiles {
		return nil, Invalid("file_ids", "Invalid 'file_ids': array too long. Expected an array with maximum length %d.", MaxV1AssistantFiles)
	}
	out := &AssistantCreateRequest{
		Model: r.Model, Name: r.Name, Description: r.Description, Instructions: r.Instructions,
		Tools: tools, Metadata: r.Metadata,
	}
	if r.FileIDs != nil {
		out.ToolResources = &ToolResources{CodeInterpreter: &CodeInterpreterResources{FileIDs: r.FileIDs}}
	}
	return out, nil
}

// AssistantModifyRequestV1 is the v1 modify body.
type AssistantModifyRequestV1 struct {
	Model        Field[string]   `json:"model"`
	Name         Field[string]   `json:"name"`
	Description  Field[string]   `json:"description"`
	Instructions Field[string]   `json:"instructions"`
	Tools        Field[[]Tool]   `json:"tools"`
	FileIDs      Field[[]string] `json:"file_ids"`
	Metadata     Field[Metadata] `json:"metadata"`
}

// V2 translates the request to the native form.
func (r *AssistantModifyRequestV1) V2() (*AssistantModifyRequest, error) {
	out := &AssistantModifyRequest{
		Model: r.Model, Name: r.Name, Description: r.Description, Instructions: r.Instructions,
		Metadata: r.Metadata,
	}
	if r.Tools.Set {
		tools, err := ToolsFromV1(r.Tools.Value, "tools")
		if err != nil {
			return nil, err
		}
		out.Tools = Field[[]Tool]{Set: true, Null: r.Tools.Null, Value: tools}
	}
	if r.FileIDs.Set {
		if len(r.FileIDs.Value) > MaxV1AssistantFiles {
			return nil, Invalid("file_ids", "Invalid 'file_ids': array too long. Expected an array with maximum length %d.", MaxV1AssistantFiles)
		}
		ids := r.FileIDs.Value
		if ids == nil {
			ids = []string{}
		}
		out.ToolResources = Field[ToolResources]{Set: true, Value: ToolResources{CodeInterpreter: &CodeInterpreterResources{FileIDs: ids}}}
	}
	return out, nil
}

// ThreadV1 is the v1 "thread" object.
type ThreadV1 struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"`
	CreatedAt int64    `json:"created_at"`
	Metadata  Metadata `json:"metadata"`
}

// V1 renders the thread in v1 shape.
func (t *Thread) V1() *ThreadV1 {
	return &ThreadV1{ID: t.ID, Object: t.Object, CreatedAt: t.CreatedAt, Metadata: t.Metadata}
}

// ThreadCreateRequestV1 is the v1 create-thread body.
type ThreadCreateRequestV1 struct {
	Messages []MessageCreateRequestV1 `json:"messages"`
	Metadata Metadata                 `json:"metadata"`
}

// V2 translates the request to the native form.
func (r *ThreadCreateRequestV1) V2() (*ThreadCreateRequest, error) {
	out := &ThreadCreateRequest{Metadata: r.Metadata}
	for i := range r.Messages {
		m, err := r.Messages[i].v2(fmt.Sprintf("messages[%d].", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, *m)
	}
	return out, nil
}

// ThreadModifyRequestV1 is the v1 modify-thread body.
type ThreadModifyRequestV1 struct {
	Metadata Field[Metadata] `json:"metadata"`
}

// V2 translates the request to the native form.
func (r *ThreadModifyRequestV1) V2() *ThreadModifyRequest {
	return &ThreadModifyRequest{Metadata: r.Metadata}
}

// MessageV1 is the v1 "thread.message" object.
type MessageV1 struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	CreatedAt   int64         `json:"created_at"`
	ThreadID    string        `json:"thread_id"`
	Role        string        `json:"role"`
	Content     []ContentPart `json:"content"`
	AssistantID *string       `json:"assistant_id"`
	RunID       *string       `json:"run_id"`
	FileIDs     []string      `json:"file_ids"`
	Metadata    Metadata      `json:"metadata"`
}

// V1 renders the message in v1 shape: attachments become file_ids and
// file citations carry v1's required quote.
func (m *Message) V1() *MessageV1 {
	files := make([]string, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		files = append(files, a.FileID)
	}
	content := make([]ContentPart, len(m.Content))
	for i, p := range m.Content {
		if p.Text != nil && len(p.Text.Annotations) > 0 {
			t := *p.Text
			t.Annotations = make([]Annotation, len(p.Text.Annotations))
			for j, a := range p.Text.Annotations {
				if a.FileCitation != nil && a.FileCitation.Quote == nil {
					fc := *a.FileCitation
					q := ""
					fc.Quote = &q
					a.FileCitation = &fc
				}
				t.Annotations[j] = a
			}
			p.Text = &t
		}
		content[i] = p
	}
	return &MessageV1{
		ID: m.ID, Object: m.Object, CreatedAt: m.CreatedAt, ThreadID: m.ThreadID, Role: m.Role,
		Content: content, AssistantID: m.AssistantID, RunID: m.RunID, FileIDs: files, Metadata: m.Metadata,
	}
}

// MessageCreateRequestV1 is the v1 create-message body.
type MessageCreateRequestV1 struct {
	Role     string               `json:"role"`
	Content  *MessageContentInput `json:"content"`
	FileIDs  []string             `json:"file_ids"`
	Metadata Metadata             `json:"metadata"`
}

// V2 translates the request to the native form.
func (r *MessageCreateRequestV1) V2() (*MessageCreateRequest, error) { return r.v2("") }

func (r *MessageCreateRequestV1) v2(prefix string) (*MessageCreateRequest, error) {
	if len(r.FileIDs) > MaxV1MessageFiles {
		return nil, Invalid(prefix+"file_ids", "Invalid '%sfile_ids': array too long. Expected an array with maximum length %d.", prefix, MaxV1MessageFiles)
	}
	out := &MessageCreateRequest{Role: r.Role, Content: r.Content, Metadata: r.Metadata}
	for _, id := range r.FileIDs {
		out.Attachments = append(out.Attachments, MessageAttachment{
			FileID: id,
			Tools:  []AttachmentTool{{Type: ToolCodeInterpreter}, {Type: ToolFileSearch}},
		})
	}
	return out, nil
}
