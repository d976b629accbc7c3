package schema_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/assistd/assistd/internal/schema"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

func TestMetadataJSON(t *testing.T) {
	if got := marshal(t, schema.Metadata(nil)); got != `{}` {
		t.Errorf("nil metadata = %s", got)
	}
	if got := marshal(t, schema.Metadata{}); got != `{}` {
		t.Errorf("empty metadata = %s", got)
	}
	if got := marshal(t, struct {
		M schema.Metadata `json:"metadata"`
	}{}); got != `{"metadata":{}}` {
		t.Errorf("nil metadata field = %s", got)
	}
	if got := marshal(t, schema.Metadata{"b": "2", "a": "1"}); got != `{"a":"1","b":"2"}` {
		t.Errorf("metadata = %s", got)
	}
	var m schema.Metadata
	if err := schema.DecodeStrict([]byte(`{"a":1}`), &m); err == nil {
		t.Errorf("number value accepted")
	}
	// Limits: 16 pairs, 64-char keys, 512-char values (in characters, not bytes).
	big := schema.Metadata{}
	for i := range 16 {
		big[string(rune('a'+i))] = "v"
	}
	if err := big.Validate("metadata"); err != nil {
		t.Errorf("16 pairs refused: %v", err)
	}
	big["q"] = "v"
	if err := big.Validate("metadata"); err == nil {
		t.Errorf("17 pairs accepted")
	}
	key64 := string(make([]rune, 64))
	for _, c := range []struct {
		m  schema.Metadata
		ok bool
	}{
		{schema.Metadata{repeat("é", 64): "v"}, true},
		{schema.Metadata{repeat("é", 65): "v"}, false},
		{schema.Metadata{"k": repeat("ü", 512)}, true},
		{schema.Metadata{"k": repeat("ü", 513)}, false},
		{schema.Metadata{key64: ""}, true},
	} {
		err := c.m.Validate("metadata")
		if (err == nil) != c.ok {
			t.Errorf("Validate(%d-char key, %d-char value) = %v", len([]rune(firstKey(c.m))), len([]rune(c.m[firstKey(c.m)])), err)
		}
		var verr *schema.ValidationError
		if err != nil && (!errors.As(err, &verr) || verr.Param == "") {
			t.Errorf("error without param: %v", err)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func firstKey(m schema.Metadata) string {
	for k := range m {
		return k
	}
	return ""
}

func TestResponseFormatJSON(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`"auto"`, `"auto"`},
		{`{"type":"text"}`, `{"type":"text"}`},
		{`{"type":"json_object"}`, `{"type":"json_object"}`},
		{`{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}}`, `{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"},"strict":true}}`},
		{`{"type":"json_schema","json_schema":{"name":"x","description":"d"}}`, `{"type":"json_schema","json_schema":{"name":"x","description":"d"}}`},
	} {
		var rf schema.ResponseFormat
		if err := schema.DecodeStrict([]byte(c.in), &rf); err != nil {
			t.Errorf("decode %s: %v", c.in, err)
			continue
		}
		if err := rf.Validate("response_format"); err != nil {
			t.Errorf("validate %s: %v", c.in, err)
		}
		if got := marshal(t, rf); got != c.out {
			t.Errorf("%s re-encoded as %s, want %s", c.in, got, c.out)
		}
	}
	if rf := (schema.ResponseFormat{Type: "auto"}); marshal(t, rf) != `"auto"` {
		t.Errorf("auto is not a bare string")
	}
	// A nil *ResponseFormat is null on objects.
	a := schema.Assistant{}
	if m := decodeMap(t, marshal(t, a)); m["response_format"] != nil {
		t.Errorf("unset response_format = %v", m["response_format"])
	}
	for _, bad := range []string{`"json"`, `"text"`, `5`, `{"type":"text","extra":1}`, `{"type":"json_schema","json_schema":{"name":"x","bogus":1}}`, `[]`} {
		var rf schema.ResponseFormat
		err := schema.DecodeStrict([]byte(bad), &rf)
		if err == nil {
			err = rf.Validate("response_format")
		}
		if err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, bad := range []schema.ResponseFormat{
		{Type: "xml"},
		{Type: ""},
		{Type: "json_schema"},
		{Type: "json_schema", JSONSchema: &schema.JSONSchemaFormat{Name: ""}},
		{Type: "json_schema", JSONSchema: &schema.JSONSchemaFormat{Name: "a b"}},
		{Type: "json_schema", JSONSchema: &schema.JSONSchemaFormat{Name: repeat("a", 65)}},
		{Type: "json_schema", JSONSchema: &schema.JSONSchemaFormat{Name: "a", Schema: json.RawMessage(`[1]`)}},
		{Type: "text", JSONSchema: &schema.JSONSchemaFormat{Name: "a"}},
	} {
		if err := bad.Validate("response_format"); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func decodeMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFieldAbsentNullValue(t *testing.T) {
	type body struct {
		Name schema.Field[string]          `json:"name"`
		Meta schema.Field[schema.Metadata] `json:"metadata"`
		Temp schema.Field[float64]         `json:"temperature"`
	}
	var b body
	if err := schema.DecodeStrict([]byte(`{}`), &b); err != nil {
		t.Fatal(err)
	}
	if b.Name.Set || b.Name.Null || b.Name.Ptr() != nil {
		t.Errorf("absent: %+v", b.Name)
	}
	b = body{}
	if err := schema.DecodeStrict([]byte(`{"name":null,"metadata":null,"temperature":null}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.Name.Set || !b.Name.Null || b.Name.Ptr() != nil || !b.Meta.Null || !b.Temp.Null {
		t.Errorf("null: %+v", b)
	}
	b = body{}
	if err := schema.DecodeStrict([]byte(`{"name":"x","metadata":{"a":"b"},"temperature":0}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.Name.Set || b.Name.Null || b.Name.Ptr() == nil || *b.Name.Ptr() != "x" || b.Meta.Value["a"] != "b" || b.Temp.Ptr() == nil || *b.Temp.Ptr() != 0 {
		t.Errorf("value: %+v", b)
	}
	// Ptr returns a copy.
	p := b.Name.Ptr()
	*p = "changed"
	if b.Name.Value != "x" {
		t.Errorf("Ptr aliases the field")
	}
	for _, bad := range []string{`{"name":5}`, `{"metadata":"x"}`, `{"temperature":"1"}`, `{"name":"x","other":1}`, `{"name":"x"}{}`} {
		b = body{}
		if err := schema.DecodeStrict([]byte(bad), &b); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// Modify semantics: absent keeps, null clears, value replaces.
	a := &schema.Assistant{Name: ptr("old"), Description: ptr("keep"), Temperature: ptr(0.5), Metadata: schema.Metadata{"a": "1"}}
	var req schema.AssistantModifyRequest
	if err := schema.DecodeStrict([]byte(`{"name":"new","temperature":null,"metadata":{"b":"2"}}`), &req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	req.Patch(a)
	if *a.Name != "new" || a.Description == nil || *a.Description != "keep" || a.Temperature == nil || *a.Temperature != 1 || !reflect.DeepEqual(a.Metadata, schema.Metadata{"b": "2"}) {
		t.Errorf("patched: %+v", a)
	}
}

func ptr[T any](v T) *T { return &v }

func TestToolsDecodingStrictness(t *testing.T) {
	good := []string{
		`{"type":"code_interpreter"}`,
		`{"type":"file_search"}`,
		`{"type":"file_search","file_search":{}}`,
		`{"type":"file_search","file_search":{"max_num_results":50,"ranking_options":{"score_threshold":1}}}`,
		`{"type":"function","function":{"name":"a-b_C9"}}`,
		`{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}},"strict":false}}`,
	}
	for _, s := range good {
		var tool schema.Tool
		if err := schema.DecodeStrict([]byte(s), &tool); err != nil {
			t.Errorf("decode %s: %v", s, err)
			continue
		}
		if err := tool.Validate("tools[0]"); err != nil {
			t.Errorf("validate %s: %v", s, err)
		}
		// Round trip is exact for these inputs.
		if got := marshal(t, tool); !jsonEq(got, s) && s != `{"type":"file_search","file_search":{}}` {
			t.Errorf("%s re-encoded as %s", s, got)
		}
	}
	bad := []string{
		`{"type":"code_interpreter","code_interpreter":{}}`,
		`{"type":"code_interpreter","x":1}`,
		`{"type":"file_search","file_search":{"max":1}}`,
		`{"type":"file_search","file_search":{"ranking_options":{"score_threshold":0.5,"x":1}}}`,
		`{"type":"function","function":{"name":"f","extra":true}}`,
		`{"type":"function","function":{"name":"f"},"x":1}`,
		`{"type":"browser"}`,
		`{}`,
		`"code_interpreter"`,
		`{"type":5}`,
	}
	for _, s := range bad {
		var tool schema.Tool
		err := schema.DecodeStrict([]byte(s), &tool)
		if err == nil {
			err = tool.Validate("tools[0]")
		}
		if err == nil {
			t.Errorf("%s accepted", s)
		}
	}
	invalid := []struct {
		s, param string
	}{
		{`{"type":"function"}`, "tools[0].function"},
		{`{"type":"function","function":{}}`, "tools[0].function.name"},
		{`{"type":"function","function":{"name":"has space"}}`, "tools[0].function.name"},
		{`{"type":"function","function":{"name":"f","parameters":"x"}}`, "tools[0].function.parameters"},
		{`{"type":"file_search","file_search":{"max_num_results":0}}`, "tools[0].file_search.max_num_results"},
		{`{"type":"file_search","file_search":{"max_num_results":51}}`, "tools[0].file_search.max_num_results"},
		{`{"type":"file_search","file_search":{"ranking_options":{}}}`, "tools[0].file_search.ranking_options.score_threshold"},
		{`{"type":"file_search","file_search":{"ranking_options":{"score_threshold":1.5}}}`, "tools[0].file_search.ranking_options.score_threshold"},
		{`{"type":"file_search","file_search":{"ranking_options":{"score_threshold":0,"ranker":"x"}}}`, "tools[0].file_search.ranking_options.ranker"},
	}
	for _, c := range invalid {
		var tool schema.Tool
		if err := schema.DecodeStrict([]byte(c.s), &tool); err != nil {
			t.Errorf("decode %s: %v", c.s, err)
			continue
		}
		err := tool.Validate("tools[0]")
		var verr *schema.ValidationError
		if !errors.As(err, &verr) || verr.Param != c.param {
			t.Errorf("%s: %v, want param %s", c.s, err, c.param)
		}
	}
	// Limits on the list.
	many := make([]schema.Tool, 129)
	for i := range many {
		many[i] = schema.Tool{Type: "code_interpreter"}
	}
	if err := schema.ValidateTools(many[:128], "tools", schema.MaxAssistantTools); err != nil {
		t.Errorf("128 tools: %v", err)
	}
	if err := schema.ValidateTools(many, "tools", schema.MaxAssistantTools); err == nil {
		t.Errorf("129 tools accepted")
	}
	dup := []schema.Tool{{Type: "function", Function: &schema.FunctionDef{Name: "f"}}, {Type: "function", Function: &schema.FunctionDef{Name: "f"}}}
	if err := schema.ValidateTools(dup, "tools", 128); err == nil {
		t.Errorf("duplicate function names accepted")
	}
}

func jsonEq(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func TestUnknownToolTypeNamesItsParam(t *testing.T) {
	var req schema.AssistantCreateRequest
	err := schema.DecodeStrict([]byte(`{"model":"m","tools":[{"type":"code_interpreter"},{"type":"browser"}]}`), &req)
	if err == nil {
		err = req.Validate()
	}
	var verr *schema.ValidationError
	if !errors.As(err, &verr) || verr.Param != "tools[1].type" {
		t.Errorf("unknown tool type: %#v, want a ValidationError with param tools[1].type", err)
	}
}

func TestToolResourcesJSON(t *testing.T) {
	var tr schema.ToolResources
	if err := schema.DecodeStrict([]byte(`{"code_interpreter":{"file_ids":["file-1"]},"file_search":{"vector_store_ids":["vs_1"]}}`), &tr); err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, tr.Normalized()); got != `{"code_interpreter":{"file_ids":["file-1"]},"file_search":{"vector_store_ids":["vs_1"]}}` {
		t.Errorf("normalized = %s", got)
	}
	if got := marshal(t, schema.ToolResources{}); got != `{}` {
		t.Errorf("empty = %s", got)
	}
	if got := marshal(t, (schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{}}).Normalized()); got != `{"code_interpreter":{"file_ids":[]}}` {
		t.Errorf("nil file_ids normalized = %s", got)
	}
	// The helper never reaches stored objects.
	helper := schema.ToolResources{FileSearch: &schema.FileSearchResources{VectorStores: []schema.VectorStoreHelper{{FileIDs: []string{"file-1"}}}}}
	if got := marshal(t, helper.Normalized()); got != `{"file_search":{"vector_store_ids":[]}}` {
		t.Errorf("helper normalized = %s", got)
	}
	if err := helper.Validate("tool_resources", false); err == nil {
		t.Errorf("helper accepted where not allowed")
	}
	if err := helper.Validate("tool_resources", true); err != nil {
		t.Errorf("helper refused on create: %v", err)
	}
	for _, bad := range []string{`{"retrieval":{}}`, `{"code_interpreter":{"file_ids":["a"],"x":1}}`, `{"file_search":{"vector_store_id":"vs_1"}}`, `[]`} {
		var tr schema.ToolResources
		if err := schema.DecodeStrict([]byte(bad), &tr); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, c := range []struct {
		tr    schema.ToolResources
		param string
	}{
		{schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: make([]string, 21)}}, "tool_resources.code_interpreter.file_ids"},
		{schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{""}}}, "tool_resources.code_interpreter.file_ids[0]"},
		{schema.ToolResources{FileSearch: &schema.FileSearchResources{VectorStoreIDs: []string{"vs_1", "vs_2"}}}, "tool_resources.file_search.vector_store_ids"},
		{schema.ToolResources{FileSearch: &schema.FileSearchResources{VectorStoreIDs: []string{"vs_1"}, VectorStores: []schema.VectorStoreHelper{{}}}}, "tool_resources.file_search"},
	} {
		err := c.tr.Validate("tool_resources", true)
		var verr *schema.ValidationError
		if !errors.As(err, &verr) || verr.Param != c.param {
			t.Errorf("%+v: %v, want param %s", c.tr, err, c.param)
		}
	}
}

func TestMessageContentInput(t *testing.T) {
	var req schema.MessageCreateRequest
	if err := schema.DecodeStrict([]byte(`{"role":"user","content":"hi"}`), &req); err != nil {
		t.Fatal(err)
	}
	m := req.Message("msg_1", "thread_1", 5)
	got := decodeMap(t, marshal(t, m))
	want := decodeMap(t, `{"id":"msg_1","object":"thread.message","created_at":5,"thread_id":"thread_1","status":"completed",
		"incomplete_details":null,"completed_at":5,"incomplete_at":null,"role":"user",
		"content":[{"type":"text","text":{"value":"hi","annotations":[]}}],
		"assistant_id":null,"run_id":null,"attachments":[],"metadata":{}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("message:\n%v\nwant\n%v", got, want)
	}

	req = schema.MessageCreateRequest{}
	in := `{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_file","image_file":{"file_id":"file-1","detail":"high"}},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"attachments":[{"file_id":"file-2"}]}`
	if err := schema.DecodeStrict([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	got = decodeMap(t, marshal(t, req.Message("msg_1", "thread_1", 5)))
	wantContent := decodeMap(t, `{"c":[{"type":"text","text":{"value":"a","annotations":[]}},{"type":"image_file","image_file":{"file_id":"file-1","detail":"high"}},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}`)["c"]
	if !reflect.DeepEqual(got["content"], wantContent) {
		t.Errorf("content = %v", got["content"])
	}
	if !reflect.DeepEqual(got["attachments"], []any{map[string]any{"file_id": "file-2", "tools": []any{}}}) {
		t.Errorf("attachments = %v", got["attachments"])
	}
	if ids := req.FileIDs(); !reflect.DeepEqual(ids, []string{"file-2", "file-1"}) {
		t.Errorf("FileIDs = %v", ids)
	}

	for _, c := range []struct{ in, param string }{
		{`{"content":"x"}`, "role"},
		{`{"role":"system","content":"x"}`, "role"},
		{`{"role":"user"}`, "content"},
		{`{"role":"user","content":[]}`, "content"},
		{`{"role":"user","content":[{"type":"image_file","image_file":{"file_id":""}}]}`, "content[0].image_file.file_id"},
		{`{"role":"user","content":[{"type":"image_url","image_url":{"url":"u","detail":"max"}}]}`, "content[0].image_url.detail"},
		{`{"role":"user","content":"x","attachments":[{"file_id":""}]}`, "attachments[0].file_id"},
		{`{"role":"user","content":"x","attachments":[{"file_id":"f","tools":[{"type":"retrieval"}]}]}`, "attachments[0].tools[0].type"},
	} {
		var req schema.MessageCreateRequest
		err := schema.DecodeStrict([]byte(c.in), &req)
		if err == nil {
			err = req.Validate()
		}
		var verr *schema.ValidationError
		if !errors.As(err, &verr) || verr.Param != c.param {
			t.Errorf("%s: %v, want param %s", c.in, err, c.param)
		}
	}
	for _, bad := range []string{
		`{"role":"user","content":5}`,
		`{"role":"user","content":{"type":"text"}}`,
		`{"role":"user","content":[{"type":"text","text":"x","extra":1}]}`,
		`{"role":"user","content":[{"type":"text","text":{"value":"x"}}]}`,
		`{"role":"user","content":[{"type":"refusal","refusal":"x"}]}`,
		`{"role":"user","content":[5]}`,
		`{"role":"user","content":"x","file_ids":[]}`,
	} {
		var req schema.MessageCreateRequest
		if err := schema.DecodeStrict([]byte(bad), &req); err == nil {
			if err := req.Validate(); err == nil {
				t.Errorf("%s accepted", bad)
			}
		}
	}
}

func TestThreadMessagesParamsArePrefixed(t *testing.T) {
	for _, c := range []struct{ in, param string }{
		{`{"messages":[{"role":"user","content":"x"},{"content":"x"}]}`, "messages[1].role"},
		{`{"messages":[{"role":"user","content":[]}]}`, "messages[0].content"},
		{`{"messages":[{"role":"user","content":"x","metadata":{"` + repeat("k", 65) + `":"v"}}]}`, "messages[0].metadata"},
		{`{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type"},
	} {
		var req schema.ThreadCreateRequest
		err := schema.DecodeStrict([]byte(c.in), &req)
		if err == nil {
			err = req.Validate()
		}
		var verr *schema.ValidationError
		if !errors.As(err, &verr) || verr.Param != c.param {
			t.Errorf("%s: %v, want param %s", c.in, err, c.param)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	var v struct {
		A int `json:"a"`
	}
	for _, bad := range []string{`{"a":1} {}`, `{"a":1}x`, `{"b":1}`, `{"a":"1"}`, `{"a":1`, ``} {
		if err := schema.DecodeStrict([]byte(bad), &v); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{`{"a":1}`, ` {"a":1} `, "{\"a\":1}\n"} {
		if err := schema.DecodeStrict([]byte(good), &v); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

func TestV1ToV2Translation(t *testing.T) {
	var v1 schema.AssistantCreateRequestV1
	if err := schema.DecodeStrict([]byte(`{"model":"m","tools":[{"type":"retrieval"},{"type":"code_interpreter"}],"file_ids":["file-1","file-2"],"metadata":{"a":"b"}}`), &v1); err != nil {
		t.Fatal(err)
	}
	req, err := v1.V2()
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	a := req.Assistant("asst_1", 1)
	if got := marshal(t, a.Tools); got != `[{"type":"file_search"},{"type":"code_interpreter"}]` {
		t.Errorf("v2 tools = %s", got)
	}
	if got := marshal(t, a.ToolResources); got != `{"code_interpreter":{"file_ids":["file-1","file-2"]}}` {
		t.Errorf("v2 tool_resources = %s", got)
	}
	back := decodeMap(t, marshal(t, a.V1()))
	want := decodeMap(t, `{"id":"asst_1","object":"assistant","created_at":1,"name":null,"description":null,"model":"m","instructions":null,
		"tools":[{"type":"retrieval"},{"type":"code_interpreter"}],"file_ids":["file-1","file-2"],"metadata":{"a":"b"}}`)
	if !reflect.DeepEqual(back, want) {
		t.Errorf("v1 view:\n%v\nwant\n%v", back, want)
	}
	// A v2 file_search tool with options still reads as plain retrieval.
	a.Tools = []schema.Tool{{Type: "file_search", FileSearch: &schema.FileSearchConfig{MaxNumResults: ptr(3)}}}
	a.ToolResources = schema.ToolResources{}
	if got := marshal(t, a.V1()); !jsonEq(decodeMapJSON(t, got, "tools"), `[{"type":"retrieval"}]`) || !jsonEq(decodeMapJSON(t, got, "file_ids"), `[]`) {
		t.Errorf("v1 view of file_search with options: %s", got)
	}

	// v1 refuses the v2 name, v2 refuses the v1 name.
	v1 = schema.AssistantCreateRequestV1{}
	schema.DecodeStrict([]byte(`{"model":"m","tools":[{"type":"file_search"}]}`), &v1)
	if _, err := v1.V2(); err == nil {
		t.Errorf("file_search accepted on v1")
	}
	if err := schema.RejectV2Retrieval([]schema.Tool{{Type: "code_interpreter"}, {Type: "retrieval"}}, "tools"); err == nil {
		t.Errorf("retrieval accepted on v2")
	} else if verr := (*schema.ValidationError)(nil); !errors.As(err, &verr) || verr.Param != "tools[1].type" {
		t.Errorf("retrieval on v2: %v", err)
	}
	if _, err := (&schema.AssistantCreateRequestV1{Model: ptr("m"), FileIDs: make([]string, 21)}).V2(); err == nil {
		t.Errorf("21 v1 file_ids accepted")
	}

	// Modify: file_ids replaces code_interpreter files, null clears them.
	for _, c := range []struct{ in, tr string }{
		{`{"file_ids":["file-9"]}`, `{"code_interpreter":{"file_ids":["file-9"]}}`},
		{`{"file_ids":[]}`, `{"code_interpreter":{"file_ids":[]}}`},
		{`{"file_ids":null}`, `{"code_interpreter":{"file_ids":[]}}`},
		{`{"name":"x"}`, `{"code_interpreter":{"file_ids":["file-1"]}}`},
	} {
		var m schema.AssistantModifyRequestV1
		if err := schema.DecodeStrict([]byte(c.in), &m); err != nil {
			t.Fatal(err)
		}
		req, err := m.V2()
		if err != nil {
			t.Fatal(err)
		}
		a := &schema.Assistant{ToolResources: schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{"file-1"}}}}
		req.Patch(a)
		if got := marshal(t, a.ToolResources); got != c.tr {
			t.Errorf("v1 modify %s: tool_resources %s, want %s", c.in, got, c.tr)
		}
	}

	// Messages: file_ids ↔ attachments for both tools.
	var mv1 schema.MessageCreateRequestV1
	if err := schema.DecodeStrict([]byte(`{"role":"user","content":"x","file_ids":["file-1"]}`), &mv1); err != nil {
		t.Fatal(err)
	}
	mreq, err := mv1.V2()
	if err != nil {
		t.Fatal(err)
	}
	msg := mreq.Message("msg_1", "thread_1", 1)
	if got := marshal(t, msg.Attachments); got != `[{"file_id":"file-1","tools":[{"type":"code_interpreter"},{"type":"file_search"}]}]` {
		t.Errorf("attachments = %s", got)
	}
	mback := decodeMap(t, marshal(t, msg.V1()))
	if !reflect.DeepEqual(mback["file_ids"], []any{"file-1"}) {
		t.Errorf("v1 message file_ids = %v", mback["file_ids"])
	}
	for _, k := range []string{"attachments", "status", "incomplete_details", "completed_at", "incomplete_at"} {
		if _, ok := mback[k]; ok {
			t.Errorf("v1 message has v2 key %s", k)
		}
	}
	if _, err := (&schema.MessageCreateRequestV1{Role: "user", FileIDs: make([]string, 11)}).V2(); err == nil {
		t.Errorf("11 v1 message files accepted")
	}
	var tv1 schema.ThreadCreateRequestV1
	schema.DecodeStrict([]byte(`{"messages":[{"role":"user","content":"x","file_ids":["a","b","c","d","e","f","g","h","i","j","k"]}]}`), &tv1)
	if _, err := tv1.V2(); err == nil {
		t.Errorf("11 v1 thread message files accepted")
	} else if verr := (*schema.ValidationError)(nil); !errors.As(err, &verr) || verr.Param != "messages[0].file_ids" {
		t.Errorf("v1 thread message files: %v", err)
	}

	// v1 file citations carry quote; v2 ones do not.
	cited := &schema.Message{Content: []schema.ContentPart{{Type: "text", Text: &schema.Text{Value: "v", Annotations: []schema.Annotation{
		{Type: "file_citation", Text: "[1]", FileCitation: &schema.FileCitation{FileID: "file-1"}, StartIndex: 0, EndIndex: 3},
	}}}}}
	if got := marshal(t, cited.V1().Content); !jsonEq(got, `[{"type":"text","text":{"value":"v","annotations":[{"type":"file_citation","text":"[1]","file_citation":{"file_id":"file-1","quote":""},"start_index":0,"end_index":3}]}}]`) {
		t.Errorf("v1 citation = %s", got)
	}
	if got := marshal(t, cited.Content); !jsonEq(got, `[{"type":"text","text":{"value":"v","annotations":[{"type":"file_citation","text":"[1]","file_citation":{"file_id":"file-1"},"start_index":0,"end_index":3}]}}]`) {
		t.Errorf("v1 view mutated the v2 message: %s", got)
	}

	// Threads: v1 shape has no tool_resources.
	th := &schema.Thread{ID: "thread_1", Object: "thread", CreatedAt: 1, ToolResources: schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{}}}}
	if got := marshal(t, th.V1()); got != `{"id":"thread_1","object":"thread","created_at":1,"metadata":{}}` {
		t.Errorf("v1 thread = %s", got)
	}
}

func decodeMapJSON(t *testing.T, s, key string) string {
	t.Helper()
	b, _ := json.Marshal(decodeMap(t, s)[key])
	return string(b)
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := schema.NewID(schema.PrefixFile)
		if len(id) != len("file-")+24 || !schema.HasPrefix(id, schema.PrefixFile) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, c := range []struct {
		id, prefix string
		ok         bool
	}{
		{"asst_1", "asst_", true},
		{"asst_", "asst_", false},
		{"thread_1", "asst_", false},
		{"file_1", "file-", false},
		{"asst_" + repeat("x", 200), "asst_", false},
	} {
		if schema.HasPrefix(c.id, c.prefix) != c.ok {
			t.Errorf("HasPrefix(%q, %q) != %v", c.id, c.prefix, c.ok)
		}
	}
}
