package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type badCase struct {
	name      string
	method    string
	path      string
	body      any      // string sent verbatim, or JSON-encoded
	headers   []string // "Name: value"; "Authorization:" removes the key
	noAuth    bool
	wantCode  int
	wantParam string // "" means param must be null; "*" means any
	wantErr   string // error.code; "" means null; "*" means any
	contains  string // substring of error.message, optional
	bug       string // a known server bug: the case is skipped with this text
}

func strs(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func metadataN(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = "v"
	}
	return m
}

func attachmentsN(n int, file string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"file_id": file, "tools": []any{}}
	}
	return out
}

func toolsN(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"type": "code_interpreter"}
	}
	return out
}

// TestBadInput sends malformed, mistyped, unknown, missing, out-of-range and
// unauthorised requests to every endpoint and checks the OpenAI error object,
// the status, the param, and that nothing at all was written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.buildWorld(h.keyA)
	A, T, M, F := "/v1/assistants/"+w.asst, "/v1/threads/"+w.thread, "/v1/threads/"+w.thread+"/messages/"+w.msg, "/v1/files/"+w.file
	TM := T + "/messages"
	long := func(n int) string { return strings.Repeat("x", n) }
	asst := func(extra string) string { return `{"model":"gpt-4o",` + extra + `}` }
	msg := func(extra string) string { return `{"role":"user","content":"hi",` + extra + `}` }

	cases := []badCase{
		// --- JSON syntax and shape, on every JSON endpoint.
		{name: "malformed assistant", method: "POST", path: "/v1/assistants", body: `{"model":`, wantCode: 400},
		{name: "malformed modify assistant", method: "POST", path: A, body: `{"name":"x"`, wantCode: 400},
		{name: "malformed thread", method: "POST", path: "/v1/threads", body: `{"metadata":{]}`, wantCode: 400},
		{name: "malformed modify thread", method: "POST", path: T, body: `nope`, wantCode: 400},
		{name: "malformed message", method: "POST", path: TM, body: `{"role":"user","content":"x",}`, wantCode: 400},
		{name: "malformed modify message", method: "POST", path: M, body: `{"metadata":`, wantCode: 400},
		{name: "trailing data", method: "POST", path: "/v1/assistants", body: `{"model":"m"} {"model":"m"}`, wantCode: 400},
		{name: "array body", method: "POST", path: "/v1/assistants", body: `[{"model":"m"}]`, wantCode: 400},
		{name: "null body", method: "POST", path: "/v1/threads", body: `null`, wantCode: 400},
		{name: "string body", method: "POST", path: TM, body: `"hi"`, wantCode: 400},

		// --- Wrong types.
		{name: "name number", method: "POST", path: "/v1/assistants", body: asst(`"name":5`), wantCode: 400, wantParam: "name"},
		{name: "model number", method: "POST", path: "/v1/assistants", body: `{"model":4}`, wantCode: 400, wantParam: "model"},
		{name: "metadata string", method: "POST", path: "/v1/assistants", body: asst(`"metadata":"x"`), wantCode: 400, wantParam: "metadata"},
		{name: "metadata value number", method: "POST", path: "/v1/assistants", body: asst(`"metadata":{"a":1}`), wantCode: 400, wantParam: "*"},
		{name: "tools object", method: "POST", path: "/v1/assistants", body: asst(`"tools":{}`), wantCode: 400, wantParam: "tools"},
		{name: "tools of strings", method: "POST", path: "/v1/assistants", body: asst(`"tools":["code_interpreter"]`), wantCode: 400, wantParam: "*"},
		{name: "temperature string", method: "POST", path: "/v1/assistants", body: asst(`"temperature":"hot"`), wantCode: 400, wantParam: "temperature"},
		{name: "tool_resources array", method: "POST", path: "/v1/assistants", body: asst(`"tool_resources":[]`), wantCode: 400, wantParam: "*"},
		{name: "response_format number", method: "POST", path: "/v1/assistants", body: asst(`"response_format":5`), wantCode: 400, wantParam: "*"},
		{name: "modify name number", method: "POST", path: A, body: `{"name":5}`, wantCode: 400, wantParam: "name"},
		{name: "modify tools object", method: "POST", path: A, body: `{"tools":{}}`, wantCode: 400, wantParam: "tools"},
		{name: "modify metadata string", method: "POST", path: A, body: `{"metadata":"x"}`, wantCode: 400, wantParam: "metadata"},
		{name: "thread messages object", method: "POST", path: "/v1/threads", body: `{"messages":{}}`, wantCode: 400, wantParam: "messages"},
		{name: "thread metadata string", method: "POST", path: "/v1/threads", body: `{"metadata":"x"}`, wantCode: 400, wantParam: "metadata"},
		{name: "modify thread metadata string", method: "POST", path: T, body: `{"metadata":"x"}`, wantCode: 400, wantParam: "metadata"},
		{name: "message content number", method: "POST", path: TM, body: `{"role":"user","content":5}`, wantCode: 400, wantParam: "content"},
		{name: "message role number", method: "POST", path: TM, body: `{"role":1,"content":"x"}`, wantCode: 400, wantParam: "role"},
		{name: "message attachments object", method: "POST", path: TM, body: msg(`"attachments":{}`), wantCode: 400, wantParam: "attachments"},
		{name: "modify message metadata string", method: "POST", path: M, body: `{"metadata":"x"}`, wantCode: 400, wantParam: "metadata"},

		// --- Unknown fields, top level and nested.
		{name: "unknown field", method: "POST", path: "/v1/assistants", body: asst(`"foo":1`), wantCode: 400, wantParam: "foo"},
		{name: "unknown nested tool field", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"code_interpreter","x":1}]`), wantCode: 400, wantParam: "*"},
		{name: "unknown tool_resources field", method: "POST", path: "/v1/assistants", body: asst(`"tool_resources":{"retrieval":{}}`), wantCode: 400, wantParam: "*"},
		{name: "v1 file_ids on v2", method: "POST", path: "/v1/assistants", body: asst(`"file_ids":[]`), wantCode: 400, wantParam: "file_ids"},
		{name: "modify unknown field", method: "POST", path: A, body: `{"nam":"x"}`, wantCode: 400, wantParam: "nam"},
		{name: "thread unknown field", method: "POST", path: "/v1/threads", body: `{"title":"x"}`, wantCode: 400, wantParam: "title"},
		{name: "modify thread with messages", method: "POST", path: T, body: `{"messages":[]}`, wantCode: 400, wantParam: "messages"},
		{name: "message unknown field", method: "POST", path: TM, body: msg(`"file_ids":[]`), wantCode: 400, wantParam: "file_ids"},
		{name: "message unknown content-part field", method: "POST", path: TM, body: `{"role":"user","content":[{"type":"text","text":"x","annotations":[]}]}`, wantCode: 400, wantParam: "*"},
		{name: "modify message content", method: "POST", path: M, body: `{"content":"x"}`, wantCode: 400, wantParam: "content"},

		// --- Missing required fields.
		{name: "missing model", method: "POST", path: "/v1/assistants", body: `{"name":"x"}`, wantCode: 400, wantParam: "model"},
		{name: "empty model", method: "POST", path: "/v1/assistants", body: `{"model":""}`, wantCode: 400, wantParam: "model"},
		{name: "null model", method: "POST", path: "/v1/assistants", body: `{"model":null}`, wantCode: 400, wantParam: "model"},
		{name: "empty body assistant", method: "POST", path: "/v1/assistants", body: ``, wantCode: 400, wantParam: "model"},
		{name: "modify model null", method: "POST", path: A, body: `{"model":null}`, wantCode: 400, wantParam: "model"},
		{name: "missing role", method: "POST", path: TM, body: `{"content":"x"}`, wantCode: 400, wantParam: "role"},
		{name: "missing content", method: "POST", path: TM, body: `{"role":"user"}`, wantCode: 400, wantParam: "content"},
		{name: "null content", method: "POST", path: TM, body: `{"role":"user","content":null}`, wantCode: 400, wantParam: "content"},
		{name: "thread message missing role", method: "POST", path: "/v1/threads", body: `{"messages":[{"content":"x"}]}`, wantCode: 400, wantParam: "messages[0].role"},
		{name: "thread message missing content", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":"x"},{"role":"user"}]}`, wantCode: 400, wantParam: "messages[1].content"},
		{name: "function without function", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function"}]`), wantCode: 400, wantParam: "tools[0].function"},
		{name: "function without name", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function","function":{"description":"d"}}]`), wantCode: 400, wantParam: "tools[0].function.name"},
		{name: "tool without type", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{}]`), wantCode: 400, wantParam: "tools[0].type"},
		{name: "json_schema without json_schema", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"json_schema"}`), wantCode: 400, wantParam: "response_format.json_schema"},
		{name: "json_schema without name", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}`), wantCode: 400, wantParam: "response_format.json_schema.name"},
		{name: "attachment without file_id", method: "POST", path: TM, body: msg(`"attachments":[{"tools":[{"type":"file_search"}]}]`), wantCode: 400, wantParam: "attachments[0].file_id"},
		{name: "image_file without file_id", method: "POST", path: TM, body: `{"role":"user","content":[{"type":"image_file","image_file":{}}]}`, wantCode: 400, wantParam: "content[0].image_file.file_id"},
		{name: "image_url without url", method: "POST", path: TM, body: `{"role":"user","content":[{"type":"image_url","image_url":{"detail":"low"}}]}`, wantCode: 400, wantParam: "content[0].image_url.url"},
		{name: "score_threshold missing", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"ranking_options":{"ranker":"auto"}}}]`), wantCode: 400, wantParam: "tools[0].file_search.ranking_options.score_threshold"},

		// --- Invalid enum values.
		{name: "role system", method: "POST", path: TM, body: `{"role":"system","content":"x"}`, wantCode: 400, wantParam: "role"},
		{name: "thread message role", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"tool","content":"x"}]}`, wantCode: 400, wantParam: "messages[0].role"},
		{name: "tool type", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"browser"}]`), wantCode: 400, wantParam: "tools[0].type"},
		{name: "retrieval on v2", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"retrieval"}]`), wantCode: 400, wantParam: "tools[0].type"},
		{name: "modify retrieval on v2", method: "POST", path: A, body: `{"tools":[{"type":"retrieval"}]}`, wantCode: 400, wantParam: "tools[0].type"},
		{name: "reasoning_effort", method: "POST", path: "/v1/assistants", body: asst(`"reasoning_effort":"ultra"`), wantCode: 400, wantParam: "reasoning_effort"},
		{name: "response_format type", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"xml"}`), wantCode: 400, wantParam: "response_format.type"},
		{name: "response_format string", method: "POST", path: "/v1/assistants", body: asst(`"response_format":"json"`), wantCode: 400, wantParam: "response_format"},
		{name: "response_format text with schema", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"text","json_schema":{"name":"x"}}`), wantCode: 400, wantParam: "response_format.json_schema"},
		{name: "ranker", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"ranking_options":{"ranker":"best","score_threshold":0.5}}}]`), wantCode: 400, wantParam: "tools[0].file_search.ranking_options.ranker"},
		{name: "content part type", method: "POST", path: TM, body: `{"role":"user","content":[{"type":"video"}]}`, wantCode: 400, wantParam: "content[0].type"},
		{name: "thread content part type", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, wantCode: 400, wantParam: "messages[0].content[0].type"},
		{name: "image detail", method: "POST", path: TM, body: `{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"ultra"}}]}`, wantCode: 400, wantParam: "content[0].image_url.detail"},
		{name: "attachment tool type", method: "POST", path: TM, body: msg(`"attachments":[{"file_id":"` + w.file + `","tools":[{"type":"function"}]}]`), wantCode: 400, wantParam: "attachments[0].tools[0].type"},
		{name: "thread attachment tool retrieval", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":"x","attachments":[{"file_id":"` + w.file + `","tools":[{"type":"retrieval"}]}]}]}`, wantCode: 400, wantParam: "messages[0].attachments[0].tools[0].type"},

		// --- Ids with a wrong prefix.
		{name: "assistant id prefix", method: "GET", path: "/v1/assistants/" + w.thread, wantCode: 400, wantParam: "assistant_id"},
		{name: "modify assistant id prefix", method: "POST", path: "/v1/assistants/thread_x", body: `{}`, wantCode: 400, wantParam: "assistant_id"},
		{name: "delete assistant id prefix", method: "DELETE", path: "/v1/assistants/asst", wantCode: 400, wantParam: "assistant_id"},
		{name: "thread id prefix", method: "GET", path: "/v1/threads/" + w.asst, wantCode: 400, wantParam: "thread_id"},
		{name: "modify thread id prefix", method: "POST", path: "/v1/threads/msg_x", body: `{}`, wantCode: 400, wantParam: "thread_id"},
		{name: "delete thread id prefix", method: "DELETE", path: "/v1/threads/x", wantCode: 400, wantParam: "thread_id"},
		{name: "message list thread prefix", method: "GET", path: "/v1/threads/asst_x/messages", wantCode: 400, wantParam: "thread_id"},
		{name: "message create thread prefix", method: "POST", path: "/v1/threads/asst_x/messages", body: `{"role":"user","content":"x"}`, wantCode: 400, wantParam: "thread_id"},
		{name: "message id prefix", method: "GET", path: T + "/messages/" + w.thread, wantCode: 400, wantParam: "message_id"},
		{name: "modify message id prefix", method: "POST", path: T + "/messages/m_1", body: `{}`, wantCode: 400, wantParam: "message_id"},
		{name: "delete message id prefix", method: "DELETE", path: T + "/messages/m_1", wantCode: 400, wantParam: "message_id"},
		{name: "file id prefix", method: "GET", path: "/v1/files/file_123", wantCode: 400, wantParam: "file_id"},
		{name: "file content id prefix", method: "GET", path: "/v1/files/asst_1/content", wantCode: 400, wantParam: "file_id"},
		{name: "delete file id prefix", method: "DELETE", path: "/v1/files/x", wantCode: 400, wantParam: "file_id"},
		{name: "file id in tool_resources missing", method: "POST", path: "/v1/assistants", body: asst(`"tool_resources":{"code_interpreter":{"file_ids":["file-nope"]}}`), wantCode: 400, wantParam: "tool_resources.code_interpreter.file_ids[0]", contains: "No file found"},
		{name: "attachment file missing", method: "POST", path: TM, body: msg(`"attachments":[{"file_id":"file-nope","tools":[]}]`), wantCode: 400, wantParam: "attachments[0].file_id", contains: "No file found"},
		{name: "thread message attachment missing", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":"x"},{"role":"user","content":"x","attachments":[{"file_id":"file-nope","tools":[]}]}]}`, wantCode: 400, wantParam: "messages[1].attachments[0].file_id", contains: "No file found"},

		// --- Limits.
		{name: "metadata 17 keys", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "metadata": metadataN(17)}, wantCode: 400, wantParam: "metadata"},
		{name: "metadata key 65", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "metadata": map[string]string{long(65): "v"}}, wantCode: 400, wantParam: "metadata"},
		{name: "metadata value 513", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "metadata": map[string]string{"k": long(513)}}, wantCode: 400, wantParam: "*"},
		{name: "modify assistant metadata 17", method: "POST", path: A, body: map[string]any{"metadata": metadataN(17)}, wantCode: 400, wantParam: "metadata"},
		{name: "thread metadata 17", method: "POST", path: "/v1/threads", body: map[string]any{"metadata": metadataN(17)}, wantCode: 400, wantParam: "metadata"},
		{name: "modify thread metadata key 65", method: "POST", path: T, body: map[string]any{"metadata": map[string]string{long(65): "v"}}, wantCode: 400, wantParam: "metadata"},
		{name: "message metadata value 513", method: "POST", path: TM, body: map[string]any{"role": "user", "content": "x", "metadata": map[string]string{"k": long(513)}}, wantCode: 400, wantParam: "*"},
		{name: "thread message metadata 17", method: "POST", path: "/v1/threads", body: map[string]any{"messages": []any{map[string]any{"role": "user", "content": "x", "metadata": metadataN(17)}}}, wantCode: 400, wantParam: "messages[0].metadata"},
		{name: "modify message metadata 17", method: "POST", path: M, body: map[string]any{"metadata": metadataN(17)}, wantCode: 400, wantParam: "metadata"},
		{name: "name 257", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "name": long(257)}, wantCode: 400, wantParam: "name"},
		{name: "description 513", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "description": long(513)}, wantCode: 400, wantParam: "description"},
		{name: "instructions 256001", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "instructions": long(256001)}, wantCode: 400, wantParam: "instructions"},
		{name: "modify name 257", method: "POST", path: A, body: map[string]any{"name": long(257)}, wantCode: 400, wantParam: "name"},
		{name: "modify instructions 256001", method: "POST", path: A, body: map[string]any{"instructions": long(256001)}, wantCode: 400, wantParam: "instructions"},
		{name: "129 tools", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "tools": toolsN(129)}, wantCode: 400, wantParam: "tools"},
		{name: "modify 129 tools", method: "POST", path: A, body: map[string]any{"tools": toolsN(129)}, wantCode: 400, wantParam: "tools"},
		{name: "function bad name", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function","function":{"name":"my func"}}]`), wantCode: 400, wantParam: "tools[0].function.name"},
		{name: "function name 65", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function","function":{"name":"` + long(65) + `"}}]`), wantCode: 400, wantParam: "tools[0].function.name"},
		{name: "function parameters not object", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]`), wantCode: 400, wantParam: "tools[0].function.parameters"},
		{name: "duplicate function names", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]`), wantCode: 400, wantParam: "tools[1].function.name"},
		{name: "max_num_results 0", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"max_num_results":0}}]`), wantCode: 400, wantParam: "tools[0].file_search.max_num_results"},
		{name: "max_num_results 51", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"max_num_results":51}}]`), wantCode: 400, wantParam: "tools[0].file_search.max_num_results"},
		{name: "max_num_results 1.5", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"max_num_results":1.5}}]`), wantCode: 400, wantParam: "*"},
		{name: "score_threshold 2", method: "POST", path: "/v1/assistants", body: asst(`"tools":[{"type":"file_search","file_search":{"ranking_options":{"score_threshold":2}}}]`), wantCode: 400, wantParam: "tools[0].file_search.ranking_options.score_threshold"},
		{name: "score_threshold -0.1", method: "POST", path: A, body: `{"tools":[{"type":"file_search","file_search":{"ranking_options":{"score_threshold":-0.1}}}]}`, wantCode: 400, wantParam: "tools[0].file_search.ranking_options.score_threshold"},
		{name: "temperature 3", method: "POST", path: "/v1/assistants", body: asst(`"temperature":3`), wantCode: 400, wantParam: "temperature"},
		{name: "temperature -1", method: "POST", path: A, body: `{"temperature":-1}`, wantCode: 400, wantParam: "temperature"},
		{name: "top_p 2", method: "POST", path: "/v1/assistants", body: asst(`"top_p":2`), wantCode: 400, wantParam: "top_p"},
		{name: "modify top_p 1.01", method: "POST", path: A, body: `{"top_p":1.01}`, wantCode: 400, wantParam: "top_p"},
		{name: "json_schema bad name", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"json_schema","json_schema":{"name":"a b"}}`), wantCode: 400, wantParam: "response_format.json_schema.name"},
		{name: "json_schema schema not object", method: "POST", path: "/v1/assistants", body: asst(`"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":"x"}}`), wantCode: 400, wantParam: "response_format.json_schema.schema"},
		{name: "21 code_interpreter files", method: "POST", path: "/v1/assistants", body: map[string]any{"model": "m", "tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": strs(21, func(i int) string { return w.file })}}}, wantCode: 400, wantParam: "tool_resources.code_interpreter.file_ids"},
		{name: "2 vector stores", method: "POST", path: "/v1/threads", body: `{"tool_resources":{"file_search":{"vector_store_ids":["vs_1","vs_2"]}}}`, wantCode: 400, wantParam: "tool_resources.file_search.vector_store_ids"},
		{name: "vector_stores helper on modify", method: "POST", path: A, body: `{"tool_resources":{"file_search":{"vector_stores":[{"file_ids":[]}]}}}`, wantCode: 400, wantParam: "*"},
		{name: "empty content array", method: "POST", path: TM, body: `{"role":"user","content":[]}`, wantCode: 400, wantParam: "content"},
		{name: "thread empty content array", method: "POST", path: "/v1/threads", body: `{"messages":[{"role":"user","content":[]}]}`, wantCode: 400, wantParam: "messages[0].content"},
		{name: "21 attachments", method: "POST", path: TM, body: map[string]any{"role": "user", "content": "x", "attachments": attachmentsN(21, w.file)}, wantCode: 400, wantParam: "*"},
		{name: "text 256001", method: "POST", path: TM, body: map[string]any{"role": "user", "content": long(256001)}, wantCode: 400, wantParam: "*"},

		// --- List parameters, on every list.
		{name: "assistants limit 0", method: "GET", path: "/v1/assistants?limit=0", wantCode: 400, wantParam: "limit"},
		{name: "assistants limit 101", method: "GET", path: "/v1/assistants?limit=101", wantCode: 400, wantParam: "limit"},
		{name: "assistants limit x", method: "GET", path: "/v1/assistants?limit=x", wantCode: 400, wantParam: "limit"},
		{name: "assistants order", method: "GET", path: "/v1/assistants?order=sideways", wantCode: 400, wantParam: "order"},
		{name: "messages limit 0", method: "GET", path: TM + "?limit=0", wantCode: 400, wantParam: "limit"},
		{name: "messages limit 101", method: "GET", path: TM + "?limit=101", wantCode: 400, wantParam: "limit"},
		{name: "messages limit x", method: "GET", path: TM + "?limit=x", wantCode: 400, wantParam: "limit"},
		{name: "messages order", method: "GET", path: TM + "?order=sideways", wantCode: 400, wantParam: "order"},
		{name: "files limit 0", method: "GET", path: "/v1/files?limit=0", wantCode: 400, wantParam: "limit"},
		{name: "files limit 10001", method: "GET", path: "/v1/files?limit=10001", wantCode: 400, wantParam: "limit"},
		{name: "files limit x", method: "GET", path: "/v1/files?limit=1.5", wantCode: 400, wantParam: "limit"},
		{name: "files order", method: "GET", path: "/v1/files?order=sideways", wantCode: 400, wantParam: "order"},

		// --- Uploads.
		{name: "upload as JSON", method: "POST", path: "/v1/files", body: `{"purpose":"assistants"}`, wantCode: 400, wantParam: "*"},

		// --- Auth, beta header, routing.
		{name: "no auth", method: "GET", path: "/v1/assistants", noAuth: true, wantCode: 401},
		{name: "no auth on create", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, noAuth: true, wantCode: 401},
		{name: "empty bearer", method: "GET", path: "/v1/files", headers: []string{"Authorization: Bearer"}, noAuth: true, wantCode: 401},
		{name: "wrong key", method: "GET", path: "/v1/files", headers: []string{"Authorization: Bearer sk-assistd-nope"}, noAuth: true, wantCode: 401, wantErr: "invalid_api_key"},
		{name: "wrong key on create", method: "POST", path: "/v1/threads", body: `{}`, headers: []string{"Authorization: Bearer sk-assistd-nope"}, noAuth: true, wantCode: 401, wantErr: "invalid_api_key"},
		{name: "basic auth", method: "GET", path: A, headers: []string{"Authorization: Basic dXNlcjpwYXNz"}, noAuth: true, wantCode: 401},
		{name: "no auth on message", method: "POST", path: TM, body: `{"role":"user","content":"x"}`, noAuth: true, wantCode: 401},
		{name: "no auth on file content", method: "GET", path: F + "/content", noAuth: true, wantCode: 401},
		{name: "beta v3", method: "POST", path: "/v1/assistants", body: `{"model":"m"}`, headers: []string{"OpenAI-Beta: assistants=v3"}, wantCode: 400, wantErr: "invalid_beta"},
		{name: "beta empty version", method: "GET", path: "/v1/assistants", headers: []string{"OpenAI-Beta: assistants="}, wantCode: 400, wantErr: "invalid_beta"},
		{name: "unknown route", method: "GET", path: "/v1/nope", wantCode: 404},
		{name: "unknown nested route", method: "GET", path: A + "/nope", wantCode: 404},
		{name: "unknown route outside v1", method: "GET", path: "/nope", wantCode: 404},
		{name: "wrong method on collection", method: "DELETE", path: "/v1/assistants", wantCode: 405},
		{name: "PUT assistant", method: "PUT", path: A, body: `{}`, wantCode: 405},
		{name: "PATCH thread", method: "PATCH", path: T, body: `{}`, wantCode: 405},
		{name: "GET threads", method: "GET", path: "/v1/threads", wantCode: 405},
		{name: "DELETE messages", method: "DELETE", path: TM, wantCode: 405},
		{name: "POST file", method: "POST", path: F, body: `{}`, wantCode: 405},
		{name: "POST file content", method: "POST", path: F + "/content", wantCode: 405},
	}

	before := h.fingerprint()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.bug != "" {
				t.Skip("BUG: " + c.bug)
			}
			key := h.keyA
			if c.noAuth {
				key = ""
			}
			r := h.do(c.method, c.path, key, c.body, c.headers...)
			checkError(t, r, c)
			if after := h.fingerprint(); after != before {
				t.Errorf("the request wrote something:\nbefore:\n%s\nafter:\n%s", before, after)
				before = after
			}
		})
	}
}

