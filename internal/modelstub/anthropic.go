package modelstub

import (
	"context"
	"encoding/json"
	"net/http"
)

func anthropicStop(f int) string {
	switch f {
	case finishToolCalls:
		return "tool_use"
	case finishLength:
		return "max_tokens"
	}
	return "end_turn"
}

func anthropicUsage(in, out int) map[string]any {
	return map[string]any{
		"input_tokens": in, "output_tokens": out,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
	}
}

// writeAnthropic answers a Messages request.
func (s *Server) writeAnthropic(ctx context.Context, w http.ResponseWriter, c *conversation, p *plan) {
	id := "msg_01" + randomID(22)
	w.Header().Set("Request-Id", "req_"+randomID(24))
	if c.stream {
		s.streamAnthropic(ctx, w, c, p, id)
		return
	}
	if p.malformed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"id": "` + id + `", "type": "message", "content": [`))
		return
	}
	if !newPacer(p.tps).wait(ctx, p.completionTokens()-1) {
		return
	}
	content := []map[string]any{}
	if text := p.text(); text != "" {
		content = append(content, map[string]any{"type": "text", "text": text})
	}
	for _, tc := range p.calls {
		content = append(content, map[string]any{
			"type": "tool_use", "id": tc.id, "name": tc.name, "input": json.RawMessage(tc.args),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": modelName(c),
		"content": content, "stop_reason": anthropicStop(p.finish), "stop_sequence": nil,
		"usage": anthropicUsage(c.promptTokens(), p.completionTokens()),
	})
}

func (s *Server) streamAnthropic(ctx context.Context, w http.ResponseWriter, c *conversation, p *plan, id string) {
	sse := startSSE(w)
	if p.malformed {
		sse.send("message_start", []byte(`{"type": "message_start", "message": {"id": "`+id+`"`))
		return
	}
	ok := sse.send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": modelName(c),
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": anthropicUsage(c.promptTokens(), 1),
	}}) && sse.send("ping", map[string]string{"type": "ping"})
	if !ok {
		return
	}
	pace := newPacer(p.tps)
	i, index := 0, 0
	if len(p.textTokens) > 0 {
		if !sse.send("content_block_start", map[string]any{
			"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""},
		}) {
			return
		}
		text, err := newTemplate(map[string]any{
			"type": "content_block_delta", "index": index,
			"delta": map[string]string{"type": "text_delta", "text": templateHole},
		})
		if err != nil {
			sse.err = err
			return
		}
		for _, tok := range p.textTokens {
			if !pace.wait(ctx, i) || !sse.send("content_block_delta", text.fill(tok)) {
				return
			}
			i++
		}
		if !sse.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}) {
			return
		}
		index++
	}
	for _, tc := range p.calls {
		if !sse.send("content_block_start", map[string]any{
			"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": tc.id, "name": tc.name, "input": map[string]any{}},
		}) {
			return
		}
		for _, piece := range tc.pieces {
			if !pace.wait(ctx, i) || !sse.send("content_block_delta", map[string]any{
				"type": "content_block_delta", "index": index,
				"delta": map[string]string{"type": "input_json_delta", "partial_json": piece},
			}) {
				return
			}
			i++
		}
		if !sse.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}) {
			return
		}
		index++
	}
	_ = sse.send("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": anthropicStop(p.finish), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": p.completionTokens()},
	}) && sse.send("message_stop", map[string]string{"type": "message_stop"})
}
