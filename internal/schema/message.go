package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message statuses.
const (
	MessageStatusInProgress = "in_progress"
	MessageStatusIncomplete = "incomplete"
	MessageStatusCompleted  = "completed"
)

// Content part types.
const (
	ContentText      = "text"
	ContentImageFile = "image_file"
	ContentImageURL  = "image_url"
	ContentRefusal   = "refusal"
)

// Message is the "thread.message" object.
type Message struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	CreatedAt         int64               `json:"created_at"`
	ThreadID          string              `json:"thread_id"`
	Status            string              `json:"status"`
	IncompleteDetails *IncompleteDetails  `json:"incomplete_details"`
	CompletedAt       *int64              `json:"completed_at"`
	IncompleteAt      *int64              `json:"incomplete_at"`
	Role              string              `json:"role"`
	Content           []ContentPart       `json:"content"`
	AssistantID       *string             `json:"assistant_id"`
	RunID             *string             `json:"run_id"`
	Attachments       []MessageAttachment `json:"attachments"`
	Metadata          Metadata            `json:"metadata"`
}

// IncompleteDetails says why a message or run is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ContentPart is one element of a message's content. Exactly one of the
// payload fields is set, matching Type.
type ContentPart struct {
	Type      string     `json:"type"`
	Text      *Text      `json:"text,omitempty"`
	ImageFile *ImageFile `json:"image_file,omitempty"`
	ImageURL  *ImageURL  `json:"image_url,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
}

// Text is a text content part's payload.
type Text struct {
	Value       string       `json:"value"`
	Annotations []Annotation `json:"annotations"`
}

// Annotation marks a span of text that cites a file (file_citation) or links
// to a file the code interpreter wrote (file_path).
type Annotation struct {
	Type         string        `json:"type"`
	Text         string        `json:"text"`
	FileCitation *FileCitation `json:"file_citation,omitempty"`
	FilePath     *FilePath     `json:"file_path,omitempty"`
	StartIndex   int           `json:"start_index"`
	EndIndex     int           `json:"end_index"`
}

// FileCitation points at a cited file.
type FileCitation struct {
	FileID string `json:"file_id"`
	// Quote is v1 only.
	Quote *string `json:"quote,omitempty"`
}

// FilePath points at a generated file.
type FilePath struct {
	FileID string `json:"file_id"`
}

// ImageFile references an uploaded image.
type ImageFile struct {
	FileID string `json:"file_id"`
	Detail string `json:"detail,omitempty"`
}

// ImageURL references an image on the web.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// MessageAttachment is a file attached to a message and the tools it goes to.
type MessageAttachment struct {
	FileID string           `json:"file_id"`
	Tools  []AttachmentTool `json:"tools"`
}

// AttachmentTool names a tool an attachment is for.
type AttachmentTool struct {
	Type string `json:"type"`
}

// MessageContentInput is a create request's content: a string, or an array
// of text/image_file/image_url parts where text is a plain string.
type MessageContentInput struct {
	Parts []ContentPart
	// invalid holds a problem found while decoding. It is reported by
	// Validate rather than by UnmarshalJSON so that the param can carry the
	// caller's prefix (e.g. "messages[2].content[0].type" in a thread create).
	invalid *contentProblem
}

type contentProblem struct {
	rel    string // param relative to the message, e.g. "content[0].type"
	format string // message with one %s for the full param
	args   []any
}

func (c *MessageContentInput) fail(rel, format string, args ...any) error {
	c.Parts = nil
	c.invalid = &contentProblem{rel: rel, format: format, args: args}
	return nil
}

// problem returns the decoding problem, if any, as a ValidationError whose
// param starts with prefix.
func (c *MessageContentInput) problem(prefix string) error {
	if c.invalid == nil {
		return nil
	}
	param := prefix + c.invalid.rel
	return Invalid(param, c.invalid.format, append([]any{param}, c.invalid.args...)...)
}

// UnmarshalJSON decodes either form into output content parts.
func (c *MessageContentInput) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		c.Parts = []ContentPart{TextPart(s)}
		return nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return c.fail("content", "Invalid type for '%s': expected a string or an array of content parts, but got %s instead.", jsonKind(data))
	}
	parts := make([]ContentPart, 0, len(raws))
	for i, raw := range raws {
		rel := fmt.Sprintf("content[%d]", i)
		var head struct {
			Type *string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || bytes.TrimSpace(raw)[0] != '{' {
			return c.fail(rel, "Invalid type for '%s': expected an object, but got %s instead.", jsonKind(raw))
		}
		if head.Type == nil {
			return c.fail(rel+".type", "Missing required parameter: '%s'.")
		}
		var part ContentPart
		var err error
		switch *head.Type {
		case ContentText:
			var v struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			err = DecodeStrict(raw, &v)
			part = TextPart(v.Text)
		case ContentImageFile:
			var v struct {
				Type      string     `json:"type"`
				ImageFile *ImageFile `json:"image_file"`
			}
			err = DecodeStrict(raw, &v)
			part = ContentPart{Type: v.Type, ImageFile: v.ImageFile}
		case ContentImageURL:
			var v struct {
				Type     string    `json:"type"`
				ImageURL *ImageURL `json:"image_url"`
			}
			err = DecodeStrict(raw, &v)
			part = ContentPart{Type: v.Type, ImageURL: v.ImageURL}
		default:
			return c.fail(rel+".type", "Invalid value for '%s': expected one of 'text', 'image_file' or 'image_url', got %q.", *head.Type)
		}
		if err != nil {
			return c.failPart(rel, err)
		}
		parts = append(parts, part)
	}
	c.Parts = parts
	return nil
}

// failPart records why one content part did not decode, naming its field.
func (c *MessageContentInput) failPart(rel string, err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return c.fail(rel+"."+typ.Field, "Invalid type for '%s': expected %s, but got %s instead.", goKindName(typ), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return c.fail(rel+"."+strings.Trim(name, `"`), "Unrecognized request argument supplied: %s")
	}
	return c.fail(rel, "Invalid '%s': "+strings.ReplaceAll(err.Error(), "%", "%%")+".")
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func goKindName(e *json.UnmarshalTypeError) string {
	if e.Type == nil {
		return "a different type"
	}
	switch e.Type.Kind().String() {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64", "float32":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	}
	return "an object"
}

// TextPart makes a text content part with no annotations.
func TextPart(s string) ContentPart {
	return ContentPart{Type: ContentText, Text: &Text{Value: s, Annotations: []Annotation{}}}
}

// MessageCreateRequest is the body of POST /v1/threads/{id}/messages and an
// element of a thread create request's messages.
type MessageCreateRequest struct {
	Role        string               `json:"role"`
	Content     *MessageContentInput `json:"content"`
	Attachments []MessageAttachment  `json:"attachments"`
	Metadata    Metadata             `json:"metadata"`
}

// Limits on message content.
const (
	MaxMessageTextLen = 256000
	MaxAttachments    = 20
)

// Validate checks role, content and attachments.
func (r *MessageCreateRequest) Validate() error { return r.validate("") }

func (r *MessageCreateRequest) validate(prefix string) error {
	switch r.Role {
	case "user", "assistant":
	case "":
		return Invalid(prefix+"role", "Missing required parameter: '%srole'.", prefix)
	default:
		return Invalid(prefix+"role", "Invalid value: '%s'. Supported values are: 'user' and 'assistant'.", r.Role)
	}
	if r.Content == nil {
		return Invalid(prefix+"content", "Missing required parameter: '%scontent'.", prefix)
	}
	if err := r.Content.problem(prefix); err != nil {
		return err
	}
	if len(r.Content.Parts) == 0 {
		return Invalid(prefix+"content", "Invalid '%scontent': empty array. Expected an array with minimum length 1, but got an empty array instead.", prefix)
	}
	for i, p := range r.Content.Parts {
		param := fmt.Sprintf("%scontent[%d]", prefix, i)
		switch p.Type {
		case ContentText:
			if len([]rune(p.Text.Value)) > MaxMessageTextLen {
				return Invalid(param+".text", "Invalid '%s.text': string too long. Expected a string with maximum length %d.", param, MaxMessageTextLen)
			}
		case ContentImageFile:
			if p.ImageFile == nil || p.ImageFile.FileID == "" {
				return Invalid(param+".image_file.file_id", "Missing required parameter: '%s.image_file.file_id'.", param)
			}
			if err := validateDetail(param+".image_file.detail", p.ImageFile.Detail); err != nil {
				return err
			}
		case ContentImageURL:
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return Invalid(param+".image_url.url", "Missing required parameter: '%s.image_url.url'.", param)
			}
			if err := validateDetail(param+".image_url.detail", p.ImageURL.Detail); err != nil {
				return err
			}
		}
	}
	if len(r.Attachments) > MaxAttachments {
		return Invalid(prefix+"attachments", "Invalid '%sattachments': array too long. Expected an array with maximum length %d.", prefix, MaxAttachments)
	}
	for i, a := range r.Attachments {
		param := fmt.Sprintf("%sattachments[%d]", prefix, i)
		if a.FileID == "" {
			return Invalid(param+".file_id", "Missing required parameter: '%s.file_id'.", param)
		}
		for j, t := range a.Tools {
			if t.Type != ToolCodeInterpreter && t.Type != ToolFileSearch {
				return Invalid(fmt.Sprintf("%s.tools[%d].type", param, j), "Invalid '%s.tools[%d].type': expected 'code_interpreter' or 'file_search', got %q.", param, j, t.Type)
			}
		}
	}
	return r.Metadata.Validate(prefix + "metadata")
}

