package api_test

import (
	"strings"
	"testing"
)

// world is one project's objects, for isolation tests.
type world struct {
	file, vision, asst, thread, msg string
}

func (h *harness) buildWorld(key string) world {
	h.t.Helper()
	id := func(r *response) string { return r.object(h.t)["id"].(string) }
	var w world
	w.file = id(h.mustUpload(key, "assistants", "doc.txt", []byte("secret bytes of "+key[:20])))
	w.vision = id(h.mustUpload(key, "vision", "img.png", []byte("png")))
	w.asst = id(h.mustDo(200, "POST", "/v1/assistants", key, map[string]any{
		"model": "gpt-4o", "name": "secret",
		"tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": []string{w.file}}},
	}))
	w.thread = id(h.mustDo(200, "POST", "/v1/threads", key, map[string]any{
		"metadata": map[string]string{"owner": "me"},
		"messages": []any{map[string]any{"role": "user", "content": "first"}},
	}))
	w.msg = id(h.mustDo(200, "POST", "/v1/threads/"+w.thread+"/messages", key, map[string]any{
		"role": "user", "content": "secret message",
		"attachments": []any{map[string]any{"file_id": w.file, "tools": []any{map[string]string{"type": "code_interpreter"}}}},
	}))
	return w
}

func (h *harness) mustUpload(key, purpose, name string, data []byte) *response {
	h.t.Helper()
	r := h.uploadRaw(key, multipartField{Name: "purpose", Data: []byte(purpose)}, multipartField{Name: "file", Filename: name, Data: data})
	if r.Status != 200 {
		h.t.Fatalf("upload: %s", r)
	}
	return r
}

// state is everything project key can read, for before/after comparisons.
func (h *harness) state(key string, w world) map[string]string {
	h.t.Helper()
	s := map[string]string{}
	for _, p := range []string{
		"/v1/files/" + w.file, "/v1/files/" + w.vision, "/v1/files/" + w.file + "/content",
		"/v1/assistants/" + w.asst, "/v1/threads/" + w.thread,
		"/v1/threads/" + w.thread + "/messages?order=asc&limit=100",
		"/v1/threads/" + w.thread + "/messages/" + w.msg,
		"/v1/assistants?limit=100", "/v1/files",
	} {
		s[p] = h.snapshot(key, p)
	}
	return s
}