func checkError(t *testing.T, r *response, c badCase) {
	t.Helper()
	if r.Status != c.wantCode {
		t.Errorf("%s %s: got %s, want status %d", c.method, c.path, r, c.wantCode)
		return
	}
	var raw struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil || raw.Error == nil {
		t.Fatalf("not an OpenAI error object: %s", r)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw.Error[k]; !ok {
			t.Errorf("error lacks %q: %s", k, r.Body)
		}
	}
	e := r.apiError(t)
	if c.wantCode < 500 && e.Error.Type != "invalid_request_error" {
		t.Errorf("type = %q", e.Error.Type)
	}
	switch {
	case c.wantParam == "*":
	case c.wantParam == "" && e.Error.Param != nil:
		t.Errorf("param = %q, want null (%s)", *e.Error.Param, e.Error.Message)
	case c.wantParam != "" && (e.Error.Param == nil || *e.Error.Param != c.wantParam):
		t.Errorf("param = %s, want %q (%s)", strOrNull(e.Error.Param), c.wantParam, e.Error.Message)
	}
	switch {
	case c.wantErr == "*":
	case c.wantErr == "" && e.Error.Code != nil:
		t.Errorf("code = %q, want null", *e.Error.Code)
	case c.wantErr != "" && (e.Error.Code == nil || *e.Error.Code != c.wantErr):
		t.Errorf("code = %s, want %q", strOrNull(e.Error.Code), c.wantErr)
	}
	if c.contains != "" && !strings.Contains(e.Error.Message, c.contains) {
		t.Errorf("message %q lacks %q", e.Error.Message, c.contains)
	}
	if c.wantCode == 405 && r.Header.Get("Allow") == "" {
		t.Errorf("405 without an Allow header")
	}
}

