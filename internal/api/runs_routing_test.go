package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/modelstub"
)

// TestRunThroughAnthropic: a claude model routes to the Anthropic Messages
// wire; the function-calling loop works across it (tool_use → requires_action
// → tool_result → answer).
func TestRunThroughAnthropic(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(weatherScript()), withRouter(func(base string) *llm.RouterConfig {
		return &llm.RouterConfig{
			Providers: map[string]llm.ProviderConfig{"claude": {Type: llm.ProviderAnthropic, BaseURL: strings.TrimSuffix(base, "/v1")}},
			Models:    []llm.ModelRoute{{Match: "prefix:claude-", Provider: "claude"}},
		}
	}))
	asst := h.newAssistant(h.keyA, `{"model":"claude-sonnet-4","instructions":"Answer briefly.","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`)
	th := h.newThread(h.keyA, "What is the weather in Paris?")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "requires_action" {
		t.Fatalf("run: %v", run)
	}
	call := dig(run, "required_action", "submit_tool_outputs", "tool_calls", 0).(map[string]any)
	if dig(call, "function", "name") != "get_weather" || dig(call, "function", "arguments") != `{"city":"Paris"}` {
		t.Fatalf("call: %v", call)
	}
	h.mustDo(200, "POST", "/v1/threads/"+th+"/runs/"+id+"/submit_tool_outputs", h.keyA,
		map[string]any{"tool_outputs": []map[string]any{{"tool_call_id": call["id"], "output": "sunny"}}})
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	msgs := h.messagesOf(h.keyA, th)
	if got := str(dig(msgs[len(msgs)-1], "content", 0, "text", "value")); got != "The weather: sunny" {
		t.Errorf("answer %q", got)
	}
	reqs := h.model.Requests()
	if len(reqs) != 2 || reqs[0].Wire != modelstub.WireAnthropic || reqs[1].Wire != modelstub.WireAnthropic {
		t.Fatalf("requests: %d", len(reqs))
	}
	// The second turn carries the instructions as the system prompt and
	// the tool result as a tool_result block answering the tool_use id.
	var body struct {
		System   any `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	sys, _ := json.Marshal(body.System)
	last := body.Messages[len(body.Messages)-1]
	if !strings.Contains(string(sys), "Answer briefly.") || last.Role != "user" ||
		!strings.Contains(string(last.Content), `"tool_result"`) || !strings.Contains(string(last.Content), call["id"].(string)) {
		t.Errorf("second request: %s", reqs[1].Body)
	}
}

// TestRunFallsBackAfterTimeouts: a model that never answers times out on
// every attempt; the route's fallback model answers and the run completes.
// Without a fallback the run fails with server_error.
func TestRunFallsBackAfterTimeouts(t *testing.T) {
	t.Parallel()
	script := &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{Model: "slow-*"}, Reply: modelstub.Reply{Hang: true}},
	}}
	h := newHarness(t, withScript(script), withRouter(func(base string) *llm.RouterConfig {
		retries := 1
		return &llm.RouterConfig{
			Providers: map[string]llm.ProviderConfig{"stub": {Type: llm.ProviderOpenAI, BaseURL: base, Timeout: "300ms", MaxRetries: &retries}},
			Models: []llm.ModelRoute{
				{Match: "slow-a", Provider: "stub", Fallbacks: []string{"fast-b"}},
				{Match: "*", Provider: "stub"},
			},
		}
	}))
	asst := h.newAssistant(h.keyA, `{"model":"slow-a"}`)
	th := h.newThread(h.keyA, "hello")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	msgs := h.messagesOf(h.keyA, th)
	if got := str(dig(msgs[len(msgs)-1], "content", 0, "text", "value")); got != "You said: hello" {
		t.Errorf("answer %q", got)
	}
	var models []string
	for _, r := range h.model.Requests() {
		models = append(models, r.Model)
	}
	if strings.Join(models, ",") != "slow-a,slow-a,fast-b" {
		t.Errorf("model requests: %v", models)
	}

	// No fallback: the timeouts fail the run with a clear error.
	th2 := h.newThread(h.keyA, "hello")
	id2 := h.createRun(h.keyA, th2, map[string]any{"assistant_id": asst, "model": "slow-c"})["id"].(string)
	run = h.waitRun(h.keyA, th2, id2)
	if run["status"] != "failed" || dig(run, "last_error", "code") != "server_error" || !strings.Contains(str(dig(run, "last_error", "message")), "timeout") {
		t.Fatalf("run: %v", run)
	}
}
