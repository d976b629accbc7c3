package llm

import (
	"encoding/json"
	"sync"
	"testing"
)

func TestCountTokens(t *testing.T) {
	c := NewCounter()
	for _, model := range []string{"gpt-4o", "gpt-4", "claude-sonnet-4-5", "o3-mini", "gpt-5"} {
		if n := c.CountTokens(model, "hello world"); n != 2 {
			t.Errorf("%s: %d tokens", model, n)
		}
	}
	if c.CountTokens("gpt-4o", "") != 0 {
		t.Error("empty text")
	}
	if encodingFor("gpt-4o-mini") != "o200k_base" || encodingFor("openai/gpt-4.1") != "o200k_base" || encodingFor("gpt-3.5-turbo") != "cl100k_base" || encodingFor("llama3") != "cl100k_base" {
		t.Error("encoding choice")
	}
	// The encodings differ on longer text, which shows both are in use.
	s := "Die Straßenbahn fährt über die Brücke — 東京タワーは赤いです。"
	if c.CountTokens("gpt-4o", s) == c.CountTokens("gpt-4", s) {
		t.Error("o200k_base and cl100k_base agree on multilingual text; is one encoding used for both?")
	}
}

func TestCountMessages(t *testing.T) {
	c := NewCounter()
	msgs := []Message{TextMessage(RoleSystem, "hello world"), TextMessage(RoleUser, "hello world")}
	// Per message: 3 + role (1) + "hello world" (2); plus 3 for the reply.
	if n := c.CountMessages("gpt-4o", msgs, nil); n != 2*(3+1+2)+3 {
		t.Fatalf("got %d", n)
	}
	tool := Tool{Name: "get_weather", Description: "Weather for a city", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	def, _ := json.Marshal(map[string]any{"name": tool.Name, "description": tool.Description, "parameters": tool.Parameters})
	withTool := c.CountMessages("gpt-4o", msgs, []Tool{tool})
	if got, want := withTool-c.CountMessages("gpt-4o", msgs, nil), c.CountTokens("gpt-4o", string(def)); got != want {
		t.Fatalf("tool counted as %d tokens, its JSON is %d", got, want)
	}

	// Concurrent use shares one codec per encoding.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.CountMessages("gpt-4", msgs, []Tool{tool})
			_ = c.CountTokens("gpt-4o-mini", "hello world")
		}()
	}
	wg.Wait()
	if len(c.codecs) != 2 {
		t.Fatalf("%d codecs cached", len(c.codecs))
	}
}
