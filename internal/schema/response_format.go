package schema

import (
	"bytes"
	"encoding/json"
)

// Response format types.
const (
	ResponseFormatAuto       = "auto"
	ResponseFormatText       = "text"
	ResponseFormatJSONObject = "json_object"
	ResponseFormatJSONSchema = "json_schema"
)

// ResponseFormat is "auto" or {"type":"text"|"json_object"|"json_schema",...}.
type ResponseFormat struct {
	Type       string
	JSONSchema *JSONSchemaFormat
}

// JSONSchemaFormat configures Structured Outputs.
type JSONSchemaFormat struct {
	Name        string          `json:"name"`
	Description *string         `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// MarshalJSON encodes "auto" as a bare string and the rest as objects.
func (f ResponseFormat) MarshalJSON() ([]byte, error) {
	switch f.Type {
	case ResponseFormatAuto:
		return []byte(`"auto"`), nil
	case ResponseFormatJSONSchema:
		return json.Marshal(struct {
			Type       string            `json:"type"`
			JSONSchema *JSONSchemaFormat `json:"json_schema"`
		}{f.Type, f.JSONSchema})
	default:
		return json.Marshal(struct {
			Type string `json:"type"`
		}{f.Type})
	}
}

// UnmarshalJSON accepts the string "auto" or one of the object forms.
func (f *ResponseFormat) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if s != ResponseFormatAuto {
			return Invalid("response_format", "Invalid 'response_format': expected 'auto' or an object, got %q.", s)
		}
		*f = ResponseFormat{Type: ResponseFormatAuto}
		return nil
	}
	var v struct {
		Type       string            `json:"type"`
		JSONSchema *JSONSchemaFormat `json:"json_schema"`
	}
	if err := DecodeStrict(data, &v); err != nil {
		return err
	}
	*f = ResponseFormat{Type: v.Type, JSONSchema: v.JSONSchema}
	return nil
}

// Validate checks the format's type and, for json_schema, its name and schema.
func (f ResponseFormat) Validate(param string) error {
	switch f.Type {
	case ResponseFormatAuto, ResponseFormatText, ResponseFormatJSONObject:
		if f.JSONSchema != nil {
			return Invalid(param+".json_schema", "Invalid '%s.json_schema': only allowed when type is 'json_schema'.", param)
		}
	case ResponseFormatJSONSchema:
		js := f.JSONSchema
		if js == nil {
			return Invalid(param+".json_schema", "Missing required parameter: '%s.json_schema'.", param)
		}
		if !functionNameRE.MatchString(js.Name) {
			return Invalid(param+".json_schema.name", "Invalid '%s.json_schema.name': expected a string of a-z, A-Z, 0-9, '_' or '-' with at most 64 characters.", param)
		}
		if len(js.Schema) > 0 && !isJSONObject(js.Schema) {
			return Invalid(param+".json_schema.schema", "Invalid '%s.json_schema.schema': expected an object.", param)
		}
	default:
		return Invalid(param+".type", "Invalid '%s.type': expected one of 'text', 'json_object' or 'json_schema', got %q.", param, f.Type)
	}
	return nil
}