// TestTenantIsolation: with project B's key, every request on project A's
// objects answers exactly like a request on a missing id, and changes
// nothing.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.buildWorld(h.keyA)
	b := h.buildWorld(h.keyB)
	beforeA := h.state(h.keyA, a)
	beforeB := h.state(h.keyB, b)

	// Missing ids of the right shape, for the reference answers.
	const (
		noFile   = "file-AAAAAAAAAAAAAAAAAAAAAAAA"
		noAsst   = "asst_AAAAAAAAAAAAAAAAAAAAAAAA"
		noThread = "thread_AAAAAAAAAAAAAAAAAAAAAAAA"
		noMsg    = "msg_AAAAAAAAAAAAAAAAAAAAAAAA"
	)
	type req struct {
		method, path string
		body         any
	}
	cases := []struct {
		name           string
		foreign, ghost req
		status         int
	}{
		{"get file", req{"GET", "/v1/files/" + a.file, nil}, req{"GET", "/v1/files/" + noFile, nil}, 404},
		{"file content", req{"GET", "/v1/files/" + a.file + "/content", nil}, req{"GET", "/v1/files/" + noFile + "/content", nil}, 404},
		{"delete file", req{"DELETE", "/v1/files/" + a.file, nil}, req{"DELETE", "/v1/files/" + noFile, nil}, 404},
		{"get assistant", req{"GET", "/v1/assistants/" + a.asst, nil}, req{"GET", "/v1/assistants/" + noAsst, nil}, 404},
		{"modify assistant", req{"POST", "/v1/assistants/" + a.asst, `{"name":"pwned"}`}, req{"POST", "/v1/assistants/" + noAsst, `{"name":"pwned"}`}, 404},
		{"delete assistant", req{"DELETE", "/v1/assistants/" + a.asst, nil}, req{"DELETE", "/v1/assistants/" + noAsst, nil}, 404},
		{"get thread", req{"GET", "/v1/threads/" + a.thread, nil}, req{"GET", "/v1/threads/" + noThread, nil}, 404},
		{"modify thread", req{"POST", "/v1/threads/" + a.thread, `{"metadata":{"owner":"b"}}`}, req{"POST", "/v1/threads/" + noThread, `{"metadata":{"owner":"b"}}`}, 404},
		{"modify thread with B's file", req{"POST", "/v1/threads/" + a.thread, `{"tool_resources":{"code_interpreter":{"file_ids":["` + b.file + `"]}}}`},
			req{"POST", "/v1/threads/" + noThread, `{"tool_resources":{"code_interpreter":{"file_ids":["` + b.file + `"]}}}`}, 404},
		{"delete thread", req{"DELETE", "/v1/threads/" + a.thread, nil}, req{"DELETE", "/v1/threads/" + noThread, nil}, 404},
		{"list messages", req{"GET", "/v1/threads/" + a.thread + "/messages", nil}, req{"GET", "/v1/threads/" + noThread + "/messages", nil}, 404},
		{"create message", req{"POST", "/v1/threads/" + a.thread + "/messages", `{"role":"user","content":"hi"}`},
			req{"POST", "/v1/threads/" + noThread + "/messages", `{"role":"user","content":"hi"}`}, 404},
		{"create message with B's file", req{"POST", "/v1/threads/" + a.thread + "/messages", `{"role":"user","content":"hi","attachments":[{"file_id":"` + b.file + `","tools":[]}]}`},
			req{"POST", "/v1/threads/" + noThread + "/messages", `{"role":"user","content":"hi","attachments":[{"file_id":"` + b.file + `","tools":[]}]}`}, 404},
		{"get message", req{"GET", "/v1/threads/" + a.thread + "/messages/" + a.msg, nil}, req{"GET", "/v1/threads/" + noThread + "/messages/" + noMsg, nil}, 404},
		{"get A's message via B's thread", req{"GET", "/v1/threads/" + b.thread + "/messages/" + a.msg, nil}, req{"GET", "/v1/threads/" + b.thread + "/messages/" + noMsg, nil}, 404},
		{"modify message", req{"POST", "/v1/threads/" + a.thread + "/messages/" + a.msg, `{"metadata":{"x":"y"}}`},
			req{"POST", "/v1/threads/" + noThread + "/messages/" + noMsg, `{"metadata":{"x":"y"}}`}, 404},
		{"modify A's message via B's thread", req{"POST", "/v1/threads/" + b.thread + "/messages/" + a.msg, `{"metadata":{"x":"y"}}`},
			req{"POST", "/v1/threads/" + b.thread + "/messages/" + noMsg, `{"metadata":{"x":"y"}}`}, 404},
		{"delete message", req{"DELETE", "/v1/threads/" + a.thread + "/messages/" + a.msg, nil}, req{"DELETE", "/v1/threads/" + noThread + "/messages/" + noMsg, nil}, 404},
		{"delete A's message via B's thread", req{"DELETE", "/v1/threads/" + b.thread + "/messages/" + a.msg, nil}, req{"DELETE", "/v1/threads/" + b.thread + "/messages/" + noMsg, nil}, 404},

		// References to A's files from B's requests: 400 "No file found".
		{"assistant tool_resources", req{"POST", "/v1/assistants", `{"model":"m","tool_resources":{"code_interpreter":{"file_ids":["` + a.file + `"]}}}`},
			req{"POST", "/v1/assistants", `{"model":"m","tool_resources":{"code_interpreter":{"file_ids":["` + noFile + `"]}}}`}, 400},
		{"modify assistant tool_resources", req{"POST", "/v1/assistants/" + b.asst, `{"tool_resources":{"code_interpreter":{"file_ids":["` + a.file + `"]}}}`},
			req{"POST", "/v1/assistants/" + b.asst, `{"tool_resources":{"code_interpreter":{"file_ids":["` + noFile + `"]}}}`}, 400},
		{"thread tool_resources", req{"POST", "/v1/threads", `{"tool_resources":{"code_interpreter":{"file_ids":["` + a.file + `"]}}}`},
			req{"POST", "/v1/threads", `{"tool_resources":{"code_interpreter":{"file_ids":["` + noFile + `"]}}}`}, 400},
		{"modify thread tool_resources", req{"POST", "/v1/threads/" + b.thread, `{"tool_resources":{"code_interpreter":{"file_ids":["` + a.file + `"]}}}`},
			req{"POST", "/v1/threads/" + b.thread, `{"tool_resources":{"code_interpreter":{"file_ids":["` + noFile + `"]}}}`}, 400},
		{"thread message attachment", req{"POST", "/v1/threads", `{"messages":[{"role":"user","content":"x","attachments":[{"file_id":"` + a.file + `","tools":[{"type":"file_search"}]}]}]}`},
			req{"POST", "/v1/threads", `{"messages":[{"role":"user","content":"x","attachments":[{"file_id":"` + noFile + `","tools":[{"type":"file_search"}]}]}]}`}, 400},
		{"thread message image_file", req{"POST", "/v1/threads", `{"messages":[{"role":"user","content":[{"type":"image_file","image_file":{"file_id":"` + a.vision + `"}}]}]}`},
			req{"POST", "/v1/threads", `{"messages":[{"role":"user","content":[{"type":"image_file","image_file":{"file_id":"` + noFile + `"}}]}]}`}, 400},
		{"message attachment", req{"POST", "/v1/threads/" + b.thread + "/messages", `{"role":"user","content":"x","attachments":[{"file_id":"` + a.file + `","tools":[{"type":"code_interpreter"}]}]}`},
			req{"POST", "/v1/threads/" + b.thread + "/messages", `{"role":"user","content":"x","attachments":[{"file_id":"` + noFile + `","tools":[{"type":"code_interpreter"}]}]}`}, 400},
		{"message image_file", req{"POST", "/v1/threads/" + b.thread + "/messages", `{"role":"user","content":[{"type":"image_file","image_file":{"file_id":"` + a.vision + `"}}]}`},
			req{"POST", "/v1/threads/" + b.thread + "/messages", `{"role":"user","content":[{"type":"image_file","image_file":{"file_id":"` + noFile + `"}}]}`}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := h.do(c.foreign.method, c.foreign.path, h.keyB, c.foreign.body)
			gr := h.do(c.ghost.method, c.ghost.path, h.keyB, c.ghost.body)
			if fr.Status != c.status || gr.Status != c.status {
				t.Fatalf("foreign %s, missing %s; want %d", fr, gr, c.status)
			}
			fe, ge := fr.apiError(t), gr.apiError(t)
			// Same message once the ids are swapped.
			norm := strings.NewReplacer(a.file, "<ID>", noFile, "<ID>", a.vision, "<ID>", a.asst, "<ID>", noAsst, "<ID>",
				a.thread, "<ID>", noThread, "<ID>", a.msg, "<ID>", noMsg, "<ID>")
			fe.Error.Message, ge.Error.Message = norm.Replace(fe.Error.Message), norm.Replace(ge.Error.Message)
			if mustJSON(fe) != mustJSON(ge) {
				t.Errorf("foreign and missing ids are distinguishable:\n%s\n%s", mustJSON(fe), mustJSON(ge))
			}
			if c.status == 400 && !strings.HasPrefix(fe.Error.Message, "No file found with id") {
				t.Errorf("reference error: %s", fr)
			}
			if c.status == 404 && !strings.HasPrefix(fe.Error.Message, "No ") {
				t.Errorf("not-found message: %s", fr)
			}
			if strings.Contains(string(fr.Body), "secret") {
				t.Errorf("answer leaks A's data: %s", fr.Body)
			}
		})
	}

	// A's lists never show up for B.
	if n := h.count(h.keyB, "/v1/assistants"); n != 1 {
		t.Errorf("B lists %d assistants, want 1", n)
	}
	if n := h.count(h.keyB, "/v1/files"); n != 2 {
		t.Errorf("B lists %d files, want 2", n)
	}

	// Nothing changed, on either side.
	for k, v := range h.state(h.keyA, a) {
		if v != beforeA[k] {
			t.Errorf("A's %s changed:\nbefore %s\nafter  %s", k, beforeA[k], v)
		}
	}
	for k, v := range h.state(h.keyB, b) {
		if v != beforeB[k] {
			t.Errorf("B's %s changed:\nbefore %s\nafter  %s", k, beforeB[k], v)
		}
	}
	// A's bytes are still A's.
	if got := h.mustDo(200, "GET", "/v1/files/"+a.file+"/content", h.keyA, nil).Body; string(got) != "secret bytes of "+h.keyA[:20] {
		t.Errorf("A's file content: %q", got)
	}
}
