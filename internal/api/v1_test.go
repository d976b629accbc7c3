package api_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/openai/openai-go/v3/option"
)

const betaV1 = "OpenAI-Beta: assistants=v1"

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestV1Assistant(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f1 := h.mustUpload(h.keyA, "assistants", "a.txt", []byte("a")).object(t)["id"].(string)
	f2 := h.mustUpload(h.keyA, "assistants", "b.txt", []byte("b")).object(t)["id"].(string)

	r := h.mustDo(200, "POST", "/v1/assistants", h.keyA, map[string]any{
		"model": "gpt-4-turbo", "name": "legacy", "instructions": "be brief",
		"tools":    []any{map[string]string{"type": "retrieval"}, map[string]string{"type": "code_interpreter"}},
		"file_ids": []string{f1, f2}, "metadata": map[string]string{"v": "1"},
	}, betaV1)
	v1 := r.object(t)
	wantKeys := []string{"created_at", "description", "file_ids", "id", "instructions", "metadata", "model", "name", "object", "tools"}
	if got := keysOf(v1); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("v1 assistant keys %v, want %v", got, wantKeys)
	}
	if !reflect.DeepEqual(v1["file_ids"], []any{f1, f2}) ||
		!reflect.DeepEqual(v1["tools"], []any{map[string]any{"type": "retrieval"}, map[string]any{"type": "code_interpreter"}}) {
		t.Errorf("v1 create: %s", r.Body)
	}
	id := v1["id"].(string)

	// The same assistant through v2 (no header; validated against the spec).
	v2 := h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil).object(t)
	if !reflect.DeepEqual(v2["tools"], []any{map[string]any{"type": "file_search"}, map[string]any{"type": "code_interpreter"}}) {
		t.Errorf("v2 tools: %v", v2["tools"])
	}
	ci, _ := v2["tool_resources"].(map[string]any)["code_interpreter"].(map[string]any)
	if ci == nil || !reflect.DeepEqual(ci["file_ids"], []any{f1, f2}) {
		t.Errorf("v2 tool_resources: %v", v2["tool_resources"])
	}
	if _, ok := v2["file_ids"]; ok {
		t.Errorf("v2 view has file_ids")
	}
	// Explicit v2, and a list of betas that includes v2.
	for _, hdr := range []string{"OpenAI-Beta: assistants=v2", "OpenAI-Beta: realtime=v1, assistants=v2"} {
		if o := h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil, hdr).object(t); !reflect.DeepEqual(o, v2) {
			t.Errorf("%s: %v", hdr, o)
		}
	}
	// v1 reads give the v1 shape back, also in lists and through a list of betas.
	if o := h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil, betaV1).object(t); !reflect.DeepEqual(o, v1) {
		t.Errorf("v1 get: %v\nwant %v", o, v1)
	}
	if o := h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil, "OpenAI-Beta: realtime=v1,assistants=v1").object(t); !reflect.DeepEqual(o, v1) {
		t.Errorf("v1 get through a beta list: %v", o)
	}
	var page struct {
		Data []map[string]any `json:"data"`
	}
	h.mustDo(200, "GET", "/v1/assistants", h.keyA, nil, betaV1).decode(t, &page)
	if len(page.Data) != 1 || !reflect.DeepEqual(page.Data[0], v1) {
		t.Errorf("v1 list: %v", page.Data)
	}
	// openai-go with the v1 header (the SDK sends assistants=v2 by default;
	// WithHeader replaces it).
	var raw map[string]any
	if _, err := h.A.Beta.Assistants.Get(context.Background(), id, option.WithHeader("OpenAI-Beta", "assistants=v1"), option.WithResponseBodyInto(&raw)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, v1) {
		t.Errorf("openai-go v1 get: %v", raw)
	}

	// v1 modify: file_ids replaces code_interpreter files; tools translate.
	r = h.mustDo(200, "POST", "/v1/assistants/"+id, h.keyA, `{"file_ids":[],"tools":[{"type":"retrieval"}],"name":null}`, betaV1)
	if o := r.object(t); !reflect.DeepEqual(o["file_ids"], []any{}) || o["name"] != nil || o["instructions"] != "be brief" {
		t.Errorf("v1 modify: %s", r.Body)
	}
	v2 = h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil).object(t)
	if !reflect.DeepEqual(v2["tools"], []any{map[string]any{"type": "file_search"}}) {
		t.Errorf("v2 after v1 modify: %v", v2)
	}
	if ci, _ := v2["tool_resources"].(map[string]any)["code_interpreter"].(map[string]any); ci != nil && len(ci["file_ids"].([]any)) != 0 {
		t.Errorf("v2 files after v1 modify: %v", v2["tool_resources"])
	}
	// A v2 modify shows through v1.
	h.mustDo(200, "POST", "/v1/assistants/"+id, h.keyA, `{"tool_resources":{"code_interpreter":{"file_ids":["`+f2+`"]}}}`)
	if o := h.mustDo(200, "GET", "/v1/assistants/"+id, h.keyA, nil, betaV1).object(t); !reflect.DeepEqual(o["file_ids"], []any{f2}) {
		t.Errorf("v1 view of a v2 modify: %v", o)
	}

	before := h.fingerprint()
	for _, c := range []badCase{
		{name: "file_search is not v1", method: "POST", path: "/v1/assistants", body: `{"model":"m","tools":[{"type":"file_search"}]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "tools[0].type"},
		{name: "modify file_search is not v1", method: "POST", path: "/v1/assistants/" + id, body: `{"tools":[{"type":"file_search"}]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "tools[0].type"},
		{name: "tool_resources is not v1", method: "POST", path: "/v1/assistants", body: `{"model":"m","tool_resources":{}}`, headers: []string{betaV1}, wantCode: 400, wantParam: "tool_resources"},
		{name: "21 v1 files", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "file_ids": strs(21, func(int) string { return f1 })}, headers: []string{betaV1}, wantCode: 400, wantParam: "file_ids"},
		{name: "v1 missing file", method: "POST", path: "/v1/assistants", body: `{"model":"m","file_ids":["file-nope"]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "*", contains: "No file found"},
		{name: "v1 missing model", method: "POST", path: "/v1/assistants", body: `{"file_ids":[]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "model"},
		{name: "retrieval on v2", method: "POST", path: "/v1/assistants", body: `{"model":"m","tools":[{"type":"retrieval"}]}`, wantCode: 400, wantParam: "tools[0].type"},
		{name: "retrieval on explicit v2", method: "POST", path: "/v1/assistants", body: `{"model":"m","tools":[{"type":"retrieval"}]}`, headers: []string{"OpenAI-Beta: assistants=v2"}, wantCode: 400, wantParam: "tools[0].type"},
		{name: "v3", method: "GET", path: "/v1/assistants/" + id, headers: []string{"OpenAI-Beta: assistants=v3"}, wantCode: 400, wantErr: "invalid_beta"},
		{name: "v3 create", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, headers: []string{"OpenAI-Beta: assistants=v3"}, wantCode: 400, wantErr: "invalid_beta"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkError(t, h.do(c.method, c.path, h.keyA, c.body, c.headers...), c)
		})
	}
	if after := h.fingerprint(); after != before {
		t.Errorf("refused v1 requests wrote something")
	}
}