func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// TestBadUploads covers the multipart endpoint's own mistakes.
func TestBadUploads(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustUpload(h.keyA, "assistants", "seed.txt", []byte("seed"))
	file := multipartField{Name: "file", Filename: "a.txt", Data: []byte("abc")}
	purpose := func(p string) multipartField { return multipartField{Name: "purpose", Data: []byte(p)} }
	field := func(n, v string) multipartField { return multipartField{Name: n, Data: []byte(v)} }
	cases := []struct {
		name      string
		fields    []multipartField
		wantParam string
	}{
		{"no purpose", []multipartField{file}, "purpose"},
		{"bad purpose", []multipartField{purpose("training"), file}, "purpose"},
		{"output-only purpose", []multipartField{purpose("batch_output"), file}, "purpose"},
		{"no file", []multipartField{purpose("assistants")}, "file"},
		{"file as a plain field", []multipartField{purpose("assistants"), field("file", "abc")}, "file"},
		{"two files", []multipartField{purpose("assistants"), file, file}, "file"},
		{"unknown field", []multipartField{purpose("assistants"), file, field("filename", "x")}, "filename"},
		{"expires seconds too small", []multipartField{purpose("assistants"), file, field("expires_after[anchor]", "created_at"), field("expires_after[seconds]", "10")}, "expires_after[seconds]"},
		{"expires seconds too large", []multipartField{purpose("assistants"), file, field("expires_after[anchor]", "created_at"), field("expires_after[seconds]", "2592001")}, "expires_after[seconds]"},
		{"expires seconds not a number", []multipartField{purpose("assistants"), file, field("expires_after[anchor]", "created_at"), field("expires_after[seconds]", "soon")}, "expires_after[seconds]"},
		{"expires anchor", []multipartField{purpose("assistants"), file, field("expires_after[anchor]", "now"), field("expires_after[seconds]", "3600")}, "expires_after[anchor]"},
	}
	before := h.fingerprint()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.uploadRaw(h.keyA, c.fields...)
			checkError(t, r, badCase{method: "POST", path: "/v1/files", wantCode: 400, wantParam: c.wantParam})
			if after := h.fingerprint(); after != before {
				t.Errorf("the upload wrote something:\nbefore:\n%s\nafter:\n%s", before, after)
				before = after
			}
		})
	}
	// Not multipart at all, and a broken multipart body.
	for _, r := range []*response{
		h.do("POST", "/v1/files", h.keyA, "purpose=assistants", "Content-Type: application/x-www-form-urlencoded"),
		h.do("POST", "/v1/files", h.keyA, "--xx\r\nbroken", "Content-Type: multipart/form-data; boundary=xx"),
		h.do("POST", "/v1/files", h.keyA, "", "Content-Type: multipart/form-data"),
	} {
		checkError(t, r, badCase{method: "POST", path: "/v1/files", wantCode: 400, wantParam: "*"})
	}
	// Without a key, nothing is read.
	ct, body := multipartBody(t, purpose("assistants"), file)
	checkError(t, h.do("POST", "/v1/files", "", body, "Content-Type: "+ct), badCase{method: "POST", path: "/v1/files", wantCode: 401})
	if after := h.fingerprint(); after != before {
		t.Errorf("refused uploads wrote something")
	}
}

