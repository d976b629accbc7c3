// Package llm reaches chat models over their real wire protocols (OpenAI
// Chat Completions, Anthropic Messages) behind one interface, and routes
// model names to providers with retries and fallbacks.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Provider completes one chat turn. onDelta, when not nil, is called for
// each streamed piece in order (from the calling goroutine); the returned
// Response holds the whole turn. Errors are *Error when the cause is known.
type Provider interface {
	Complete(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error)
}

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Request is one chat turn, provider-neutral.
type Request struct {
	// Model is the name the client asked for; the router resolves it.
	Model    string
	Messages []Message
	Tools    []Tool
	// ToolChoice is "" (auto), "auto", "none", "required", or "function"
	// with ToolName set.
	ToolChoice        string
	ToolName          string
	ParallelToolCalls *bool
	Temperature       *float64
	TopP              *float64
	// MaxTokens caps the completion; nil leaves the provider's default.
	MaxTokens       *int
	ResponseFormat  *ResponseFormat
	ReasoningEffort string
}

// Message is one conversation entry. System messages carry Text only;
// assistant messages may carry ToolCalls; tool messages answer ToolCallID.
type Message struct {
	Role       string
	Parts      []Part
	ToolCalls  []ToolCall
	ToolCallID string
}

// Text returns a message's text parts joined.
func (m Message) Text() string {
	var s string
	for _, p := range m.Parts {
		if p.Type == PartText {
			s += p.Text
		}
	}
	return s
}

// Part types.
const (
	PartText  = "text"
	PartImage = "image"
)

// Part is text or an image (a URL, possibly a data: URL).
type Part struct {
	Type     string
	Text     string
	ImageURL string
	Detail   string
}

// TextMessage is a message with one text part.
func TextMessage(role, text string) Message {
	return Message{Role: role, Parts: []Part{{Type: PartText, Text: text}}}
}

// ToolCall is a function call the model made.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Tool is a function offered to the model.
type Tool struct {
	Name        string
	Description string
	// Parameters is a JSON Schema object; nil means no parameters.
	Parameters json.RawMessage
	Strict     bool
}

// ResponseFormat asks for JSON output.
type ResponseFormat struct {
	// Type is "text", "json_object" or "json_schema".
	Type   string
	Name   string
	Schema json.RawMessage
	Strict bool
}

// Delta is one streamed piece: text, or a piece of tool call Index.
type Delta struct {
	Text string
	// ToolCall is set for tool-call pieces: ID and Name arrive in the
	// first piece of a call, Arguments in pieces to concatenate.
	ToolCall *ToolCallDelta
}

// ToolCallDelta is a piece of one tool call.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// Finish reasons.
const (
	FinishStop      = "stop"
	FinishLength    = "length"
	FinishToolCalls = "tool_calls"
	FinishFilter    = "content_filter"
)

// Response is a whole turn.
type Response struct {
	Text         string
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
	// Model is the upstream model that answered (after routing/fallback).
	Model string
}

// Usage counts a turn's tokens.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Error kinds.
const (
	KindRateLimit  = "rate_limit"  // 429
	KindServer     = "server"      // 5xx, connection failures
	KindTimeout    = "timeout"     // no answer in time
	KindMalformed  = "malformed"   // the provider's answer could not be parsed
	KindBadRequest = "bad_request" // 4xx other than 429: the prompt or settings
	KindNoProvider = "no_provider" // no route for the model
	KindAuth       = "auth"        // 401/403
)

// Error is a provider failure with enough detail to decide on retries and
// to explain the failed run.
type Error struct {
	Kind       string
	StatusCode int
	Provider   string
	Model      string
	Message    string
}

func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s (model %q, provider %s, HTTP %d): %s", e.Kind, e.Model, e.Provider, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s (model %q, provider %s): %s", e.Kind, e.Model, e.Provider, e.Message)
}

// Retryable reports whether trying again (or another model) may succeed.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimit, KindServer, KindTimeout, KindMalformed:
		return true
	}
	return false
}

// ErrorKind returns err's Kind, or KindServer for unknown errors.
func ErrorKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindServer
}
