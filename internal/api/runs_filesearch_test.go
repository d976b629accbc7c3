package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"

	"github.com/assistd/assistd/internal/modelstub"
)

// fileSearchScript calls file_search with the user's words, then answers
// citing the first result the way the tool output asks.
func fileSearchScript(answer string) *modelstub.Script {
	return &modelstub.Script{Rules: []modelstub.Rule{
		{Match: modelstub.Match{LastRole: "tool", ToolResultContains: "【0†"}, Reply: modelstub.Reply{Text: answer}},
		{Match: modelstub.Match{LastRole: "tool"}, Reply: modelstub.Reply{Text: "Nothing found."}},
		{Match: modelstub.Match{ToolAvailable: "file_search"},
			Reply: modelstub.Reply{ToolCalls: []modelstub.ToolCall{{Name: "file_search", Arguments: json.RawMessage(`{"query":"{{last_user}}"}`)}}}},
	}}
}

// TestRunFileSearchCitations: a run whose assistant has a vector store
// searches it when the model calls file_search, gives the model the results
// with citation markers, and the answer carries file_citation annotations
// on those markers pointing at the file. The step records the query, the
// ranking options and the results, with their text only when include[]
// asks for it.
func TestRunFileSearchCitations(t *testing.T) {
	t.Parallel()
	answer := "Tides come from the Moon's pull【0†tides.md】, says the note."
	h := newHarness(t, withScript(fileSearchScript(answer)))
	tides := h.upload(h.A, "tides.md", openai.FilePurposeAssistants, []byte("# Tides\n\nOcean tides are caused by the gravitational pull of the Moon.")).ID
	other := h.upload(h.A, "bees.md", openai.FilePurposeAssistants, []byte("# Bees\n\nBees make honey.")).ID
	// The vector_stores helper makes the assistant's store from its files.
	asst := h.mustDo(200, "POST", "/v1/assistants", h.keyA, map[string]any{
		"model": "gpt-4o", "tools": []any{map[string]any{"type": "file_search", "file_search": map[string]any{"max_num_results": 5}}},
		"tool_resources": map[string]any{"file_search": map[string]any{"vector_stores": []any{map[string]any{"file_ids": []string{tides, other}}}}},
	}).object(t)
	storeID := dig(asst, "tool_resources", "file_search", "vector_store_ids", 0).(string)
	h.waitStore(h.keyA, storeID)

	th := h.newThread(h.keyA, "ocean tides moon")
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst["id"]})
	done := h.waitRun(h.keyA, th, run["id"].(string))
	if done["status"] != "completed" {
		t.Fatalf("run: %v", done)
	}
	msgs := h.messagesOf(h.keyA, th)
	text := dig(msgs[len(msgs)-1], "content", 0, "text").(map[string]any)
	if text["value"] != answer {
		t.Fatalf("answer: %v", text["value"])
	}
	anns := text["annotations"].([]any)
	if len(anns) != 1 {
		t.Fatalf("annotations: %v", anns)
	}
	a := anns[0].(map[string]any)
	marker := "【0†tides.md】"
	start := utf8.RuneCountInString(answer[:strings.Index(answer, marker)])
	if a["type"] != "file_citation" || a["text"] != marker || dig(a, "file_citation", "file_id") != tides ||
		int(a["start_index"].(float64)) != start || int(a["end_index"].(float64)) != start+utf8.RuneCountInString(marker) {
		t.Errorf("annotation: %v (want start %d)", a, start)
	}

	steps := h.stepsOf(h.keyA, th, run["id"].(string))
	call := dig(steps[0], "step_details", "tool_calls", 0).(map[string]any)
	fs := call["file_search"].(map[string]any)
	if call["type"] != "file_search" || fs["query"] != "ocean tides moon" || dig(fs, "ranking_options", "ranker") != "default_2024_08_21" {
		t.Fatalf("step call: %v", call)
	}
	first := dig(fs, "results", 0).(map[string]any)
	if first["file_id"] != tides || first["file_name"] != "tides.md" || first["score"].(float64) <= 0 || first["content"] != nil {
		t.Errorf("result without include: %v", first)
	}
	withContent := h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+run["id"].(string)+"/steps?include[]=step_details.tool_calls[*].file_search.results[*].content", h.keyA, nil).object(t)
	if c := dig(withContent, "data", 1, "step_details", "tool_calls", 0, "file_search", "results", 0, "content", 0, "text"); c == nil || !strings.Contains(c.(string), "gravitational pull") {
		// data is newest first: the tool step is the older one.
		t.Errorf("result content with include: %v", dig(withContent, "data"))
	}

	// The model saw the result's text under its marker.
	reqs := h.chatRequests()
	last := strings.Join(reqs[len(reqs)-1].texts(), "\n")
	if !strings.Contains(last, "【0†tides.md】") || !strings.Contains(last, "gravitational pull of the Moon") {
		t.Errorf("tool output given to the model: %s", last)
	}
}

