package api_test

import (
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/modelstub"
)

func TestRunMaxCompletionTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "long"}, Reply: modelstub.Reply{Text: "a partial answer", Truncate: true}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "write something long")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "max_completion_tokens": 256})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "incomplete" || dig(run, "incomplete_details", "reason") != "max_completion_tokens" || run["max_completion_tokens"] != 256.0 {
		t.Fatalf("run: %v", run)
	}
	msgs := h.listAll(h.keyA, "/v1/threads/"+th+"/messages?run_id="+id)
	if len(msgs) != 1 || msgs[0]["status"] != "incomplete" || dig(msgs[0], "incomplete_details", "reason") != "max_tokens" ||
		dig(msgs[0], "content", 0, "text", "value") != "a partial answer" {
		t.Errorf("messages: %v", msgs)
	}
	reqs := h.chatRequests()
	if len(reqs) != 1 || reqs[0].MaxCompletionTokens == nil || *reqs[0].MaxCompletionTokens != 256 {
		t.Errorf("model got max_completion_tokens %v", reqs)
	}
}

func TestRunMaxPromptTokensDropsOldest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","instructions":"Be brief."}`)
	old := strings.Repeat("history ", 120) // ~120 tokens each
	th := h.newThread(h.keyA, "first "+old, "second "+old, "third "+old, "latest question")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "max_prompt_tokens": 256})["id"].(string)
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	reqs := h.chatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests", len(reqs))
	}
	got := strings.Join(reqs[0].texts(), "\n")
	if !strings.Contains(got, "latest question") || !strings.HasPrefix(got, "system: Be brief.") {
		t.Errorf("prompt lost the instructions or the last message:\n%s", got)
	}
	if strings.Contains(got, "first history") || strings.Contains(got, "second history") {
		t.Errorf("oldest messages were not dropped:\n%.300s", got)
	}
	if n := len(reqs[0].Messages); n < 2 || n > 3 {
		t.Errorf("%d prompt messages", n)
	}
}

func TestRunMaxPromptTokensTooLong(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	th := h.newThread(h.keyA, "short", strings.Repeat("enormous ", 400))
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst, "max_prompt_tokens": 256})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "incomplete" || dig(run, "incomplete_details", "reason") != "max_prompt_tokens" {
		t.Fatalf("run: %v", run)
	}
	if n := len(h.chatRequests()); n != 0 {
		t.Errorf("the model was called %d times", n)
	}
	if msgs := h.messagesOf(h.keyA, th); len(msgs) != 2 {
		t.Errorf("messages: %d", len(msgs))
	}
}

func TestRunTruncationLastMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini","instructions":"Sys."}`)
	th := h.newThread(h.keyA, "one", "two", "three")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst,
		"truncation_strategy": map[string]any{"type": "last_messages", "last_messages": 1}})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "completed" || dig(run, "truncation_strategy", "last_messages") != 1.0 {
		t.Fatalf("run: %v", run)
	}
	reqs := h.chatRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests", len(reqs))
	}
	if got := strings.Join(reqs[0].texts(), "|"); got != "system: Sys.|user: three" {
		t.Errorf("prompt %q", got)
	}
}

func TestRunProviderFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withScript(&modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{UserContains: "boom"}, Reply: modelstub.Reply{Error: &modelstub.ErrorReply{Status: 500, Message: "kaboom"}}},
		{Match: modelstub.Match{UserContains: "busy"}, Reply: modelstub.Reply{Error: &modelstub.ErrorReply{Status: 429, Message: "slow down"}}},
		{Match: modelstub.Match{UserContains: "flaky"}, Reply: modelstub.Reply{FailTimes: 1, Text: "recovered"}},
		{Match: modelstub.Match{UserContains: "garbage"}, Reply: modelstub.Reply{Malformed: true}},
	}}))
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o-mini"}`)
	type result struct {
		th, id string
	}
	start := func(text string) result {
		th := h.newThread(h.keyA, text)
		return result{th, h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)}
	}
	// Start all four at once: their retries overlap.
	boom, busy, flaky, garbage := start("boom"), start("busy"), start("flaky"), start("garbage")

	failed := func(r result, code string, contains ...string) {
		t.Helper()
		run := h.waitRun(h.keyA, r.th, r.id)
		if run["status"] != "failed" || run["failed_at"] == nil || dig(run, "last_error", "code") != code {
			t.Errorf("run: %v", run)
			return
		}
		msg := str(dig(run, "last_error", "message"))
		for _, c := range contains {
			if !strings.Contains(msg, c) {
				t.Errorf("last_error.message %q lacks %q", msg, c)
			}
		}
	}
	failed(boom, "server_error", "provider", "kaboom")
	failed(busy, "rate_limit_exceeded", "slow down")
	failed(garbage, "server_error", "provider")
	run := h.waitRun(h.keyA, flaky.th, flaky.id)
	if run["status"] != "completed" {
		t.Errorf("flaky run: %v", run)
	}
	if msgs := h.messagesOf(h.keyA, flaky.th); len(msgs) != 2 || dig(msgs[1], "content", 0, "text", "value") != "recovered" {
		t.Errorf("flaky messages: %v", msgs)
	}
	// Retries: 1 + 2 for each failure, 2 for the flaky one.
	count := map[string]int{}
	for _, r := range h.chatRequests() {
		texts := r.texts()
		count[texts[len(texts)-1]]++
	}
	for text, want := range map[string]int{"user: boom": 3, "user: busy": 3, "user: garbage": 3, "user: flaky": 2} {
		if count[text] != want {
			t.Errorf("%s: %d model requests, want %d", text, count[text], want)
		}
	}
	// A failed run leaves no assistant message behind and frees its thread.
	if msgs := h.messagesOf(h.keyA, boom.th); len(msgs) != 1 {
		t.Errorf("boom messages: %v", msgs)
	}
}

func TestRunNoProviderForModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withRouter(func(base string) *llm.RouterConfig {
		return &llm.RouterConfig{
			Providers: map[string]llm.ProviderConfig{"stub": {Type: llm.ProviderOpenAI, BaseURL: base}},
			Models:    []llm.ModelRoute{{Match: "gpt-*", Provider: "stub"}},
		}
	}))
	asst := h.newAssistant(h.keyA, `{"model":"claude-x"}`)
	th := h.newThread(h.keyA, "hi")
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	run := h.waitRun(h.keyA, th, id)
	if run["status"] != "failed" || dig(run, "last_error", "code") != "server_error" ||
		!strings.Contains(str(dig(run, "last_error", "message")), `"claude-x"`) {
		t.Fatalf("run: %v", run)
	}
	// The gpt-* route works.
	th2 := h.newThread(h.keyA, "hi")
	id2 := h.createRun(h.keyA, th2, map[string]any{"assistant_id": asst, "model": "gpt-4o"})["id"].(string)
	if run := h.waitRun(h.keyA, th2, id2); run["status"] != "completed" || run["model"] != "gpt-4o" {
		t.Fatalf("gpt run: %v", run)
	}
	if n := len(h.chatRequests()); n != 1 {
		t.Errorf("%d model requests", n)
	}
}
