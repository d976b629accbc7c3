package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/assistd/assistd/internal/schema"
)

// roundTrip marshals v, decodes the bytes into a fresh *T, marshals that
// again and fails unless both encodings are identical.
func roundTrip[T any](t *testing.T, what string, v *T) {
	t.Helper()
	b1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
	var back T
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatalf("%s: re-decoding %s: %v", what, b1, err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatalf("%s: marshal again: %v", what, err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("%s: unstable encoding:\n%s\n%s", what, b1, b2)
	}
}

func mustMarshal(t *testing.T, what string, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
}

func baseAssistant() *schema.Assistant {
	name := "n"
	return &schema.Assistant{ID: "asst_1", Object: "assistant", CreatedAt: 1, Name: &name, Model: "m", Tools: []schema.Tool{{Type: "code_interpreter"}},
		ToolResources: schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{"file-1"}}}, Metadata: schema.Metadata{"a": "b"}}
}

func baseThread() *schema.Thread {
	return &schema.Thread{ID: "thread_1", Object: "thread", CreatedAt: 1, Metadata: schema.Metadata{"a": "b"}}
}

func checkAssistantCreate(t *testing.T, req *schema.AssistantCreateRequest) {
	if req.Validate() != nil {
		return
	}
	a := req.Assistant("asst_x", 1)
	roundTrip(t, "assistant", a)
	roundTrip(t, "assistant v1", a.V1())
}

func checkMessageCreate(t *testing.T, req *schema.MessageCreateRequest) {
	if req.Validate() != nil {
		return
	}
	m := req.Message("msg_x", "thread_x", 1)
	roundTrip(t, "message", m)
	roundTrip(t, "message v1", m.V1())
}

func checkThreadCreate(t *testing.T, req *schema.ThreadCreateRequest) {
	if req.Validate() != nil {
		return
	}
	th := req.Thread("thread_x", 1)
	roundTrip(t, "thread", th)
	roundTrip(t, "thread v1", th.V1())
	for i := range req.Messages {
		m := req.Messages[i].Message("msg_x", th.ID, 1)
		roundTrip(t, "thread message", m)
	}
}

// checkRunOptions builds a run from valid options and checks that it and
// its v1 view encode stably.
func checkRunOptions(t *testing.T, o *schema.RunOptions, verr error, additional *string) {
	if verr != nil {
		return
	}
	run := o.NewRun("run_x", "thread_x", baseAssistant(), additional, 1, 601)
	if o.ToolChoice != nil && o.ToolChoice.Validate("tool_choice", run.Tools) != nil {
		return
	}
	roundTrip(t, "run", run)
	roundTrip(t, "run v1", run.V1())
}

