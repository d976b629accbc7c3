package modelstub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/assistd/assistd/internal/modelstub"
)

func TestParseScript(t *testing.T) {
	t.Parallel()
	good := `{
		"rules": [{"match": {"user_contains": "hi", "last_role": "user", "model": "gpt-*"},
		           "reply": {"text": "hello", "latency": "10ms", "tokens_per_second": 5,
		                     "tool_calls": [{"name": "f", "arguments": {"a": 1}}]}}],
		"default": {"text": "x", "latency": 0.5}
	}`
	s, err := modelstub.ParseScript([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) != 1 || time.Duration(*s.Rules[0].Reply.Latency) != 10*time.Millisecond ||
		time.Duration(*s.Default.Latency) != 500*time.Millisecond {
		t.Fatalf("parsed %+v", s)
	}
	for name, bad := range map[string]string{
		"unknown top key":    `{"rulez": []}`,
		"unknown match key":  `{"rules": [{"match": {"user_contain": "x"}, "reply": {}}]}`,
		"unknown reply key":  `{"rules": [{"match": {}, "reply": {"txt": "x"}}]}`,
		"unknown error key":  `{"default": {"error": {"status": 500, "msg": "x"}}}`,
		"unknown call key":   `{"default": {"tool_calls": [{"name": "f", "args": {}}]}}`,
		"bad last_role":      `{"rules": [{"match": {"last_role": "bot"}, "reply": {}}]}`,
		"bad glob":           `{"rules": [{"match": {"model": "gpt-["}, "reply": {}}]}`,
		"bad status":         `{"default": {"error": {"status": 200}}}`,
		"arguments an array": `{"default": {"tool_calls": [{"name": "f", "arguments": [1]}]}}`,
		"no tool name":       `{"default": {"tool_calls": [{"arguments": {}}]}}`,
		"bad latency":        `{"default": {"latency": "soon"}}`,
		"trailing data":      `{} {}`,
		"not json":           `rules:`,
	} {
		if _, err := modelstub.ParseScript([]byte(bad)); err == nil {
			t.Errorf("%s: ParseScript accepted %s", name, bad)
		}
	}
}

// chat sends one OpenAI request with raw messages and returns the content.
func chat(t *testing.T, url, model, messages string, extra ...string) string {
	t.Helper()
	body := `{"model":"` + model + `","messages":` + messages + strings.Join(extra, "") + `}`
	res, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content   *string
				ToolCalls []struct{ Function struct{ Name string } } `json:"tool_calls"`
			}
		}
	}
	raw := readAll(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, raw)
	}
	mustJSON(t, raw, &out)
	m := out.Choices[0].Message
	if len(m.ToolCalls) > 0 {
		return "call:" + m.ToolCalls[0].Function.Name
	}
	if m.Content == nil {
		return "<nil>"
	}
	return *m.Content
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"rules": [
		{"match": {"user_contains": "Both", "model": "gpt-*"}, "reply": {"text": "first"}},
		{"match": {"user_contains": "both"}, "reply": {"text": "second"}},
		{"match": {"system_contains": "PIRATE"}, "reply": {"text": "arr, {{last_user}}"}},
		{"match": {"tool_available": "search", "last_role": "user"}, "reply": {"tool_calls": [{"name": "search", "arguments": {"q": "{{last_user}}"}}]}},
		{"match": {"last_role": "tool", "tool_result_contains": "ERROR"}, "reply": {"text": "it failed: {{last_tool_result}}"}},
		{"match": {"last_role": "assistant"}, "reply": {"text": "continuing"}},
		{"match": {"user_contains": "json"}, "reply": {"echo_json": true}},
		{"match": {"user_contains": "model?"}, "reply": {"text": "I am {{model}}"}}
	]}`, modelstub.Options{})
	user := func(s string) string { return `[{"role":"user","content":` + jsonString(s) + `}]` }
	const tools = `,"tools":[{"type":"function","function":{"name":"search","parameters":{}}}]`
	for _, tc := range []struct {
		name, model, messages, extra, want string
	}{
		{"first wins", "gpt-4o", user("both rules"), "", "first"},
		{"model glob fails", "claude", user("both rules"), "", "second"},
		{"case-insensitive system", "m", `[{"role":"developer","content":"you are a pirate"},{"role":"user","content":"hi"}]`, "", "arr, hi"},
		{"tool offered", "m", user("find cats"), tools, "call:search"},
		{"tool not offered", "m", user("find cats"), "", "You said: find cats"},
		{"tool result", "m", `[{"role":"user","content":"go"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"search","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"error: boom"}]`, tools, "it failed: error: boom"},
		{"default after tool", "m", `[{"role":"user","content":"go"},{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"42"}]}]`, "", "Tool said: 42"},
		{"last role assistant", "m", `[{"role":"user","content":"go"},{"role":"assistant","content":"part"}]`, "", "continuing"},
		{"last user, array content", "m", `[{"role":"user","content":"old"},{"role":"assistant","content":"x"},{"role":"user","content":[{"type":"text","text":"new "},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"one"}]}]`, "", "You said: new one"},
		{"echo json", "m", user(`give json "quoted"`), `,"response_format":{"type":"json_object"}`, `{"echo":"give json \"quoted\""}`},
		{"model placeholder", "gpt-x", user("model?"), "", "I am gpt-x"},
	} {
		if got := chat(t, hs.URL, tc.model, tc.messages, tc.extra); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAnthropicRuleMatching(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, `{"rules": [
		{"match": {"system_contains": "pirate", "last_role": "user"}, "reply": {"text": "arr"}},
		{"match": {"last_role": "tool"}, "reply": {"text": "got {{last_tool_result}} for {{last_user}}"}}
	]}`, modelstub.Options{})
	send := func(body string) string {
		res, err := http.Post(hs.URL+"/v1/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Content []struct{ Text string } }
		mustJSON(t, readAll(t, res), &out)
		return out.Content[0].Text
	}
	if got := send(`{"model":"c","max_tokens":50,"system":[{"type":"text","text":"A PIRATE"}],"messages":[{"role":"user","content":"hi"}]}`); got != "arr" {
		t.Errorf("system blocks: %q", got)
	}
	got := send(`{"model":"c","max_tokens":50,"system":"a pirate","messages":[
		{"role":"user","content":[{"type":"text","text":"look up"}]},
		{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"42"}]}]}]}`)
	if got != "got 42 for look up" {
		t.Errorf("tool_result: %q", got)
	}
}

func TestRequestsRecorded(t *testing.T) {
	t.Parallel()
	stub, hs := newStub(t, `{"rules": [{"match": {"user_contains": "a"}, "reply": {"text": "x"}}]}`, modelstub.Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := openAIClient(hs).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    "gpt-4o",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("b")},
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	chat(t, hs.URL, "gpt-4o", `[{"role":"user","content":"a"}]`)
	http.Post(hs.URL+"/v1/messages", "application/json", strings.NewReader(`{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"q"}]}`))

	reqs := stub.Requests()
	if len(reqs) != 10 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	var body struct {
		Messages []struct{ Role, Content string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Messages[0].Content != "b" {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if r.Wire != modelstub.WireOpenAI || r.Path != "/v1/chat/completions" || r.Model != "gpt-4o" || r.Rule != -1 ||
		r.Time.IsZero() || r.Header.Get("Authorization") != "Bearer test" {
		t.Fatalf("record = %+v", r)
	}
	if reqs[8].Rule != 0 {
		t.Fatalf("rule = %d", reqs[8].Rule)
	}
	if a := reqs[9]; a.Wire != modelstub.WireAnthropic || a.Model != "claude" || a.Path != "/v1/messages" {
		t.Fatalf("anthropic record = %+v", a)
	}
	stub.Reset()
	if n := len(stub.Requests()); n != 0 {
		t.Fatalf("%d requests after Reset", n)
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	_, hs := newStub(t, "", modelstub.Options{})
	res, err := http.Get(hs.URL + "/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	if raw := readAll(t, res); res.StatusCode != 404 || !strings.Contains(raw, `"error"`) {
		t.Fatalf("%d %s", res.StatusCode, raw)
	}
	res, err = http.Get(hs.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	if readAll(t, res); res.StatusCode != 405 {
		t.Fatalf("GET completions: %d", res.StatusCode)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
