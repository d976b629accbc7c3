package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Raw-HTTP helpers for the run tests: every call goes through the
// validating client, so each answer is also checked against the spec.

// newAssistant creates an assistant for key from a JSON body and returns
// its id.
func (h *harness) newAssistant(key, body string) string {
	h.t.Helper()
	return h.mustDo(200, "POST", "/v1/assistants", key, body).object(h.t)["id"].(string)
}

// newThread creates a thread holding one user message per text.
func (h *harness) newThread(key string, texts ...string) string {
	h.t.Helper()
	msgs := make([]map[string]any, len(texts))
	for i, t := range texts {
		msgs[i] = map[string]any{"role": "user", "content": t}
	}
	return h.mustDo(200, "POST", "/v1/threads", key, map[string]any{"messages": msgs}).object(h.t)["id"].(string)
}

// createRun posts a run (body is JSON) and returns it.
func (h *harness) createRun(key, threadID string, body any) map[string]any {
	h.t.Helper()
	return h.mustDo(200, "POST", "/v1/threads/"+threadID+"/runs", key, body).object(h.t)
}

func (h *harness) getRun(key, threadID, runID string) map[string]any {
	h.t.Helper()
	return h.mustDo(200, "GET", "/v1/threads/"+threadID+"/runs/"+runID, key, nil).object(h.t)
}

// waitRun polls the run until its status is one of want (or, with want
// empty, until it is neither queued, in_progress nor cancelling).
func (h *harness) waitRun(key, threadID, runID string, want ...string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		run := h.getRun(key, threadID, runID)
		st := run["status"].(string)
		if len(want) == 0 {
			switch st {
			case "queued", "in_progress", "cancelling":
			default:
				return run
			}
		}
		for _, w := range want {
			if st == w {
				return run
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s stays %s, want %v: %v", runID, st, want, run)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listAll returns the data of a list endpoint's first page (limit 100, asc).
func (h *harness) listAll(key, path string) []map[string]any {
	h.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var page struct {
		Data []map[string]any `json:"data"`
	}
	h.mustDo(200, "GET", path+sep+"limit=100&order=asc", key, nil).decode(h.t, &page)
	return page.Data
}

func (h *harness) messagesOf(key, threadID string) []map[string]any {
	h.t.Helper()
	return h.listAll(key, "/v1/threads/"+threadID+"/messages")
}

func (h *harness) stepsOf(key, threadID, runID string) []map[string]any {
	h.t.Helper()
	return h.listAll(key, "/v1/threads/"+threadID+"/runs/"+runID+"/steps")
}

// chatRequest is the part of a Chat Completions request the tests read.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools               []map[string]any `json:"tools"`
	ToolChoice          json.RawMessage  `json:"tool_choice"`
	ResponseFormat      map[string]any   `json:"response_format"`
	MaxCompletionTokens *int             `json:"max_completion_tokens"`
	Temperature         *float64         `json:"temperature"`
	ParallelToolCalls   *bool            `json:"parallel_tool_calls"`
}

// texts renders each message as "role: text".
func (c *chatRequest) texts() []string {
	out := make([]string, len(c.Messages))
	for i, m := range c.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) != nil {
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				s += p.Text
			}
		}
		out[i] = m.Role + ": " + s
	}
	return out
}

// chatRequests returns the Chat Completions requests the scripted model
// received, in order.
func (h *harness) chatRequests() []*chatRequest {
	h.t.Helper()
	var out []*chatRequest
	for _, r := range h.model.Requests() {
		if !strings.HasSuffix(strings.TrimSuffix(r.Path, "/"), "chat/completions") {
			continue
		}
		c := new(chatRequest)
		if err := json.Unmarshal(r.Body, c); err != nil {
			h.t.Fatalf("model request body: %v: %s", err, r.Body)
		}
		out = append(out, c)
	}
	return out
}

// errParam asserts an OpenAI error with status 400 naming param.
func (h *harness) errParam(r *response, param string) {
	h.t.Helper()
	if r.Status != 400 {
		h.t.Errorf("got %s, want 400 (param %q)", r, param)
		return
	}
	e := r.apiError(h.t)
	got := ""
	if e.Error.Param != nil {
		got = *e.Error.Param
	}
	if got != param {
		h.t.Errorf("error param %q, want %q: %s", got, param, r)
	}
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// dig follows keys (string keys, int indexes) into a decoded JSON value.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
