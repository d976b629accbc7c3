package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Tool types.
const (
	ToolCodeInterpreter = "code_interpreter"
	ToolFileSearch      = "file_search"
	ToolFunction        = "function"
	// ToolRetrieval is the v1 name of file_search; it exists only on the v1 wire.
	ToolRetrieval = "retrieval"
)

// Tool limits from the spec.
const (
	MaxAssistantTools = 128
	MaxRunTools       = 20
	MaxFunctionName   = 64
)

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Tool is one entry of an assistant's or run's tools list.
type Tool struct {
	Type       string            `json:"type"`
	FileSearch *FileSearchConfig `json:"file_search,omitempty"`
	Function   *FunctionDef      `json:"function,omitempty"`
}

// FileSearchConfig overrides the file_search tool's defaults.
type FileSearchConfig struct {
	MaxNumResults  *int            `json:"max_num_results,omitempty"`
	RankingOptions *RankingOptions `json:"ranking_options,omitempty"`
}

// RankingOptions tunes file_search ranking.
type RankingOptions struct {
	Ranker         string   `json:"ranker,omitempty"`
	ScoreThreshold *float64 `json:"score_threshold"`
}

// FunctionDef is a function tool's declaration.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description *string         `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// UnmarshalJSON decodes one tool strictly according to its type.
func (t *Tool) UnmarshalJSON(data []byte) error {
	var head struct {
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	var typ string
	if json.Unmarshal(head.Type, &typ) != nil {
		// Not a string: keep its text so Validate names tools[N].type.
		typ = string(head.Type)
	}
	switch typ {
	case ToolCodeInterpreter, ToolRetrieval:
		var v struct {
			Type string `json:"type"`
		}
		if err := DecodeStrict(data, &v); err != nil {
			return err
		}
		*t = Tool{Type: v.Type}
	case ToolFileSearch:
		var v struct {
			Type       string            `json:"type"`
			FileSearch *FileSearchConfig `json:"file_search"`
		}
		if err := DecodeStrict(data, &v); err != nil {
			return err
		}
		*t = Tool{Type: v.Type, FileSearch: v.FileSearch}
	case ToolFunction:
		var v struct {
			Type     string       `json:"type"`
			Function *FunctionDef `json:"function"`
		}
		if err := DecodeStrict(data, &v); err != nil {
			return err
		}
		*t = Tool{Type: v.Type, Function: v.Function}
	default:
		// Unknown or missing: Validate reports it with the tool's index.
		*t = Tool{Type: typ}
	}
	return nil
}

// Validate checks one tool's shape; param is its path, e.g. "tools[0]".
func (t Tool) Validate(param string) error {
	switch t.Type {
	case ToolCodeInterpreter:
	case ToolFileSearch:
		if fs := t.FileSearch; fs != nil {
			if n := fs.MaxNumResults; n != nil && (*n < 1 || *n > 50) {
				return Invalid(param+".file_search.max_num_results", "Invalid '%s.file_search.max_num_results': expected an integer between 1 and 50, got %d.", param, *n)
			}
			if ro := fs.RankingOptions; ro != nil {
				if ro.ScoreThreshold == nil {
					return Invalid(param+".file_search.ranking_options.score_threshold", "Missing required parameter: '%s.file_search.ranking_options.score_threshold'.", param)
				}
				if *ro.ScoreThreshold < 0 || *ro.ScoreThreshold > 1 {
					return Invalid(param+".file_search.ranking_options.score_threshold", "Invalid '%s.file_search.ranking_options.score_threshold': expected a number between 0 and 1.", param)
				}
				switch ro.Ranker {
				case "", "auto", "default_2024_08_21":
				default:
					return Invalid(param+".file_search.ranking_options.ranker", "Invalid '%s.file_search.ranking_options.ranker': expected 'auto' or 'default_2024_08_21'.", param)
				}
			}
		}
	case ToolFunction:
		f := t.Function
		if f == nil {
			return Invalid(param+".function", "Missing required parameter: '%s.function'.", param)
		}
		if f.Name == "" {
			return Invalid(param+".function.name", "Missing required parameter: '%s.function.name'.", param)
		}
		if !functionNameRE.MatchString(f.Name) {
			return Invalid(param+".function.name", "Invalid '%s.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' with at most %d characters.", param, MaxFunctionName)
		}
		if len(f.Parameters) > 0 && !isJSONObject(f.Parameters) {
			return Invalid(param+".function.parameters", "Invalid '%s.function.parameters': expected an object.", param)
		}
	case "":
		return Invalid(param+".type", "Missing required parameter: '%s.type'.", param)
	default:
		return Invalid(param+".type", "Invalid '%s.type': expected one of 'code_interpreter', 'file_search' or 'function', got %q.", param, t.Type)
	}
	return nil
}

// ValidateTools checks a tools list against maxItems and each tool's shape,
// and refuses two functions with the same name.
func ValidateTools(tools []Tool, param string, maxItems int) error {
	if len(tools) > maxItems {
		return Invalid(param, "Invalid '%s': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", param, maxItems, len(tools))
	}
	names := make(map[string]bool)
	for i, t := range tools {
		p := fmt.Sprintf("%s[%d]", param, i)
		if err := t.Validate(p); err != nil {
			return err
		}
		if t.Type == ToolFunction {
			if names[t.Function.Name] {
				return Invalid(p+".function.name", "Invalid '%s.function.name': duplicate function name %q.", p, t.Function.Name)
			}
			names[t.Function.Name] = true
		}
	}
	return nil
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}
