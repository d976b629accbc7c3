package llm

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Counter counts tokens offline with tiktoken encodings, to budget context
// windows before a call. Codecs are loaded once per encoding and shared;
// a Counter is safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	codecs map[tokenizer.Encoding]tokenizer.Codec
}

// NewCounter returns an empty Counter; codecs load on first use.
func NewCounter() *Counter {
	return &Counter{codecs: map[tokenizer.Encoding]tokenizer.Codec{}}
}

// encodingFor picks o200k_base for the GPT-4o generation and later, and
// cl100k_base otherwise (also a fair estimate for non-OpenAI models).
func encodingFor(model string) tokenizer.Encoding {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 { // "openai/gpt-4o" on routers
		m = m[i+1:]
	}
	for _, p := range []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(m, p) {
			return tokenizer.O200kBase
		}
	}
	return tokenizer.Cl100kBase
}

func (c *Counter) codec(enc tokenizer.Encoding) tokenizer.Codec {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cd, ok := c.codecs[enc]; ok {
		return cd
	}
	cd, err := tokenizer.Get(enc)
	if err != nil {
		return nil // both encodings are compiled in; cannot happen
	}
	c.codecs[enc] = cd
	return cd
}

// CountTokens returns the number of tokens text takes for model. If the
// text cannot be tokenized it falls back to a rough 4 bytes per token.
func (c *Counter) CountTokens(model, text string) int {
	if text == "" {
		return 0
	}
	cd := c.codec(encodingFor(model))
	if cd != nil {
		if n, err := cd.Count(text); err == nil {
			return n
		}
	}
	return (len(text) + 3) / 4
}

// Per-message overheads from OpenAI's token-counting cookbook.
const (
	tokensPerMessage = 3
	tokensPerReply   = 3
	// tokensPerImage is a flat estimate: image cost depends on size and
	// detail, which are unknown here.
	tokensPerImage = 765
)

// CountMessages estimates the prompt tokens of msgs plus tools the way
// OpenAI's cookbook does: 3 tokens per message, its role and content, 3
// more priming the reply; tool calls and tool definitions count as their
// JSON.
func (c *Counter) CountMessages(model string, msgs []Message, tools []Tool) int {
	n := 0
	for _, m := range msgs {
		n += tokensPerMessage
		n += c.CountTokens(model, m.Role)
		for _, p := range m.Parts {
			switch p.Type {
			case PartText:
				n += c.CountTokens(model, p.Text)
			case PartImage:
				n += tokensPerImage
			}
		}
		for _, tc := range m.ToolCalls {
			n += c.CountTokens(model, tc.ID) + c.CountTokens(model, tc.Name) + c.CountTokens(model, tc.Arguments)
		}
		if m.ToolCallID != "" {
			n += c.CountTokens(model, m.ToolCallID)
		}
	}
	for _, t := range tools {
		def := struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Parameters  json.RawMessage `json:"parameters,omitempty"`
		}{t.Name, t.Description, t.Parameters}
		b, err := json.Marshal(def)
		if err != nil { // invalid Parameters JSON: count what we have
			b = []byte(t.Name + t.Description + string(t.Parameters))
		}
		n += c.CountTokens(model, string(b))
	}
	return n + tokensPerReply
}
