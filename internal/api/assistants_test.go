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

func TestAssistantCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	f := h.upload(h.A, "data.csv", openai.FilePurposeAssistants, []byte("a,b\n1,2\n"))

	a, err := h.A.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{
		Model:        "gpt-4o",
		Name:         param.NewOpt("Math tutor"),
		Description:  param.NewOpt("Helps with math"),
		Instructions: param.NewOpt("You are a math tutor."),
		Temperature:  param.NewOpt(0.5),
		TopP:         param.NewOpt(0.9),
		Metadata:     shared.Metadata{"team": "edu", "tier": "1"},
		Tools: []openai.AssistantToolUnionParam{
			{OfCodeInterpreter: &openai.CodeInterpreterToolParam{}},
			{OfFileSearch: &openai.FileSearchToolParam{FileSearch: openai.FileSearchToolFileSearchParam{
				MaxNumResults:  param.NewOpt[int64](7),
				RankingOptions: openai.FileSearchToolFileSearchRankingOptionsParam{Ranker: "auto", ScoreThreshold: 0.25},
			}}},
			{OfFunction: &openai.FunctionToolParam{Function: shared.FunctionDefinitionParam{
				Name:        "get_weather",
				Description: param.NewOpt("Weather for a city"),
				Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
				Strict:      param.NewOpt(true),
			}}},
		},
		ToolResources: openai.BetaAssistantNewParamsToolResources{
			CodeInterpreter: openai.BetaAssistantNewParamsToolResourcesCodeInterpreter{FileIDs: []string{f.ID}},
		},
		ResponseFormat: openai.AssistantResponseFormatOptionUnionParam{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name:   "answer",
				Schema: map[string]any{"type": "object"},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "asst_") || a.Object != "assistant" || a.CreatedAt == 0 || a.Model != "gpt-4o" ||
		a.Name != "Math tutor" || a.Description != "Helps with math" || a.Instructions != "You are a math tutor." ||
		a.Temperature != 0.5 || a.TopP != 0.9 || a.Metadata["team"] != "edu" || len(a.Metadata) != 2 {
		t.Errorf("create echoed %s", a.RawJSON())
	}
	if len(a.Tools) != 3 || a.Tools[0].Type != "code_interpreter" || a.Tools[1].Type != "file_search" ||
		a.Tools[1].FileSearch.MaxNumResults != 7 || a.Tools[1].FileSearch.RankingOptions.ScoreThreshold != 0.25 ||
		a.Tools[2].Function.Name != "get_weather" || !a.Tools[2].Function.Strict {
		t.Errorf("tools echoed %s", a.RawJSON())
	}
	if ids := a.ToolResources.CodeInterpreter.FileIDs; len(ids) != 1 || ids[0] != f.ID {
		t.Errorf("tool_resources echoed %s", a.RawJSON())
	}
	if a.ResponseFormat.Type != "json_schema" || a.ResponseFormat.JSONSchema.Name != "answer" {
		t.Errorf("response_format echoed %s", a.RawJSON())
	}

	got, err := h.A.Beta.Assistants.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(got.RawJSON(), a.RawJSON()) {
		t.Errorf("get differs from create:\n%s\n%s", got.RawJSON(), a.RawJSON())
	}

	// Update: name changes, description set to null, metadata replaced,
	// everything absent stays.
	up, err := h.A.Beta.Assistants.Update(ctx, a.ID, openai.BetaAssistantUpdateParams{
		Name:        param.NewOpt("Algebra tutor"),
		Description: param.Null[string](),
		Metadata:    shared.Metadata{"tier": "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	upObj := rawObject(t, up.RawJSON())
	if upObj["name"] != "Algebra tutor" || upObj["description"] != nil {
		t.Errorf("update: %s", up.RawJSON())
	}
	if !reflect.DeepEqual(upObj["metadata"], map[string]any{"tier": "2"}) {
		t.Errorf("metadata not replaced: %v", upObj["metadata"])
	}
	orig := rawObject(t, a.RawJSON())
	for _, k := range []string{"id", "object", "created_at", "model", "instructions", "tools", "tool_resources", "temperature", "top_p", "response_format"} {
		if !reflect.DeepEqual(orig[k], upObj[k]) {
			t.Errorf("update changed %s: %v → %v", k, orig[k], upObj[k])
		}
	}

	// Raw updates: nulls clear (sampling fields back to their defaults), {}
	// changes nothing, "auto" is a string.
	before := h.snapshot(h.keyA, "/v1/assistants/"+a.ID)
	r := h.mustDo(200, "POST", "/v1/assistants/"+a.ID, h.keyA, `{}`)
	if !jsonEqual(string(r.Body), before) {
		t.Errorf("empty update changed the assistant:\n%s\n%s", r.Body, before)
	}
	r = h.mustDo(200, "POST", "/v1/assistants/"+a.ID, h.keyA,
		`{"instructions":null,"temperature":null,"top_p":null,"metadata":null,"tools":[],"tool_resources":{},"response_format":"auto","model":"gpt-4.1"}`)
	o := r.object(t)
	if o["instructions"] != nil {
		t.Errorf("instructions not cleared: %v", o["instructions"])
	}
	for _, k := range []string{"temperature", "top_p"} {
		if o[k] != 1.0 {
			t.Errorf("%s not reset to 1: %v", k, o[k])
		}
	}
	if o["response_format"] != "auto" || o["model"] != "gpt-4.1" || o["name"] != "Algebra tutor" {
		t.Errorf("update: %s", r.Body)
	}
	if !reflect.DeepEqual(o["tools"], []any{}) || !reflect.DeepEqual(o["metadata"], map[string]any{}) {
		t.Errorf("tools/metadata not cleared: %s", r.Body)
	}
	if tr, _ := o["tool_resources"].(map[string]any); len(tr) != 0 && !reflect.DeepEqual(tr, map[string]any{"code_interpreter": map[string]any{"file_ids": []any{}}}) {
		t.Errorf("tool_resources not replaced: %v", o["tool_resources"])
	}
	if got := h.snapshot(h.keyA, "/v1/assistants/"+a.ID); !jsonEqual(got, string(r.Body)) {
		t.Errorf("GET after update differs from the update's answer:\n%s\n%s", got, r.Body)
	}
	// response_format objects round-trip.
	for _, rf := range []string{`{"type":"text"}`, `{"type":"json_object"}`, `"auto"`} {
		r := h.mustDo(200, "POST", "/v1/assistants/"+a.ID, h.keyA, `{"response_format":`+rf+`}`)
		if got, _ := json.Marshal(r.object(t)["response_format"]); string(got) != rf {
			t.Errorf("response_format %s echoed as %s", rf, got)
		}
	}

	del, err := h.A.Beta.Assistants.Delete(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != a.ID || !del.Deleted || del.Object != "assistant.deleted" {
		t.Errorf("delete: %s", del.RawJSON())
	}
	_, err = h.A.Beta.Assistants.Get(ctx, a.ID)
	if e := apiErrOf(t, err); e.StatusCode != 404 || e.Message != "No assistant found with id '"+a.ID+"'." {
		t.Errorf("get after delete: %v", err)
	}
	for _, m := range []string{"POST", "DELETE"} {
		r := h.do(m, "/v1/assistants/"+a.ID, h.keyA, `{}`)
		if r.Status != 404 || r.apiError(t).Error.Message != "No assistant found with id '"+a.ID+"'." {
			t.Errorf("%s after delete: %s", m, r)
		}
	}
}

func TestAssistantCreateMinimalDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustDo(200, "POST", "/v1/assistants", h.keyA, `{"model":"gpt-4o-mini"}`)
	o := r.object(t)
	want := map[string]any{"name": nil, "description": nil, "instructions": nil, "tools": []any{}, "metadata": map[string]any{},
		"temperature": 1.0, "top_p": 1.0, "response_format": "auto"}
	for k, v := range want {
		if !reflect.DeepEqual(o[k], v) {
			t.Errorf("%s = %#v, want %#v", k, o[k], v)
		}
	}
	for _, k := range []string{"id", "object", "created_at", "name", "description", "model", "instructions", "tools", "metadata"} {
		if _, ok := o[k]; !ok {
			t.Errorf("required key %s missing: %s", k, r.Body)
		}
	}
	// The headers every answer carries.
	if !strings.HasPrefix(r.Header.Get("X-Request-Id"), "req_") || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", r.Header)
	}
}

func TestAssistantListPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var ids []string // creation order
	for i := range 7 {
		a, err := h.A.Beta.Assistants.New(ctx, openai.BetaAssistantNewParams{Model: "gpt-4o", Name: param.NewOpt(fmt.Sprintf("a%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	rev := reversed(ids)

	list := func(p openai.BetaAssistantListParams) ([]string, bool, string, string) {
		t.Helper()
		page, err := h.A.Beta.Assistants.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range page.Data {
			got = append(got, a.ID)
		}
		o := rawObject(t, page.RawJSON())
		first, _ := o["first_id"].(string)
		last, _ := o["last_id"].(string)
		if o["object"] != "list" {
			t.Errorf("object = %v", o["object"])
		}
		return got, page.HasMore, first, last
	}
	check := func(name string, p openai.BetaAssistantListParams, want []string, wantMore bool) {
		t.Helper()
		got, more, first, last := list(p)
		if !reflect.DeepEqual(got, want) || more != wantMore {
			t.Errorf("%s: got %v has_more=%v, want %v has_more=%v", name, got, more, want, wantMore)
			return
		}
		if len(want) > 0 && (first != want[0] || last != want[len(want)-1]) {
			t.Errorf("%s: first_id %s last_id %s, want %s %s", name, first, last, want[0], want[len(want)-1])
		}
		if len(want) == 0 && (first != "" || last != "") {
			t.Errorf("%s: empty page with first_id %q last_id %q", name, first, last)
		}
	}
	check("default (desc)", openai.BetaAssistantListParams{}, rev, false)
	check("asc", openai.BetaAssistantListParams{Order: "asc"}, ids, false)
	check("desc limit 3", openai.BetaAssistantListParams{Limit: param.NewOpt[int64](3)}, rev[:3], true)
	check("desc after", openai.BetaAssistantListParams{Limit: param.NewOpt[int64](3), After: param.NewOpt(rev[2])}, rev[3:6], true)
	check("desc after, last page", openai.BetaAssistantListParams{Limit: param.NewOpt[int64](3), After: param.NewOpt(rev[5])}, rev[6:], false)
	check("asc after", openai.BetaAssistantListParams{Order: "asc", Limit: param.NewOpt[int64](2), After: param.NewOpt(ids[1])}, ids[2:4], true)
	// before returns the items nearest the cursor, still in the requested order.
	check("asc before", openai.BetaAssistantListParams{Order: "asc", Limit: param.NewOpt[int64](2), Before: param.NewOpt(ids[4])}, ids[2:4], true)
	check("desc before", openai.BetaAssistantListParams{Limit: param.NewOpt[int64](2), Before: param.NewOpt(rev[4])}, rev[2:4], true)
	check("asc before first", openai.BetaAssistantListParams{Order: "asc", Before: param.NewOpt(ids[0])}, nil, false)
	check("after last", openai.BetaAssistantListParams{After: param.NewOpt(rev[6])}, nil, false)
	check("after and before", openai.BetaAssistantListParams{Order: "asc", After: param.NewOpt(ids[1]), Before: param.NewOpt(ids[5])}, ids[2:5], false)
	check("limit 100", openai.BetaAssistantListParams{Limit: param.NewOpt[int64](100)}, rev, false)
	check("unknown cursor", openai.BetaAssistantListParams{After: param.NewOpt("asst_doesnotexist")}, nil, false)

	// Auto-paging over several pages, both orders.
	for _, order := range []openai.BetaAssistantListParamsOrder{"asc", "desc"} {
		var got []string
		it := h.A.Beta.Assistants.ListAutoPaging(ctx, openai.BetaAssistantListParams{Limit: param.NewOpt[int64](2), Order: order})
		for it.Next() {
			got = append(got, it.Current().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		want := ids
		if order == "desc" {
			want = rev
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("auto-paging %s: %v, want %v", order, got, want)
		}
	}

	// A deleted cursor object yields an empty page rather than an error.
	if _, err := h.A.Beta.Assistants.Delete(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	if n := h.count(h.keyA, "/v1/assistants"); n != 6 {
		t.Errorf("count after delete = %d", n)
	}
	// Project B sees none of them.
	check2, _, _, _ := func() ([]string, bool, string, string) {
		page, err := h.B.Beta.Assistants.List(ctx, openai.BetaAssistantListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range page.Data {
			got = append(got, a.ID)
		}
		return got, page.HasMore, "", ""
	}()
	if len(check2) != 0 {
		t.Errorf("project B lists A's assistants: %v", check2)
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func rawObject(t testing.TB, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