func validateDetail(param, d string) error {
	switch d {
	case "", "auto", "low", "high":
		return nil
	}
	return Invalid(param, "Invalid '%s': expected one of 'auto', 'low' or 'high', got %q.", param, d)
}

// FileIDs returns the ids of every file the request references.
func (r *MessageCreateRequest) FileIDs() []string {
	var ids []string
	for _, a := range r.Attachments {
		ids = append(ids, a.FileID)
	}
	if r.Content != nil {
		for _, p := range r.Content.Parts {
			if p.ImageFile != nil {
				ids = append(ids, p.ImageFile.FileID)
			}
		}
	}
	return ids
}

// Message builds a completed, user-authored (run_id null) message.
func (r *MessageCreateRequest) Message(id, threadID string, createdAt int64) *Message {
	atts := r.Attachments
	if atts == nil {
		atts = []MessageAttachment{}
	}
	for i := range atts {
		if atts[i].Tools == nil {
			atts[i].Tools = []AttachmentTool{}
		}
	}
	completed := createdAt
	return &Message{
		ID: id, Object: "thread.message", CreatedAt: createdAt, ThreadID: threadID,
		Status: MessageStatusCompleted, CompletedAt: &completed,
		Role: r.Role, Content: r.Content.Parts, Attachments: atts, Metadata: r.Metadata,
	}
}

// MessageModifyRequest is the body of POST /v1/threads/{tid}/messages/{mid}.
type MessageModifyRequest struct {
	Metadata Field[Metadata] `json:"metadata"`
}

// Validate checks the metadata.
func (r *MessageModifyRequest) Validate() error { return r.Metadata.Value.Validate("metadata") }

// Patch applies the metadata when given.
func (r *MessageModifyRequest) Patch(m *Message) {
	if r.Metadata.Set {
		m.Metadata = r.Metadata.Value
	}
}
