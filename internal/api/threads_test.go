package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"
)

func TestThreadCreateWithMessagesAndResources(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	img := h.upload(h.A, "cat.png", openai.FilePurposeVision, []byte("\x89PNG fake image"))
	ci := h.upload(h.A, "data.csv", openai.FilePurposeAssistants, []byte("a,b\n"))
	doc := h.upload(h.A, "doc.txt", openai.FilePurposeAssistants, []byte("text"))

	th, err := h.A.Beta.Threads.New(ctx, openai.BetaThreadNewParams{
		Metadata: shared.Metadata{"user": "u1"},
		ToolResources: openai.BetaThreadNewParamsToolResources{
			CodeInterpreter: openai.BetaThreadNewParamsToolResourcesCodeInterpreter{FileIDs: []string{ci.ID}},
		},
		Messages: []openai.BetaThreadNewParamsMessage{
			{Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: param.NewOpt("Hello")}},
			{Role: "assistant", Content: openai.BetaThreadNewParamsMessageContentUnion{OfArrayOfContentParts: []openai.MessageContentPartParamUnion{
				openai.MessageContentPartParamOfText("Look:"),
				openai.MessageContentPartParamOfImageFile(openai.ImageFileParam{FileID: img.ID, Detail: "low"}),
				openai.MessageContentPartParamOfImageURL(openai.ImageURLParam{URL: "https://example.com/a.png", Detail: "high"}),
			}}},
			{Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: param.NewOpt("with a file")},
				Attachments: []openai.BetaThreadNewParamsMessageAttachment{{
					FileID: param.NewOpt(doc.ID),
					Tools: []openai.BetaThreadNewParamsMessageAttachmentToolUnion{
						{OfFileSearch: &openai.BetaThreadNewParamsMessageAttachmentToolFileSearch{}},
						{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}},
					},
				}},
				Metadata: shared.Metadata{"k": "v"},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(th.ID, "thread_") || th.Object != "thread" || th.CreatedAt == 0 || th.Metadata["user"] != "u1" {
		t.Errorf("thread: %s", th.RawJSON())
	}
	if ids := th.ToolResources.CodeInterpreter.FileIDs; len(ids) != 1 || ids[0] != ci.ID {
		t.Errorf("tool_resources: %s", th.RawJSON())
	}
	got, err := h.A.Beta.Threads.Get(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(got.RawJSON(), th.RawJSON()) {
		t.Errorf("get differs from create:\n%s\n%s", got.RawJSON(), th.RawJSON())
	}

	page, err := h.A.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 3 {
		t.Fatalf("thread has %d messages, want 3: %s", len(page.Data), page.RawJSON())
	}
	m0, m1, m2 := page.Data[0], page.Data[1], page.Data[2]
	for _, m := range page.Data {
		o := rawObject(t, m.RawJSON())
		if !strings.HasPrefix(m.ID, "msg_") || m.Object != "thread.message" || m.ThreadID != th.ID || m.Status != "completed" ||
			o["run_id"] != nil || o["assistant_id"] != nil || o["incomplete_details"] != nil || o["incomplete_at"] != nil || m.CompletedAt == 0 {
			t.Errorf("message fields: %s", m.RawJSON())
		}
	}
	if m0.Role != "user" || len(m0.Content) != 1 || m0.Content[0].Type != "text" || m0.Content[0].Text.Value != "Hello" ||
		!reflect.DeepEqual(rawObject(t, m0.Content[0].RawJSON())["text"], map[string]any{"value": "Hello", "annotations": []any{}}) {
		t.Errorf("string content: %s", m0.RawJSON())
	}
	if !reflect.DeepEqual(rawObject(t, m0.RawJSON())["attachments"], []any{}) || !reflect.DeepEqual(rawObject(t, m0.RawJSON())["metadata"], map[string]any{}) {
		t.Errorf("empty attachments/metadata: %s", m0.RawJSON())
	}
	if m1.Role != "assistant" || len(m1.Content) != 3 ||
		m1.Content[0].Type != "text" || m1.Content[0].Text.Value != "Look:" ||
		m1.Content[1].Type != "image_file" || m1.Content[1].ImageFile.FileID != img.ID || m1.Content[1].ImageFile.Detail != "low" ||
		m1.Content[2].Type != "image_url" || m1.Content[2].ImageURL.URL != "https://example.com/a.png" || m1.Content[2].ImageURL.Detail != "high" {
		t.Errorf("content parts: %s", m1.RawJSON())
	}
	if len(m2.Attachments) != 1 || m2.Attachments[0].FileID != doc.ID || len(m2.Attachments[0].Tools) != 2 ||
		m2.Attachments[0].Tools[0].Type != "file_search" || m2.Attachments[0].Tools[1].Type != "code_interpreter" || m2.Metadata["k"] != "v" {
		t.Errorf("attachments: %s", m2.RawJSON())
	}
	// Messages of one create share the thread's created_at but keep order.
	desc, err := h.A.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Data) != 3 || desc.Data[0].ID != m2.ID || desc.Data[2].ID != m0.ID {
		t.Errorf("default order is not newest first")
	}
}

func TestThreadCreateEmptyBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, body := range []any{nil, "", "{}", "  {}  "} {
		r := h.do("POST", "/v1/threads", h.keyA, body)
		if r.Status != 200 {
			t.Errorf("create with body %q: %s", body, r)
			continue
		}
		o := r.object(t)
		if !reflect.DeepEqual(o["metadata"], map[string]any{}) || !reflect.DeepEqual(o["tool_resources"], map[string]any{}) {
			t.Errorf("empty thread: %s", r.Body)
		}
	}
}

func TestThreadUpdateDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	f1 := h.upload(h.A, "a.txt", openai.FilePurposeAssistants, []byte("a"))
	f2 := h.upload(h.A, "b.txt", openai.FilePurposeAssistants, []byte("b"))
	th, err := h.A.Beta.Threads.New(ctx, openai.BetaThreadNewParams{
		Metadata: shared.Metadata{"a": "1", "b": "2"},
		ToolResources: openai.BetaThreadNewParamsToolResources{
			CodeInterpreter: openai.BetaThreadNewParamsToolResourcesCodeInterpreter{FileIDs: []string{f1.ID}},
		},
		Messages: []openai.BetaThreadNewParamsMessage{{Role: "user", Content: openai.BetaThreadNewParamsMessageContentUnion{OfString: param.NewOpt("hi")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Metadata only: replaced, tool_resources unchanged.
	up, err := h.A.Beta.Threads.Update(ctx, th.ID, openai.BetaThreadUpdateParams{Metadata: shared.Metadata{"c": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(map[string]string(up.Metadata), map[string]string{"c": "3"}) {
		t.Errorf("metadata not replaced: %s", up.RawJSON())
	}
	if !jsonEqual(mustJSON(rawObject(t, up.RawJSON())["tool_resources"]), mustJSON(rawObject(t, th.RawJSON())["tool_resources"])) {
		t.Errorf("tool_resources changed by a metadata update: %s", up.RawJSON())
	}
	// tool_resources replaced, metadata unchanged.
	up, err = h.A.Beta.Threads.Update(ctx, th.ID, openai.BetaThreadUpdateParams{ToolResources: openai.BetaThreadUpdateParamsToolResources{
		CodeInterpreter: openai.BetaThreadUpdateParamsToolResourcesCodeInterpreter{FileIDs: []string{f2.ID}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := up.ToolResources.CodeInterpreter.FileIDs; len(ids) != 1 || ids[0] != f2.ID || up.Metadata["c"] != "3" {
		t.Errorf("tool_resources update: %s", up.RawJSON())
	}
	// null clears.
	r := h.mustDo(200, "POST", "/v1/threads/"+th.ID, h.keyA, `{"metadata":null,"tool_resources":null}`)
	o := r.object(t)
	if !reflect.DeepEqual(o["metadata"], map[string]any{}) {
		t.Errorf("metadata null: %s", r.Body)
	}
	if tr, ok := o["tool_resources"].(map[string]any); o["tool_resources"] != nil && (!ok || len(tr) != 0) {
		t.Errorf("tool_resources null: %s", r.Body)
	}
	if got := h.snapshot(h.keyA, "/v1/threads/"+th.ID); !jsonEqual(got, string(r.Body)) {
		t.Errorf("GET differs from the update's answer:\n%s\n%s", got, r.Body)
	}

	msgs, err := h.A.Beta.Threads.Messages.List(ctx, th.ID, openai.BetaThreadMessageListParams{})
	if err != nil || len(msgs.Data) != 1 {
		t.Fatalf("messages: %v %v", msgs, err)
	}
	del, err := h.A.Beta.Threads.Delete(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != th.ID || !del.Deleted || del.Object != "thread.deleted" {
		t.Errorf("delete: %s", del.RawJSON())
	}
	_, err = h.A.Beta.Threads.Get(ctx, th.ID)
	if e := apiErrOf(t, err); e.StatusCode != 404 || e.Message != "No thread found with id '"+th.ID+"'." {
		t.Errorf("get after delete: %v", err)
	}
	// Its messages went with it.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/threads/" + th.ID + "/messages"},
		{"POST", "/v1/threads/" + th.ID + "/messages"},
		{"GET", "/v1/threads/" + th.ID + "/messages/" + msgs.Data[0].ID},
		{"POST", "/v1/threads/" + th.ID},
		{"DELETE", "/v1/threads/" + th.ID},
	} {
		var body any
		if c.method == "POST" {
			body = `{"role":"user","content":"x"}`
			if !strings.HasSuffix(c.path, "/messages") {
				body = `{}`
			}
		}
		if r := h.do(c.method, c.path, h.keyA, body); r.Status != 404 {
			t.Errorf("%s %s after thread delete: %s", c.method, c.path, r)
		}
	}
}

func TestMessagesCRUDAndPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	th, err := h.A.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.A.Beta.Threads.New(ctx, openai.BetaThreadNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	doc := h.upload(h.A, "doc.txt", openai.FilePurposeAssistants, []byte("text"))
	img := h.upload(h.A, "img.png", openai.FilePurposeVision, []byte("png"))

	var ids []string
	for i := range 5 {
		m, err := h.A.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{
			Role:    "user",
			Content: openai.BetaThreadMessageNewParamsContentUnion{OfString: param.NewOpt(fmt.Sprintf("m%d", i))},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	m, err := h.A.Beta.Threads.Messages.New(ctx, th.ID, openai.BetaThreadMessageNewParams{
		Role: "assistant",
		Content: openai.BetaThreadMessageNewParamsContentUnion{OfArrayOfContentParts: []openai.MessageContentPartParamUnion{
			openai.MessageContentPartParamOfImageFile(openai.ImageFileParam{FileID: img.ID}),
			openai.MessageContentPartParamOfText("see image"),
		}},
		Attachments: []openai.BetaThreadMessageNewParamsAttachment{{
			FileID: param.NewOpt(doc.ID),
			Tools:  []openai.BetaThreadMessageNewParamsAttachmentToolUnion{{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}}},
		}},
		Metadata: shared.Metadata{"x": "y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, m.ID)
	if m.Role != "assistant" || m.ThreadID != th.ID || len(m.Content) != 2 || m.Content[0].ImageFile.FileID != img.ID ||
		len(m.Attachments) != 1 || m.Attachments[0].FileID != doc.ID || m.Attachments[0].Tools[0].Type != "code_interpreter" {
		t.Errorf("create: %s", m.RawJSON())
	}
	got, err := h.A.Beta.Threads.Messages.Get(ctx, th.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(got.RawJSON(), m.RawJSON()) {
		t.Errorf("get differs:\n%s\n%s", got.RawJSON(), m.RawJSON())
	}

	// A message is reachable only through its own thread.
	if r := h.do("GET", "/v1/threads/"+other.ID+"/messages/"+m.ID, h.keyA, nil); r.Status != 404 ||
		r.apiError(t).Error.Message != "No message found with id '"+m.ID+"'." {
		t.Errorf("message through another thread: %s", r)
	}
	if r := h.do("POST", "/v1/threads/"+other.ID+"/messages/"+m.ID, h.keyA, `{"metadata":{"z":"1"}}`); r.Status != 404 {
		t.Errorf("modify through another thread: %s", r)
	}
	if r := h.do("DELETE", "/v1/threads/"+other.ID+"/messages/"+m.ID, h.keyA, nil); r.Status != 404 {
		t.Errorf("delete through another thread: %s", r)
	}
	if after, _ := h.A.Beta.Threads.Messages.Get(ctx, th.ID, m.ID); after == nil || !jsonEqual(after.RawJSON(), m.RawJSON()) {
		t.Errorf("message changed by requests through another thread")
	}

	// Modify: metadata replaced; nothing else changes.
	up, err := h.A.Beta.Threads.Messages.Update(ctx, th.ID, m.ID, openai.BetaThreadMessageUpdateParams{Metadata: shared.Metadata{"n": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	uo, mo := rawObject(t, up.RawJSON()), rawObject(t, m.RawJSON())
	if !reflect.DeepEqual(uo["metadata"], map[string]any{"n": "1"}) {
		t.Errorf("metadata not replaced: %s", up.RawJSON())
	}
	delete(uo, "metadata")
	delete(mo, "metadata")
	if !reflect.DeepEqual(uo, mo) {
		t.Errorf("modify changed more than metadata:\n%v\n%v", uo, mo)
	}
	r := h.mustDo(200, "POST", "/v1/threads/"+th.ID+"/messages/"+m.ID, h.keyA, `{}`)
	if !reflect.DeepEqual(r.object(t)["metadata"], map[string]any{"n": "1"}) {
		t.Errorf("empty modify changed metadata: %s", r.Body)
	}
	r = h.mustDo(200, "POST", "/v1/threads/"+th.ID+"/messages/"+m.ID, h.keyA, `{"metadata":null}`)
	if !reflect.DeepEqual(r.object(t)["metadata"], map[string]any{}) {
		t.Errorf("metadata null: %s", r.Body)
	}

	// Pagination.
	rev := reversed(ids)
	listIDs := func(p openai.BetaThreadMessageListParams) ([]string, bool) {
		t.Helper()
		page, err := h.A.Beta.Threads.Messages.List(ctx, th.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range page.Data {
			out = append(out, m.ID)
		}
		return out, page.HasMore
	}
	for _, c := range []struct {
		name string
		p    openai.BetaThreadMessageListParams
		want []string
		more bool
	}{
		{"desc", openai.BetaThreadMessageListParams{}, rev, false},
		{"asc limit 4", openai.BetaThreadMessageListParams{Order: "asc", Limit: param.NewOpt[int64](4)}, ids[:4], true},
		{"asc after", openai.BetaThreadMessageListParams{Order: "asc", After: param.NewOpt(ids[3])}, ids[4:], false},
		{"desc before", openai.BetaThreadMessageListParams{Before: param.NewOpt(ids[2]), Limit: param.NewOpt[int64](2)}, []string{ids[4], ids[3]}, true},
		{"run_id filter", openai.BetaThreadMessageListParams{RunID: param.NewOpt("run_abc123")}, nil, false},
		{"cursor from another thread", openai.BetaThreadMessageListParams{After: param.NewOpt("msg_nothere")}, nil, false},
	} {
		got, more := listIDs(c.p)
		if !reflect.DeepEqual(got, c.want) || more != c.more {
			t.Errorf("%s: %v has_more=%v, want %v has_more=%v", c.name, got, more, c.want, c.more)
		}
	}
	var all []string
	it := h.A.Beta.Threads.Messages.ListAutoPaging(ctx, th.ID, openai.BetaThreadMessageListParams{Limit: param.NewOpt[int64](4), Order: "asc"})
	for it.Next() {
		all = append(all, it.Current().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, ids) {
		t.Errorf("auto-paging: %v, want %v", all, ids)
	}
	// The other thread is empty, and a list of it says so.
	if n := h.count(h.keyA, "/v1/threads/"+other.ID+"/messages"); n != 0 {
		t.Errorf("other thread lists %d messages", n)
	}

	// Delete.
	del, err := h.A.Beta.Threads.Messages.Delete(ctx, th.ID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != ids[0] || !del.Deleted || del.Object != "thread.message.deleted" {
		t.Errorf("delete: %s", del.RawJSON())
	}
	_, err = h.A.Beta.Threads.Messages.Get(ctx, th.ID, ids[0])
	if e := apiErrOf(t, err); e.StatusCode != 404 {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := h.A.Beta.Threads.Messages.Delete(ctx, th.ID, ids[0]); apiErrOf(t, err).StatusCode != 404 {
		t.Errorf("second delete: %v", err)
	}
	if n := h.count(h.keyA, "/v1/threads/"+th.ID+"/messages"); n != 5 {
		t.Errorf("%d messages after delete, want 5", n)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