// FuzzDecodeRequests decodes arbitrary bytes strictly into every request
// type: nothing may panic, and whatever validates must build an object that
// marshals and re-decodes to the same bytes.
func FuzzDecodeRequests(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"model":"gpt-4o"}`,
		`{"model":"gpt-4o","name":"n","description":null,"instructions":"i","tools":[{"type":"code_interpreter"},{"type":"file_search","file_search":{"max_num_results":5,"ranking_options":{"ranker":"auto","score_threshold":0.5}}},{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}],"tool_resources":{"code_interpreter":{"file_ids":["file-1"]},"file_search":{"vector_store_ids":["vs_1"]}},"metadata":{"k":"v"},"temperature":1,"top_p":0.5,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"reasoning_effort":"low"}`,
		`{"model":"m","response_format":"auto"}`,
		`{"name":null,"tools":null,"tool_resources":null,"metadata":null,"response_format":{"type":"json_object"}}`,
		`{"role":"user","content":"hello"}`,
		`{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"image_file","image_file":{"file_id":"file-1","detail":"low"}},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"attachments":[{"file_id":"file-2","tools":[{"type":"file_search"},{"type":"code_interpreter"}]}],"metadata":{"a":"b"}}`,
		`{"messages":[{"role":"user","content":"hi","file_ids":["file-1"]}],"metadata":{}}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"tool_resources":{"code_interpreter":{"file_ids":[]},"file_search":{"vector_stores":[{"file_ids":["file-1"],"metadata":{"a":"b"}}]}}}`,
		`{"model":"m","tools":[{"type":"retrieval"}],"file_ids":["file-1"]}`,
		`{"metadata":{"a":"b"},"tool_resources":{"file_search":{"vector_store_ids":[]}}}`,
		`{"model":"m","tools":[{"type":"function","function":{"name":"bad name"}}]}`,
		`{"role":"user","content":[]}`,
		`{"model":5,"metadata":"x","tools":{}}`,
		`{"role":"user","content":[{"type":"video"}]}`,
		`{"model":"m"} trailing`,
		`[1,2,3]`,
		`{"model":"m","temperature":3,"top_p":-1,"response_format":{"type":"json_schema"}}`,
		`{"assistant_id":"asst_1","model":"m","instructions":"i","additional_instructions":"more","additional_messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}},"truncation_strategy":{"type":"last_messages","last_messages":2},"max_prompt_tokens":256,"max_completion_tokens":300,"parallel_tool_calls":false,"stream":true,"metadata":{"a":"b"}}`,
		`{"assistant_id":"asst_1","thread":{"messages":[{"role":"user","content":"hi"}]},"tool_resources":{"code_interpreter":{"file_ids":["file-1"]}},"tool_choice":"required","response_format":{"type":"json_object"}}`,
		`{"tool_outputs":[{"tool_call_id":"call_1","output":"x"}],"stream":false}`,
		`{"assistant_id":"asst_1","tool_choice":{},"truncation_strategy":{"type":"auto","last_messages":1},"max_prompt_tokens":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		{
			var req schema.AssistantCreateRequest
			if schema.DecodeStrict(data, &req) == nil {
				_ = schema.RejectV2Retrieval(req.Tools, "tools")
				checkAssistantCreate(t, &req)
			}
		}
		{
			var req schema.AssistantModifyRequest
			if schema.DecodeStrict(data, &req) == nil && req.Validate() == nil {
				a := baseAssistant()
				req.Patch(a)
				roundTrip(t, "patched assistant", a)
				roundTrip(t, "patched assistant v1", a.V1())
			}
		}
		{
			var req schema.ThreadCreateRequest
			if schema.DecodeStrict(data, &req) == nil {
				checkThreadCreate(t, &req)
			}
		}
		{
			var req schema.ThreadModifyRequest
			if schema.DecodeStrict(data, &req) == nil && req.Validate() == nil {
				th := baseThread()
				req.Patch(th)
				roundTrip(t, "patched thread", th)
			}
		}
		{
			var req schema.MessageCreateRequest
			if schema.DecodeStrict(data, &req) == nil {
				checkMessageCreate(t, &req)
			}
		}
		{
			var req schema.MessageModifyRequest
			if schema.DecodeStrict(data, &req) == nil && req.Validate() == nil {
				m := &schema.Message{ID: "msg_1", Object: "thread.message", ThreadID: "thread_1", Role: "user", Content: []schema.ContentPart{schema.TextPart("x")}}
				req.Patch(m)
				roundTrip(t, "patched message", m)
			}
		}
		{
			var req schema.AssistantCreateRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				if v2, err := req.V2(); err == nil {
					checkAssistantCreate(t, v2)
				}
			}
		}
		{
			var req schema.AssistantModifyRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				if v2, err := req.V2(); err == nil && v2.Validate() == nil {
					a := baseAssistant()
					v2.Patch(a)
					roundTrip(t, "v1-patched assistant", a)
					roundTrip(t, "v1-patched assistant v1", a.V1())
				}
			}
		}
		{
			var req schema.ThreadCreateRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				if v2, err := req.V2(); err == nil {
					checkThreadCreate(t, v2)
				}
			}
		}
		{
			var req schema.ThreadModifyRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				v2 := req.V2()
				if v2.Validate() == nil {
					th := baseThread()
					v2.Patch(th)
					roundTrip(t, "v1-patched thread", th)
					mustMarshal(t, "v1 thread", th.V1())
				}
			}
		}
		{
			var req schema.RunCreateRequest
			if schema.DecodeStrict(data, &req) == nil {
				checkRunOptions(t, &req.RunOptions, req.Validate(), req.AdditionalInstructions)
			}
		}
		{
			var req schema.ThreadAndRunCreateRequest
			if schema.DecodeStrict(data, &req) == nil {
				checkRunOptions(t, &req.RunOptions, req.Validate(), nil)
			}
		}
		{
			var req schema.RunCreateRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				if v2, err := req.V2(); err == nil {
					checkRunOptions(t, &v2.RunOptions, v2.Validate(), v2.AdditionalInstructions)
				}
			}
		}
		{
			var req schema.SubmitToolOutputsRequest
			if schema.DecodeStrict(data, &req) == nil {
				_ = req.Validate([]schema.RequiredToolCall{{ID: "call_1", Type: "function"}})
			}
		}
		{
			var req schema.MessageCreateRequestV1
			if schema.DecodeStrict(data, &req) == nil {
				if v2, err := req.V2(); err == nil {
					checkMessageCreate(t, v2)
				}
			}
		}
	})
}
