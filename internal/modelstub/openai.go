package modelstub

import (
	"context"
	"net/http"
	"time"
)

// systemFingerprint is sent in every Chat Completions object.
const systemFingerprint = "fp_modelstub"

func openAIFinish(f int) string {
	switch f {
	case finishToolCalls:
		return "tool_calls"
	case finishLength:
		return "length"
	}
	return "stop"
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usageOf(c *conversation, p *plan) openAIUsage {
	in, out := c.promptTokens(), p.completionTokens()
	return openAIUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

func modelName(c *conversation) string {
	if c.model == "" {
		return "modelstub"
	}
	return c.model
}

// writeOpenAI answers a Chat Completions request.
func (s *Server) writeOpenAI(ctx context.Context, w http.ResponseWriter, c *conversation, p *plan) {
	id := "chatcmpl-" + randomID(29)
	created := time.Now().Unix()
	w.Header().Set("X-Request-Id", "req_"+randomID(24))
	if c.stream {
		s.streamOpenAI(ctx, w, c, p, id, created)
		return
	}
	if p.malformed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"id": "` + id + `", "object": "chat.completion", "choices": [`))
		return
	}
	// A non-streamed reply takes as long as streaming it would.
	if !newPacer(p.tps).wait(ctx, p.completionTokens()-1) {
		return
	}
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil, "annotations": []any{}}
	if text := p.text(); text != "" {
		msg["content"] = text
	}
	if len(p.calls) > 0 {
		var calls []map[string]any
		for _, tc := range p.calls {
			calls = append(calls, map[string]any{
				"id": tc.id, "type": "function",
				"function": map[string]string{"name": tc.name, "arguments": tc.args},
			})
		}
		msg["tool_calls"] = calls
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 id,
		"object":             "chat.completion",
		"created":            created,
		"model":              modelName(c),
		"system_fingerprint": systemFingerprint,
		"choices": []map[string]any{{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": openAIFinish(p.finish),
		}},
		"usage": usageOf(c, p),
	})
}

func (s *Server) streamOpenAI(ctx context.Context, w http.ResponseWriter, c *conversation, p *plan, id string, created int64) {
	sse := startSSE(w)
	if p.malformed {
		sse.send("", []byte(`{"id": "`+id+`", "object": "chat.completion.chunk", "choices": [{`))
		return
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		ch := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created,
			"model": modelName(c), "system_fingerprint": systemFingerprint,
			"choices": []map[string]any{{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
		if c.includeUsage {
			ch["usage"] = nil
		}
		return ch
	}
	first := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if len(p.textTokens) > 0 {
		first["content"] = ""
	}
	if !sse.send("", chunk(first, nil)) {
		return
	}
	pace := newPacer(p.tps)
	i := 0
	text, err := newTemplate(chunk(map[string]any{"content": templateHole}, nil))
	if err != nil {
		sse.err = err
		return
	}
	for _, tok := range p.textTokens {
		if !pace.wait(ctx, i) || !sse.send("", text.fill(tok)) {
			return
		}
		i++
	}
	for n, tc := range p.calls {
		head := map[string]any{"tool_calls": []map[string]any{{
			"index": n, "id": tc.id, "type": "function",
			"function": map[string]string{"name": tc.name, "arguments": ""},
		}}}
		if !sse.send("", chunk(head, nil)) {
			return
		}
		for _, piece := range tc.pieces {
			delta := map[string]any{"tool_calls": []map[string]any{{
				"index": n, "function": map[string]string{"arguments": piece},
			}}}
			if !pace.wait(ctx, i) || !sse.send("", chunk(delta, nil)) {
				return
			}
			i++
		}
	}
	if !sse.send("", chunk(map[string]any{}, openAIFinish(p.finish))) {
		return
	}
	if c.includeUsage {
		u := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created,
			"model": modelName(c), "system_fingerprint": systemFingerprint,
			"choices": []any{}, "usage": usageOf(c, p),
		}
		if !sse.send("", u) {
			return
		}
	}
	sse.send("", []byte("[DONE]"))
}
