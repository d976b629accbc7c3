package schema

import "unicode/utf8"

// Assistant field limits from the spec.
const (
	MaxNameLen         = 256
	MaxDescriptionLen  = 512
	MaxInstructionsLen = 256000
)

// Assistant is the "assistant" object.
type Assistant struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	CreatedAt       int64           `json:"created_at"`
	Name            *string         `json:"name"`
	Description     *string         `json:"description"`
	Model           string          `json:"model"`
	Instructions    *string         `json:"instructions"`
	Tools           []Tool          `json:"tools"`
	ToolResources   ToolResources   `json:"tool_resources"`
	Metadata        Metadata        `json:"metadata"`
	Temperature     *float64        `json:"temperature"`
	TopP            *float64        `json:"top_p"`
	ResponseFormat  *ResponseFormat `json:"response_format"`
	ReasoningEffort *string         `json:"reasoning_effort,omitempty"`
}

// AssistantCreateRequest is the body of POST /v1/assistants.
type AssistantCreateRequest struct {
	Model           *string         `json:"model"`
	Name            *string         `json:"name"`
	Description     *string         `json:"description"`
	Instructions    *string         `json:"instructions"`
	ReasoningEffort *string         `json:"reasoning_effort"`
	Tools           []Tool          `json:"tools"`
	ToolResources   *ToolResources  `json:"tool_resources"`
	Metadata        Metadata        `json:"metadata"`
	Temperature     *float64        `json:"temperature"`
	TopP            *float64        `json:"top_p"`
	ResponseFormat  *ResponseFormat `json:"response_format"`
}

// Validate checks every field against the spec's limits.
func (r *AssistantCreateRequest) Validate() error {
	if r.Model == nil || *r.Model == "" {
		return Invalid("model", "Missing required parameter: 'model'.")
	}
	return validateAssistantFields(r.Name, r.Description, r.Instructions, r.ReasoningEffort, r.Tools, r.ToolResources, r.Metadata, r.Temperature, r.TopP, r.ResponseFormat, true)
}

// Assistant builds the new object.
func (r *AssistantCreateRequest) Assistant(id string, createdAt int64) *Assistant {
	a := &Assistant{
		ID: id, Object: "assistant", CreatedAt: createdAt,
		Name: r.Name, Description: r.Description, Model: *r.Model, Instructions: r.Instructions,
		Tools: r.Tools, Metadata: r.Metadata, Temperature: r.Temperature, TopP: r.TopP,
		ResponseFormat: r.ResponseFormat, ReasoningEffort: r.ReasoningEffort,
	}
	if a.Tools == nil {
		a.Tools = []Tool{}
	}
	if r.ToolResources != nil {
		a.ToolResources = r.ToolResources.Normalized()
	}
	a.applySamplingDefaults()
	return a
}

// applySamplingDefaults fills what OpenAI reports for unset sampling fields:
// temperature 1, top_p 1 and response_format "auto".
func (a *Assistant) applySamplingDefaults() {
	if a.Temperature == nil {
		one := 1.0
		a.Temperature = &one
	}
	if a.TopP == nil {
		one := 1.0
		a.TopP = &one
	}
	if a.ResponseFormat == nil {
		a.ResponseFormat = &ResponseFormat{Type: ResponseFormatAuto}
	}
}

// AssistantModifyRequest is the body of POST /v1/assistants/{id}.
type AssistantModifyRequest struct {
	Model           Field[string]         `json:"model"`
	Name            Field[string]         `json:"name"`
	Description     Field[string]         `json:"description"`
	Instructions    Field[string]         `json:"instructions"`
	ReasoningEffort Field[string]         `json:"reasoning_effort"`
	Tools           Field[[]Tool]         `json:"tools"`
	ToolResources   Field[ToolResources]  `json:"tool_resources"`
	Metadata        Field[Metadata]       `json:"metadata"`
	Temperature     Field[float64]        `json:"temperature"`
	TopP            Field[float64]        `json:"top_p"`
	ResponseFormat  Field[ResponseFormat] `json:"response_format"`
}