// TestBodyTooLarge: a JSON body over MaxBodyBytes is 413 on every JSON
// endpoint, and nothing is written.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	const max = 2048
	h := newHarness(t, withMaxBody(max))
	w := h.buildWorld(h.keyA)
	big := strings.Repeat("x", max)
	before := h.fingerprint()
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/assistants", `{"model":"m","instructions":"` + big + `"}`},
		{"POST", "/v1/assistants/" + w.asst, `{"instructions":"` + big + `"}`},
		{"POST", "/v1/threads", `{"messages":[{"role":"user","content":"` + big + `"}]}`},
		{"POST", "/v1/threads/" + w.thread, `{"metadata":{"a":"` + big + `"}}`},
		{"POST", "/v1/threads/" + w.thread + "/messages", `{"role":"user","content":"` + big + `"}`},
		{"POST", "/v1/threads/" + w.thread + "/messages/" + w.msg, `{"metadata":{"a":"` + big + `"}}`},
		{"POST", "/v1/threads", "{" + strings.Repeat(" ", 10*max) + "}"},
	} {
		r := h.do(c.method, c.path, h.keyA, c.body)
		checkError(t, r, badCase{method: c.method, path: c.path, wantCode: 413})
	}
	if after := h.fingerprint(); after != before {
		t.Errorf("oversized bodies wrote something:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Just under the limit is accepted.
	ok := `{"model":"m","instructions":"` + strings.Repeat("y", max-100) + `"}`
	h.mustDo(200, "POST", "/v1/assistants", h.keyA, ok)
}