// TestMessageAttachmentsFileSearch: a file attached to a message for
// file_search goes into the thread's vector store, made on demand with a
// seven-day expiry, and a run finds it there.
func TestMessageAttachmentsFileSearch(t *testing.T) {
	t.Parallel()
	answer := "Kiwis cannot fly【0†kiwi.txt】."
	h := newHarness(t, withScript(fileSearchScript(answer)))
	kiwi := h.upload(h.A, "kiwi.txt", openai.FilePurposeAssistants, []byte("The kiwi is a flightless bird of New Zealand.")).ID
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"file_search"}]}`)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, `{}`).object(t)["id"].(string)
	h.mustDo(200, "POST", "/v1/threads/"+th+"/messages", h.keyA, map[string]any{"role": "user", "content": "flightless bird kiwi",
		"attachments": []any{map[string]any{"file_id": kiwi, "tools": []any{map[string]any{"type": "file_search"}}}}})
	thread := h.mustDo(200, "GET", "/v1/threads/"+th, h.keyA, nil).object(t)
	storeID, _ := dig(thread, "tool_resources", "file_search", "vector_store_ids", 0).(string)
	if storeID == "" {
		t.Fatalf("thread has no vector store: %v", thread)
	}
	vs := h.waitStore(h.keyA, storeID)
	if dig(vs, "expires_after", "days").(float64) != 7 || dig(vs, "expires_after", "anchor") != "last_active_at" || dig(vs, "file_counts", "completed").(float64) != 1 {
		t.Errorf("thread store: %v", vs)
	}
	run := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})
	h.waitRun(h.keyA, th, run["id"].(string), "completed")
	msgs := h.messagesOf(h.keyA, th)
	if dig(msgs[len(msgs)-1], "content", 0, "text", "annotations", 0, "file_citation", "file_id") != kiwi {
		t.Errorf("answer: %v", msgs[len(msgs)-1]["content"])
	}
	// A second attachment goes into the same store.
	more := h.upload(h.A, "more.txt", openai.FilePurposeAssistants, []byte("Kiwis lay very large eggs.")).ID
	h.mustDo(200, "POST", "/v1/threads/"+th+"/messages", h.keyA, map[string]any{"role": "user", "content": "eggs",
		"attachments": []any{map[string]any{"file_id": more, "tools": []any{map[string]any{"type": "file_search"}}}}})
	if vs := h.waitStore(h.keyA, storeID); dig(vs, "file_counts", "completed").(float64) != 2 {
		t.Errorf("store after the second attachment: %v", vs)
	}
}

// TestV1Retrieval: a v1 client (OpenAI-Beta: assistants=v1) with the
// retrieval tool and assistant file_ids gets answers from those files; the
// step is a retrieval call in the v1 view and the citation a v1
// file_citation with its quote.
func TestV1Retrieval(t *testing.T) {
	t.Parallel()
	answer := "Saturn has rings【0†saturn.txt】."
	h := newHarness(t, withScript(fileSearchScript(answer)))
	f := h.mustUpload(h.keyA, "assistants", "saturn.txt", []byte("Saturn is the planet with the most visible ring system.")).object(t)["id"].(string)
	asst := h.mustDo(200, "POST", "/v1/assistants", h.keyA, map[string]any{
		"model": "gpt-4-turbo", "tools": []any{map[string]string{"type": "retrieval"}}, "file_ids": []string{f},
	}, betaV1).object(t)
	if asst["file_ids"].([]any)[0] != f {
		t.Fatalf("v1 assistant: %v", asst)
	}
	v2 := h.mustDo(200, "GET", "/v1/assistants/"+asst["id"].(string), h.keyA, nil).object(t)
	storeID, _ := dig(v2, "tool_resources", "file_search", "vector_store_ids", 0).(string)
	if storeID == "" {
		t.Fatalf("no vector store for the v1 files: %v", v2["tool_resources"])
	}
	h.waitStore(h.keyA, storeID)
	run := h.mustDo(200, "POST", "/v1/threads/runs", h.keyA, map[string]any{"assistant_id": asst["id"],
		"thread": map[string]any{"messages": []any{map[string]any{"role": "user", "content": "planet rings"}}}}, betaV1).object(t)
	th := run["thread_id"].(string)
	h.waitRun(h.keyA, th, run["id"].(string), "completed")
	steps := h.mustDo(200, "GET", "/v1/threads/"+th+"/runs/"+run["id"].(string)+"/steps?order=asc", h.keyA, nil, betaV1).object(t)
	if call := dig(steps, "data", 0, "step_details", "tool_calls", 0).(map[string]any); call["type"] != "retrieval" {
		t.Errorf("v1 step call: %v", call)
	}
	msgs := h.mustDo(200, "GET", "/v1/threads/"+th+"/messages", h.keyA, nil, betaV1).object(t)
	ann := dig(msgs, "data", 0, "content", 0, "text", "annotations", 0).(map[string]any)
	if dig(ann, "file_citation", "file_id") != f || ann["type"] != "file_citation" {
		t.Errorf("v1 annotation: %v", ann)
	}
}

// TestRunFileSearchStreamed: streamed, the file_search step shows as a
// tool_calls step whose delta is the spec's empty file_search object, and
// the answer's citation arrives as a message delta annotation.
func TestRunFileSearchStreamed(t *testing.T) {
	t.Parallel()
	answer := "Tides come from the Moon【0†tides.md】."
	h := newHarness(t, withScript(fileSearchScript(answer)))
	tides := h.upload(h.A, "tides.md", openai.FilePurposeAssistants, []byte("# Tides\n\nOcean tides are caused by the Moon.")).ID
	vs := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, map[string]any{"file_ids": []string{tides}}).object(t)["id"].(string)
	h.waitStore(h.keyA, vs)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o","tools":[{"type":"file_search"}],"tool_resources":{"file_search":{"vector_store_ids":["`+vs+`"]}}}`)
	th := h.newThread(h.keyA, "tides moon")
	r := h.mustDo(200, "POST", "/v1/threads/"+th+"/runs", h.keyA, `{"assistant_id":"`+asst+`","stream":true}`)
	events, err := parseSSE(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sawStepDelta, sawCitation, completed bool
	for _, ev := range events {
		switch ev.Name {
		case "thread.run.step.delta":
			if strings.Contains(ev.Data, `"type":"file_search"`) && strings.Contains(ev.Data, `"file_search":{}`) {
				sawStepDelta = true
			}
			if strings.Contains(ev.Data, "gravitational") || strings.Contains(ev.Data, "Ocean tides") {
				t.Errorf("step delta leaks result content: %s", ev.Data)
			}
		case "thread.message.delta":
			if strings.Contains(ev.Data, `"file_citation"`) && strings.Contains(ev.Data, tides) {
				sawCitation = true
			}
		case "thread.run.completed":
			completed = true
		}
	}
	if !sawStepDelta || !sawCitation || !completed {
		t.Errorf("step delta %v, citation delta %v, completed %v", sawStepDelta, sawCitation, completed)
	}
}