// Validate checks the fields that are present.
func (r *AssistantModifyRequest) Validate() error {
	if r.Model.Set && (r.Model.Null || r.Model.Value == "") {
		return Invalid("model", "Invalid 'model': expected a non-empty string.")
	}
	var md Metadata
	if r.Metadata.Set {
		md = r.Metadata.Value
	}
	return validateAssistantFields(r.Name.Ptr(), r.Description.Ptr(), r.Instructions.Ptr(), r.ReasoningEffort.Ptr(), r.Tools.Value, r.ToolResources.Ptr(), md, r.Temperature.Ptr(), r.TopP.Ptr(), r.ResponseFormat.Ptr(), false)
}

// Patch applies the present fields to a. Lists given replace the stored ones.
func (r *AssistantModifyRequest) Patch(a *Assistant) {
	if r.Model.Set {
		a.Model = r.Model.Value
	}
	patchPtr(&a.Name, r.Name)
	patchPtr(&a.Description, r.Description)
	patchPtr(&a.Instructions, r.Instructions)
	patchPtr(&a.ReasoningEffort, r.ReasoningEffort)
	patchPtr(&a.Temperature, r.Temperature)
	patchPtr(&a.TopP, r.TopP)
	patchPtr(&a.ResponseFormat, r.ResponseFormat)
	a.applySamplingDefaults()
	if r.Tools.Set {
		a.Tools = r.Tools.Value
		if a.Tools == nil {
			a.Tools = []Tool{}
		}
	}
	if r.ToolResources.Set {
		a.ToolResources = r.ToolResources.Value.Normalized()
	}
	if r.Metadata.Set {
		a.Metadata = r.Metadata.Value
	}
}

func patchPtr[T any](dst **T, f Field[T]) {
	if f.Set {
		*dst = f.Ptr()
	}
}

func isReasoningEffort(e string) bool {
	switch e {
	case "none", "minimal", "low", "medium", "high", "xhigh", "max":
		return true
	}
	return false
}

func validateAssistantFields(name, description, instructions, effort *string, tools []Tool, res *ToolResources, md Metadata, temperature, topP *float64, rf *ResponseFormat, allowHelper bool) error {
	if err := validateLen("name", name, MaxNameLen); err != nil {
		return err
	}
	if err := validateLen("description", description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := validateLen("instructions", instructions, MaxInstructionsLen); err != nil {
		return err
	}
	if effort != nil && !isReasoningEffort(*effort) {
		return Invalid("reasoning_effort", "Invalid 'reasoning_effort': expected one of none, minimal, low, medium, high, xhigh or max, got %q.", *effort)
	}
	if err := ValidateTools(tools, "tools", MaxAssistantTools); err != nil {
		return err
	}
	if res != nil {
		if err := res.Validate("tool_resources", allowHelper); err != nil {
			return err
		}
	}
	if err := md.Validate("metadata"); err != nil {
		return err
	}
	if err := ValidateSampling(temperature, topP); err != nil {
		return err
	}
	if rf != nil {
		if err := rf.Validate("response_format"); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSampling checks temperature (0..2) and top_p (0..1).
func ValidateSampling(temperature, topP *float64) error {
	if temperature != nil && (*temperature < 0 || *temperature > 2) {
		return Invalid("temperature", "Invalid 'temperature': expected a number between 0 and 2, got %g.", *temperature)
	}
	if topP != nil && (*topP < 0 || *topP > 1) {
		return Invalid("top_p", "Invalid 'top_p': expected a number between 0 and 1, got %g.", *topP)
	}
	return nil
}

func validateLen(param string, s *string, max int) error {
	if s == nil {
		return nil
	}
	if n := utf8.RuneCountInString(*s); n > max {
		return Invalid(param, "Invalid '%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", param, max, n)
	}
	return nil
}

// DeletedObject is the body answered by a delete.
type DeletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}