func TestV1ThreadsAndMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.mustUpload(h.keyA, "assistants", "a.txt", []byte("a")).object(t)["id"].(string)
	foreign := h.mustUpload(h.keyB, "assistants", "b.txt", []byte("b")).object(t)["id"].(string)

	r := h.mustDo(200, "POST", "/v1/threads", h.keyA, map[string]any{
		"metadata": map[string]string{"v": "1"},
		"messages": []any{map[string]any{"role": "user", "content": "hi", "file_ids": []string{f}}},
	}, betaV1)
	th := r.object(t)
	if got, want := keysOf(th), []string{"created_at", "id", "metadata", "object"}; !reflect.DeepEqual(got, want) {
		t.Errorf("v1 thread keys %v, want %v", got, want)
	}
	tid := th["id"].(string)
	v2 := h.mustDo(200, "GET", "/v1/threads/"+tid, h.keyA, nil).object(t)
	if _, ok := v2["tool_resources"]; !ok {
		t.Errorf("v2 thread lacks tool_resources: %v", v2)
	}

	r = h.mustDo(200, "POST", "/v1/threads/"+tid+"/messages", h.keyA, `{"role":"user","content":"more","file_ids":["`+f+`"],"metadata":{"a":"b"}}`, betaV1)
	m := r.object(t)
	wantKeys := []string{"assistant_id", "content", "created_at", "file_ids", "id", "metadata", "object", "role", "run_id", "thread_id"}
	if got := keysOf(m); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("v1 message keys %v, want %v", got, wantKeys)
	}
	if !reflect.DeepEqual(m["file_ids"], []any{f}) {
		t.Errorf("v1 message file_ids: %s", r.Body)
	}
	mid := m["id"].(string)
	// v2 reads show attachments for both tools v1 files were open to.
	mv2 := h.mustDo(200, "GET", "/v1/threads/"+tid+"/messages/"+mid, h.keyA, nil).object(t)
	want := []any{map[string]any{"file_id": f, "tools": []any{map[string]any{"type": "code_interpreter"}, map[string]any{"type": "file_search"}}}}
	if !reflect.DeepEqual(mv2["attachments"], want) {
		t.Errorf("v2 attachments: %v", mv2["attachments"])
	}
	if _, ok := mv2["file_ids"]; ok {
		t.Errorf("v2 message has file_ids")
	}

	// v1 list: every message in v1 shape, initial one included.
	var page struct {
		Data []map[string]any `json:"data"`
	}
	h.mustDo(200, "GET", "/v1/threads/"+tid+"/messages?order=asc", h.keyA, nil, betaV1).decode(t, &page)
	if len(page.Data) != 2 || !reflect.DeepEqual(page.Data[0]["file_ids"], []any{f}) || !reflect.DeepEqual(page.Data[1], m) {
		t.Errorf("v1 list: %v", page.Data)
	}
	// A v2 message without attachments reads as file_ids [] in v1.
	v2m := h.mustDo(200, "POST", "/v1/threads/"+tid+"/messages", h.keyA, `{"role":"assistant","content":"x"}`).object(t)
	if o := h.mustDo(200, "GET", "/v1/threads/"+tid+"/messages/"+v2m["id"].(string), h.keyA, nil, betaV1).object(t); !reflect.DeepEqual(o["file_ids"], []any{}) {
		t.Errorf("v1 view of a v2 message: %v", o)
	}
	// v1 modify of thread and message.
	if o := h.mustDo(200, "POST", "/v1/threads/"+tid, h.keyA, `{"metadata":{"x":"1"}}`, betaV1).object(t); !reflect.DeepEqual(keysOf(o), []string{"created_at", "id", "metadata", "object"}) {
		t.Errorf("v1 modify thread: %v", o)
	}
	if o := h.mustDo(200, "POST", "/v1/threads/"+tid+"/messages/"+mid, h.keyA, `{"metadata":{"x":"1"}}`, betaV1).object(t); !reflect.DeepEqual(o["file_ids"], []any{f}) {
		t.Errorf("v1 modify message: %v", o)
	}

	before := h.fingerprint()
	for _, c := range []badCase{
		{name: "attachments are not v1", method: "POST", path: "/v1/threads/" + tid + "/messages", body: `{"role":"user","content":"x","attachments":[]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "attachments"},
		{name: "file_ids are not v2", method: "POST", path: "/v1/threads/" + tid + "/messages", body: `{"role":"user","content":"x","file_ids":[]}`, wantCode: 400, wantParam: "file_ids"},
		{name: "11 message files", method: "POST", path: "/v1/threads/" + tid + "/messages", body: map[string]any{"role": "user", "content": "x", "file_ids": strs(11, func(int) string { return f })}, headers: []string{betaV1}, wantCode: 400, wantParam: "file_ids"},
		{name: "foreign file", method: "POST", path: "/v1/threads/" + tid + "/messages", body: `{"role":"user","content":"x","file_ids":["` + foreign + `"]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "file_ids[0]", contains: "No file found"},
		{name: "thread foreign file", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":"x","file_ids":["` + foreign + `"]}]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "messages[0].file_ids[0]", contains: "No file found"},
		{name: "assistant foreign file", method: "POST", path: "/v1/assistants", body: `{"model":"m","file_ids":["` + f + `","` + foreign + `"]}`, headers: []string{betaV1}, wantCode: 400, wantParam: "file_ids[1]", contains: "No file found"},
		{name: "thread tool_resources is not v1", method: "POST", path: "/v1/threads", body: `{"tool_resources":{}}`, headers: []string{betaV1}, wantCode: 400, wantParam: "tool_resources"},
		{name: "v1 missing role", method: "POST", path: "/v1/threads/" + tid + "/messages", body: `{"content":"x"}`, headers: []string{betaV1}, wantCode: 400, wantParam: "role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkError(t, h.do(c.method, c.path, h.keyA, c.body, c.headers...), c)
		})
	}
	if after := h.fingerprint(); after != before {
		t.Errorf("refused v1 requests wrote something")
	}
}

// TestV1OnlyEndpointsOnV2: the v1 file sub-resources do not exist in the v2
// API (the v2 spec has no such paths), so a v2 request gets the unknown-route
// 404, while a v1 request is served.
func TestV1OnlyEndpointsOnV2(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.mustUpload(h.keyA, "assistants", "a.txt", []byte("a")).object(t)["id"].(string)
	a := h.mustDo(200, "POST", "/v1/assistants", h.keyA, `{"model":"m","file_ids":["`+f+`"]}`, betaV1).object(t)["id"].(string)
	var page struct {
		Data []map[string]any `json:"data"`
	}
	h.mustDo(200, "GET", "/v1/assistants/"+a+"/files", h.keyA, nil, betaV1).decode(t, &page)
	if len(page.Data) != 1 || page.Data[0]["id"] != f || page.Data[0]["object"] != "assistant.file" {
		t.Errorf("v1 assistant files: %v", page.Data)
	}
	r := h.do("GET", "/v1/assistants/"+a+"/files", h.keyA, nil)
	if r.Status != 404 {
		t.Errorf("v2 GET /assistants/{id}/files: %s, want 404", r)
	}
}
