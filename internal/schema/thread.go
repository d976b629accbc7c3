package schema

import "fmt"

// Thread is the "thread" object.
type Thread struct {
	ID            string        `json:"id"`
	Object        string        `json:"object"`
	CreatedAt     int64         `json:"created_at"`
	ToolResources ToolResources `json:"tool_resources"`
	Metadata      Metadata      `json:"metadata"`
}

// ThreadCreateRequest is the body of POST /v1/threads (all optional).
type ThreadCreateRequest struct {
	Messages      []MessageCreateRequest `json:"messages"`
	ToolResources *ToolResources         `json:"tool_resources"`
	Metadata      Metadata               `json:"metadata"`
}

// Validate checks the initial messages, resources and metadata.
func (r *ThreadCreateRequest) Validate() error { return r.validate("") }

// validate names params under prefix ("thread." inside create-thread-and-run).
func (r *ThreadCreateRequest) validate(prefix string) error {
	for i := range r.Messages {
		if err := r.Messages[i].validate(fmt.Sprintf("%smessages[%d].", prefix, i)); err != nil {
			return err
		}
	}
	if r.ToolResources != nil {
		if err := r.ToolResources.Validate(prefix+"tool_resources", true); err != nil {
			return err
		}
	}
	return r.Metadata.Validate(prefix + "metadata")
}

// Thread builds the new object.
func (r *ThreadCreateRequest) Thread(id string, createdAt int64) *Thread {
	t := &Thread{ID: id, Object: "thread", CreatedAt: createdAt, Metadata: r.Metadata}
	if r.ToolResources != nil {
		t.ToolResources = r.ToolResources.Normalized()
	}
	return t
}

// ThreadModifyRequest is the body of POST /v1/threads/{id}.
type ThreadModifyRequest struct {
	ToolResources Field[ToolResources] `json:"tool_resources"`
	Metadata      Field[Metadata]      `json:"metadata"`
}

// Validate checks the present fields.
func (r *ThreadModifyRequest) Validate() error {
	if r.ToolResources.Set && !r.ToolResources.Null {
		if err := r.ToolResources.Value.Validate("tool_resources", false); err != nil {
			return err
		}
	}
	return r.Metadata.Value.Validate("metadata")
}

// Patch applies the present fields to t.
func (r *ThreadModifyRequest) Patch(t *Thread) {
	if r.ToolResources.Set {
		t.ToolResources = r.ToolResources.Value.Normalized()
	}
	if r.Metadata.Set {
		t.Metadata = r.Metadata.Value
	}
}
