package modelstub

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// conversation is a request reduced to what the script looks at, the same
// for both wires.
type conversation struct {
	wire   string
	model  string
	system string
	// lastRole is "user", "tool", "assistant" or "system".
	lastRole string
	// lastUser is the text of the last user message with text.
	lastUser string
	// lastToolResult is the last tool result's text.
	lastToolResult string
	hasToolResult  bool
	tools          []string
	// promptChars counts the characters of all the request's text.
	promptChars int
	// maxTokens caps the completion; 0 is no cap.
	maxTokens    int
	stream       bool
	includeUsage bool
}

func (c *conversation) offersTool(name string) bool { return slices.Contains(c.tools, name) }

// promptTokens estimates the prompt's tokens: ceil(characters/4).
func (c *conversation) promptTokens() int { return (c.promptChars + 3) / 4 }

func (c *conversation) count(s string) { c.promptChars += utf8.RuneCountInString(s) }

// expand replaces the placeholders in a reply text.
func (c *conversation) expand(s string) string {
	return strings.NewReplacer(
		"{{last_user}}", c.lastUser,
		"{{last_tool_result}}", c.lastToolResult,
		"{{model}}", c.model,
	).Replace(s)
}

// expandJSON replaces the placeholders inside the strings of a JSON text,
// escaping the values so that the JSON stays valid.
func (c *conversation) expandJSON(s string) string {
	esc := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	}
	return strings.NewReplacer(
		"{{last_user}}", esc(c.lastUser),
		"{{last_tool_result}}", esc(c.lastToolResult),
		"{{model}}", esc(c.model),
	).Replace(s)
}

// splitWords cuts text into word-sized tokens, each a run of spaces and the
// word after it, so that the tokens join back into text.
func splitWords(text string) []string {
	var out []string
	start := 0
	inWord := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if space && inWord {
			out = append(out, text[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// splitBytes cuts s into pieces of at most n bytes, on rune boundaries.
func splitBytes(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// openAIRequest is the part of a Chat Completions request the stub reads.
type openAIRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		ToolCalls []struct {
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom struct {
			Name string `json:"name"`
		} `json:"custom"`
	} `json:"tools"`
	Functions []struct {
		Name string `json:"name"`
	} `json:"functions"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
}

func parseOpenAI(body []byte) (*conversation, error) {
	var req openAIRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %v", err)
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("'messages' must be a non-empty array")
	}
	c := &conversation{model: req.Model, stream: req.Stream}
	if req.StreamOptions != nil {
		c.includeUsage = req.StreamOptions.IncludeUsage
	}
	if req.MaxCompletionTokens != nil {
		c.maxTokens = *req.MaxCompletionTokens
	} else if req.MaxTokens != nil {
		c.maxTokens = *req.MaxTokens
	}
	for _, t := range req.Tools {
		switch {
		case t.Function.Name != "":
			c.tools = append(c.tools, t.Function.Name)
		case t.Custom.Name != "":
			c.tools = append(c.tools, t.Custom.Name)
		}
	}
	for _, f := range req.Functions {
		c.tools = append(c.tools, f.Name)
	}
	var system []string
	for i, m := range req.Messages {
		text, err := openAIContentText(m.Content)
		if err != nil {
			return nil, fmt.Errorf("messages[%d].content: %v", i, err)
		}
		c.count(text)
		for _, tc := range m.ToolCalls {
			c.count(tc.Function.Name)
			c.count(tc.Function.Arguments)
		}
		role := m.Role
		switch role {
		case "system", "developer":
			system = append(system, text)
			role = "system"
		case "user":
			c.lastUser = text
		case "tool", "function":
			role = "tool"
			c.lastToolResult, c.hasToolResult = text, true
		case "assistant":
		default:
			return nil, fmt.Errorf("messages[%d].role: unknown role %q", i, m.Role)
		}
		c.lastRole = role
	}
	c.system = strings.Join(system, "\n")
	return c, nil
}

// openAIContentText is the text of a message content: a string, null, or an
// array of parts whose text parts are joined.
func openAIContentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("want a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.Type {
		case "text":
			b.WriteString(p.Text)
		case "refusal":
			b.WriteString(p.Refusal)
		}
	}
	return b.String(), nil
}

// anthropicRequest is the part of a Messages request the stub reads.
type anthropicRequest struct {
	Model    string          `json:"model"`
	System   json.RawMessage `json:"system"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	MaxTokens int  `json:"max_tokens"`
	Stream    bool `json:"stream"`
}

// anthropicBlock is one content block of any type.
type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

func parseAnthropic(body []byte) (*conversation, error) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %v", err)
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("messages: at least one message is required")
	}
	c := &conversation{model: req.Model, stream: req.Stream, maxTokens: req.MaxTokens}
	for _, t := range req.Tools {
		c.tools = append(c.tools, t.Name)
	}
	sys, err := anthropicBlocks(req.System)
	if err != nil {
		return nil, fmt.Errorf("system: %v", err)
	}
	var systemText []string
	for _, b := range sys {
		systemText = append(systemText, b.Text)
		c.count(b.Text)
	}
	c.system = strings.Join(systemText, "\n")
	for i, m := range req.Messages {
		blocks, err := anthropicBlocks(m.Content)
		if err != nil {
			return nil, fmt.Errorf("messages.%d.content: %v", i, err)
		}
		if m.Role != "user" && m.Role != "assistant" {
			return nil, fmt.Errorf("messages.%d.role: unexpected role %q", i, m.Role)
		}
		role := m.Role
		var text strings.Builder
		hasText := false
		for _, b := range blocks {
			switch b.Type {
			case "text":
				text.WriteString(b.Text)
				hasText = true
				c.count(b.Text)
			case "tool_use":
				c.count(b.Name)
				c.count(string(b.Input))
			case "tool_result":
				inner, err := anthropicBlocks(b.Content)
				if err != nil {
					return nil, fmt.Errorf("messages.%d.content: tool_result content: %v", i, err)
				}
				var rt strings.Builder
				for _, ib := range inner {
					if ib.Type == "text" {
						rt.WriteString(ib.Text)
					}
				}
				c.lastToolResult, c.hasToolResult = rt.String(), true
				c.count(rt.String())
				role = "tool"
			}
		}
		if m.Role == "user" && hasText {
			c.lastUser = text.String()
		}
		c.lastRole = role
	}
	return c, nil
}

// anthropicBlocks reads content that is a string (one text block), null, or
// an array of blocks.
func anthropicBlocks(raw json.RawMessage) ([]anthropicBlock, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []anthropicBlock{{Type: "text", Text: s}}, nil
	}
	var blocks []anthropicBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, errors.New("want a string or an array of content blocks")
	}
	return blocks, nil
}
