package modelstub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// Script decides the server's replies: the first rule whose Match holds
// answers; when none does, Default answers, and when Default is nil the
// built-in default echoes the conversation ("You said: {{last_user}}", or
// "Tool said: {{last_tool_result}}" after a tool result).
//
// A Script must not be modified after it is passed to New.
type Script struct {
	Rules   []Rule `json:"rules,omitempty"`
	Default *Reply `json:"default,omitempty"`
}

// Rule pairs a condition with the reply it selects.
type Rule struct {
	Match Match `json:"match"`
	Reply Reply `json:"reply"`
}

// Match is a rule's condition. Every field is optional and every field set
// must hold; the zero Match matches every request. The *_contains fields are
// case-insensitive substring tests.
type Match struct {
	// UserContains is a substring of the text of the last user message
	// (Anthropic tool_result blocks are not user text).
	UserContains string `json:"user_contains,omitempty"`
	// LastRole is the role of the last message: "user", "tool" or
	// "assistant". An Anthropic user message carrying a tool_result block
	// counts as "tool".
	LastRole string `json:"last_role,omitempty"`
	// ToolAvailable is the name of a function/tool the request offers.
	ToolAvailable string `json:"tool_available,omitempty"`
	// ToolResultContains is a substring of the last tool result.
	ToolResultContains string `json:"tool_result_contains,omitempty"`
	// Model is a path.Match glob on the requested model ("gpt-4o*").
	Model string `json:"model,omitempty"`
	// SystemContains is a substring of the system prompt (OpenAI system and
	// developer messages, Anthropic system).
	SystemContains string `json:"system_contains,omitempty"`
}

// Reply is what a rule answers.
//
// Precedence: while FailTimes has not been used up the request gets Error;
// after that (or when FailTimes is 0 and Error is set, every time) Error
// answers; otherwise Hang, then Malformed, then the normal reply: Text
// (or the echo_json object) followed by ToolCalls. A reply with no text, no
// tool calls and no echo_json uses the default text.
type Reply struct {
	// Text is the assistant text. The placeholders {{last_user}},
	// {{last_tool_result}} and {{model}} are replaced by the request's
	// values; they are also replaced inside the string values of tool call
	// arguments.
	Text string `json:"text,omitempty"`
	// ToolCalls are function calls made after the text; several are
	// parallel calls.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// Error answers with an HTTP error in the wire's own error format.
	Error *ErrorReply `json:"error,omitempty"`
	// FailTimes makes the first FailTimes requests that select this reply
	// get Error (a 500 when Error is nil); later requests get the normal
	// reply. The count is kept per Server and cleared by Reset.
	FailTimes int `json:"fail_times,omitempty"`
	// Malformed answers 200 with a stream (or body) that is not JSON, then
	// closes.
	Malformed bool `json:"malformed,omitempty"`
	// Hang accepts the request and never answers, until the client goes
	// away or the Server is closed.
	Hang bool `json:"hang,omitempty"`
	// Truncate ends the reply after the text with finish_reason "length"
	// (Anthropic stop_reason "max_tokens"); tool calls are dropped.
	Truncate bool `json:"truncate,omitempty"`
	// EchoJSON replaces the text by the JSON object {"echo": last user text}.
	EchoJSON bool `json:"echo_json,omitempty"`
	// Latency, when set, overrides Options.Latency for this reply. In JSON:
	// a Go duration string ("250ms") or a number of seconds.
	Latency *Duration `json:"latency,omitempty"`
	// TokensPerSecond, when set, overrides Options.TokensPerSecond.
	TokensPerSecond *float64 `json:"tokens_per_second,omitempty"`
}

// ToolCall is one scripted function call.
type ToolCall struct {
	Name string `json:"name"`
	// Arguments is a JSON object; absent means {}.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ErrorReply is a scripted HTTP error.
type ErrorReply struct {
	// Status is the HTTP status, 400 to 599.
	Status int `json:"status"`
	// Message is the error message; a generic one is used when empty.
	Message string `json:"message,omitempty"`
	// RetryAfter, in seconds, sets the Retry-After header (rounded up to
	// whole seconds) and retry-after-ms (exact), which the SDKs prefer.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

// Duration is a time.Duration that reads from JSON as a Go duration string
// ("1.5s", "250ms") or a number of seconds.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\" or a number of seconds, got %s", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// ParseScript reads a Script from JSON. It is strict: unknown keys, trailing
// data and invalid values (a bad glob, a status outside 400-599, tool call
// arguments that are not an object...) are errors.
func ParseScript(data []byte) (*Script, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Script
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("modelstub: parse script: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("modelstub: parse script: trailing data after the script object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate reports the first invalid value in the script.
func (s *Script) Validate() error {
	for i := range s.Rules {
		if err := s.Rules[i].Match.validate(); err != nil {
			return fmt.Errorf("modelstub: rules[%d].match: %w", i, err)
		}
		if err := s.Rules[i].Reply.validate(); err != nil {
			return fmt.Errorf("modelstub: rules[%d].reply: %w", i, err)
		}
	}
	if s.Default != nil {
		if err := s.Default.validate(); err != nil {
			return fmt.Errorf("modelstub: default: %w", err)
		}
	}
	return nil
}

func (m *Match) validate() error {
	switch m.LastRole {
	case "", "user", "tool", "assistant":
	default:
		return fmt.Errorf("last_role %q: want \"user\", \"tool\" or \"assistant\"", m.LastRole)
	}
	if m.Model != "" {
		if _, err := path.Match(m.Model, ""); err != nil {
			return fmt.Errorf("model %q: %w", m.Model, err)
		}
	}
	return nil
}

func (r *Reply) validate() error {
	if r.FailTimes < 0 {
		return errors.New("fail_times must not be negative")
	}
	if r.Error != nil && (r.Error.Status < 400 || r.Error.Status > 599) {
		return fmt.Errorf("error.status %d: want 400 to 599", r.Error.Status)
	}
	if r.Error != nil && r.Error.RetryAfter < 0 {
		return errors.New("error.retry_after must not be negative")
	}
	if r.Hang && r.Malformed {
		return errors.New("hang and malformed are exclusive")
	}
	if r.Latency != nil && *r.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	if r.TokensPerSecond != nil && *r.TokensPerSecond < 0 {
		return errors.New("tokens_per_second must not be negative")
	}
	for i, tc := range r.ToolCalls {
		if strings.TrimSpace(tc.Name) == "" {
			return fmt.Errorf("tool_calls[%d].name is empty", i)
		}
		if len(tc.Arguments) > 0 {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(tc.Arguments, &obj); err != nil || obj == nil {
				return fmt.Errorf("tool_calls[%d].arguments must be a JSON object", i)
			}
		}
	}
	return nil
}

// matches reports whether m holds for the conversation.
func (m *Match) matches(c *conversation) bool {
	if m.UserContains != "" && !containsFold(c.lastUser, m.UserContains) {
		return false
	}
	if m.LastRole != "" && m.LastRole != c.lastRole {
		return false
	}
	if m.ToolAvailable != "" && !c.offersTool(m.ToolAvailable) {
		return false
	}
	if m.ToolResultContains != "" && (!c.hasToolResult || !containsFold(c.lastToolResult, m.ToolResultContains)) {
		return false
	}
	if m.Model != "" {
		if ok, _ := path.Match(m.Model, c.model); !ok {
			return false
		}
	}
	if m.SystemContains != "" && !containsFold(c.system, m.SystemContains) {
		return false
	}
	return true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
