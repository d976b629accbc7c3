package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assistd/assistd/internal/schema"
)

// compactJSON re-encodes s without insignificant whitespace.
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// vsRoundTrip decodes want into a T and checks that it encodes back to the same JSON.
func vsRoundTrip[T any](t *testing.T, want string) *T {
	t.Helper()
	v := new(T)
	if err := json.Unmarshal([]byte(want), v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	got := compactJSON(t, marshal(t, v))
	if w := compactJSON(t, want); got != w {
		t.Fatalf("round trip:\n got: %s\nwant: %s", got, w)
	}
	return v
}

func TestVectorStoreJSON(t *testing.T) {
	// The spec's example (less its stray last_used_at), with the optional
	// fields present.
	v := vsRoundTrip[schema.VectorStore](t, `{
		"id": "vs_123", "object": "vector_store", "created_at": 1698107661, "name": "my_vector_store",
		"usage_bytes": 123456,
		"file_counts": {"in_progress": 0, "completed": 100, "failed": 0, "cancelled": 0, "total": 100},
		"status": "completed", "expires_after": {"anchor": "last_active_at", "days": 7},
		"expires_at": 1698712461, "last_active_at": 1698107661, "metadata": {"k": "v"}}`)
	if v.FileCounts.Completed != 100 || v.ExpiresAfter.Days != 7 || *v.LastActiveAt != 1698107661 {
		t.Fatalf("decoded %+v", v)
	}
	// Required fields stay on the wire when empty; expires_after is omitted.
	empty := schema.VectorStore{ID: "vs_1", Object: "vector_store", Status: schema.VectorStoreCompleted}
	want := `{"id":"vs_1","object":"vector_store","created_at":0,"name":"","usage_bytes":0,` +
		`"file_counts":{"in_progress":0,"completed":0,"failed":0,"cancelled":0,"total":0},` +
		`"status":"completed","expires_at":null,"last_active_at":null,"metadata":{}}`
	if got := marshal(t, empty); got != want {
		t.Fatalf("empty store:\n got: %s\nwant: %s", got, want)
	}
	// The embedding model never reaches the wire.
	empty.EmbeddingModel = "text-embedding-3-small"
	if got := marshal(t, empty); strings.Contains(got, "embedding") {
		t.Fatalf("embedding model on the wire: %s", got)
	}
}

func TestVectorStoreFileJSON(t *testing.T) {
	f := vsRoundTrip[schema.VectorStoreFile](t, `{
		"id": "file-abc123", "object": "vector_store.file", "usage_bytes": 1234, "created_at": 1698107661,
		"vector_store_id": "vs_abc123", "status": "completed", "last_error": null,
		"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}},
		"attributes": {"author": "Ann", "year": 2024, "draft": false}}`)
	if f.Attributes["year"] != 2024.0 || f.ChunkingStrategy.Static.MaxChunkSizeTokens != 800 {
		t.Fatalf("decoded %+v", f)
	}
	vsRoundTrip[schema.VectorStoreFile](t, `{
		"id": "file-1", "object": "vector_store.file", "usage_bytes": 0, "created_at": 1,
		"vector_store_id": "vs_1", "status": "failed",
		"last_error": {"code": "unsupported_file", "message": "no text"},
		"chunking_strategy": {"type": "other"}, "attributes": null}`)
	// last_error and attributes are null, not absent, when unset.
	got := marshal(t, schema.NewVectorStoreFile("file-1", "vs_1", 5, nil, nil))
	want := `{"id":"file-1","object":"vector_store.file","usage_bytes":0,"created_at":5,"vector_store_id":"vs_1",` +
		`"status":"in_progress","last_error":null,` +
		`"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":800,"chunk_overlap_tokens":400}},"attributes":null}`
	if got != want {
		t.Fatalf("new file:\n got: %s\nwant: %s", got, want)
	}
}

func TestVectorStoreFileBatchJSON(t *testing.T) {
	vsRoundTrip[schema.VectorStoreFileBatch](t, `{
		"id": "vsfb_123", "object": "vector_store.files_batch", "created_at": 1698107661,
		"vector_store_id": "vs_abc123", "status": "completed",
		"file_counts": {"in_progress": 0, "completed": 100, "failed": 0, "cancelled": 0, "total": 100}}`)
}

func TestSearchPagesJSON(t *testing.T) {
	vsRoundTrip[schema.VectorStoreSearchResultsPage](t, `{
		"object": "vector_store.search_results.page", "search_query": ["What is the return policy?"],
		"data": [{"file_id": "file_123", "filename": "document.pdf", "score": 0.95,
			"attributes": {"author": "John Doe", "date": "2023-01-01"},
			"content": [{"type": "text", "text": "Relevant chunk"}]}],
		"has_more": false, "next_page": null}`)
	vsRoundTrip[schema.VectorStoreFileContentPage](t, `{
		"object": "vector_store.file_content.page", "data": [{"type": "text", "text": "hello"}],
		"has_more": false, "next_page": null}`)
	vsRoundTrip[schema.DeletedObject](t, `{"id": "vs_1", "object": "vector_store.deleted", "deleted": true}`)
}

func TestFileCountsAndDerive(t *testing.T) {
	var c schema.VectorStoreFileCounts
	c.Add(schema.VectorStoreFileInProgress, 2)
	c.Add(schema.VectorStoreFileCompleted, 3)
	c.Add(schema.VectorStoreFileFailed, 1)
	c.Add(schema.VectorStoreFileCancelled, 4)
	if c != (schema.VectorStoreFileCounts{InProgress: 2, Completed: 3, Failed: 1, Cancelled: 4, Total: 10}) {
		t.Fatalf("counts = %+v", c)
	}
	exp := int64(100)
	for _, tc := range []struct {
		name      string
		expiresAt *int64
		counts    schema.VectorStoreFileCounts
		now       int64
		want      string
	}{
		{"empty", nil, schema.VectorStoreFileCounts{}, 50, schema.VectorStoreCompleted},
		{"ingesting", nil, c, 50, schema.VectorStoreInProgress},
		{"done", nil, schema.VectorStoreFileCounts{Completed: 1, Failed: 1, Total: 2}, 50, schema.VectorStoreCompleted},
		{"before expiry", &exp, c, 99, schema.VectorStoreInProgress},
		{"at expiry", &exp, c, 100, schema.VectorStoreExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := schema.VectorStore{ExpiresAt: tc.expiresAt}
			v.Derive(tc.counts, 42, tc.now)
			if v.Status != tc.want || v.UsageBytes != 42 || v.FileCounts != tc.counts {
				t.Fatalf("Derive: %+v, want status %s", v, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name      string
		counts    schema.VectorStoreFileCounts
		cancelled bool
		want      string
	}{
		{"running", schema.VectorStoreFileCounts{InProgress: 1, Total: 1}, false, schema.VectorStoreFileInProgress},
		{"cancelling", schema.VectorStoreFileCounts{InProgress: 1, Total: 1}, true, schema.VectorStoreFileInProgress},
		{"cancelled", schema.VectorStoreFileCounts{Cancelled: 1, Completed: 1, Total: 2}, true, schema.VectorStoreFileCancelled},
		{"all failed", schema.VectorStoreFileCounts{Failed: 2, Total: 2}, false, schema.VectorStoreFileFailed},
		{"some failed", schema.VectorStoreFileCounts{Failed: 1, Completed: 1, Total: 2}, false, schema.VectorStoreFileCompleted},
		{"empty", schema.VectorStoreFileCounts{}, false, schema.VectorStoreFileCompleted},
	} {
		t.Run("batch "+tc.name, func(t *testing.T) {
			var b schema.VectorStoreFileBatch
			b.Derive(tc.counts, tc.cancelled)
			if b.Status != tc.want {
				t.Fatalf("batch status = %s, want %s", b.Status, tc.want)
			}
		})
	}
}

func TestVectorStoreExpiry(t *testing.T) {
	r := decodeValid[schema.VectorStoreCreateRequest](t, `{"name":"docs","file_ids":["file-1"],"expires_after":{"anchor":"last_active_at","days":2},"metadata":{"a":"b"}}`)
	v := r.VectorStore("vs_1", 1000)
	if v.Name != "docs" || *v.LastActiveAt != 1000 || v.ExpiresAt == nil || *v.ExpiresAt != 1000+2*86400 {
		t.Fatalf("created %+v", v)
	}
	if v.Status != schema.VectorStoreInProgress || v.FileCounts.Total != 1 || v.Object != "vector_store" {
		t.Fatalf("created with files: %+v", v)
	}
	v.SetActive(5000)
	if *v.LastActiveAt != 5000 || *v.ExpiresAt != 5000+2*86400 {
		t.Fatalf("after SetActive: %v %v", *v.LastActiveAt, *v.ExpiresAt)
	}
	// Modify: a new policy recomputes expires_at from last activity; null removes it.
	m := decodeValid[schema.VectorStoreModifyRequest](t, `{"expires_after":{"anchor":"last_active_at","days":1},"name":null}`)
	m.Patch(v)
	if v.Name != "" || *v.ExpiresAt != 5000+86400 {
		t.Fatalf("after modify: %+v", v)
	}
	m = decodeValid[schema.VectorStoreModifyRequest](t, `{"expires_after":null,"metadata":{"x":"y"}}`)
	m.Patch(v)
	if v.ExpiresAfter != nil || v.ExpiresAt != nil || v.Metadata["x"] != "y" {
		t.Fatalf("after clearing expiry: %+v", v)
	}
	// A store without files starts completed and never expires.
	v = decodeValid[schema.VectorStoreCreateRequest](t, `{}`).VectorStore("vs_2", 7)
	if v.Status != schema.VectorStoreCompleted || v.ExpiresAt != nil || *v.LastActiveAt != 7 {
		t.Fatalf("empty store %+v", v)
	}
}

// decodeValid decodes body strictly and requires it to validate.
func decodeValid[T any, P interface {
	*T
	Validate() error
}](t *testing.T, body string) P {
	t.Helper()
	var v T
	if err := schema.DecodeStrict([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if err := P(&v).Validate(); err != nil {
		t.Fatalf("Validate %s: %v", body, err)
	}
	return &v
}

// validationCase is a request body and the param its error must name ("" = valid).
type validationCase struct {
	body  string
	param string
}

// checkValidation decodes each body into a new T and checks Validate's
// verdict; bodies that fail to decode count as invalid with param "decode".
func checkValidation[T any, P interface {
	*T
	Validate() error
}](t *testing.T, cases []validationCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			var v T
			err := schema.DecodeStrict([]byte(c.body), &v)
			param := ""
			if err != nil {
				var verr *schema.ValidationError
				param = "decode"
				if errors.As(err, &verr) {
					param = verr.Param
				}
			} else if err = P(&v).Validate(); err != nil {
				var verr *schema.ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("Validate returned %T %v, want a *schema.ValidationError", err, err)
				}
				if verr.Message == "" {
					t.Fatalf("empty message")
				}
				param = verr.Param
			}
			if param != c.param {
				t.Fatalf("param %q (err %v), want %q", param, err, c.param)
			}
		})
	}
}

func TestVectorStoreCreateValidation(t *testing.T) {
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("%q", fmt.Sprint("file-", i))
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	checkValidation[schema.VectorStoreCreateRequest](t, []validationCase{
		{`{}`, ""},
		{`{"name":"n","description":"d","file_ids":` + ids(500) + `}`, ""},
		{`{"file_ids":` + ids(501) + `}`, "file_ids"},
		{`{"file_ids":["file-1",""]}`, "file_ids[1]"},
		{`{"expires_after":{"anchor":"last_active_at","days":1}}`, ""},
		{`{"expires_after":{"anchor":"last_active_at","days":365}}`, ""},
		{`{"expires_after":{"anchor":"last_active_at","days":0}}`, "expires_after.days"},
		{`{"expires_after":{"anchor":"last_active_at","days":366}}`, "expires_after.days"},
		{`{"expires_after":{"anchor":"created_at","days":3}}`, "expires_after.anchor"},
		{`{"expires_after":{"anchor":"last_active_at","days":3,"x":1}}`, "decode"},
		{`{"chunking_strategy":{"type":"auto"}}`, "chunking_strategy"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"auto"}}`, ""},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":100,"chunk_overlap_tokens":50}}}`, ""},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":4096,"chunk_overlap_tokens":0}}}`, ""},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":99,"chunk_overlap_tokens":0}}}`, "chunking_strategy.static.max_chunk_size_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":4097,"chunk_overlap_tokens":0}}}`, "chunking_strategy.static.max_chunk_size_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":100,"chunk_overlap_tokens":51}}}`, "chunking_strategy.static.chunk_overlap_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":800,"chunk_overlap_tokens":-1}}}`, "chunking_strategy.static.chunk_overlap_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":800}}}`, "chunking_strategy.static.chunk_overlap_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"chunk_overlap_tokens":400}}}`, "chunking_strategy.static.max_chunk_size_tokens"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static"}}`, "chunking_strategy.static"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"auto","static":{"max_chunk_size_tokens":800,"chunk_overlap_tokens":400}}}`, "chunking_strategy.static"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"other"}}`, "chunking_strategy.type"},
		{`{"file_ids":["f"],"chunking_strategy":{}}`, "chunking_strategy.type"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"auto","extra":1}}`, "decode"},
		{`{"file_ids":["f"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":800,"chunk_overlap_tokens":400,"x":1}}}`, "decode"},
		{`{"metadata":{"k":"` + strings.Repeat("v", 513) + `"}}`, "metadata.k"},
		{`{"unknown":1}`, "decode"},
	})
}

func TestVectorStoreModifyValidation(t *testing.T) {
	checkValidation[schema.VectorStoreModifyRequest](t, []validationCase{
		{`{}`, ""},
		{`{"name":null,"expires_after":null,"metadata":null}`, ""},
		{`{"name":"x","expires_after":{"anchor":"last_active_at","days":30}}`, ""},
		{`{"expires_after":{"anchor":"last_active_at","days":400}}`, "expires_after.days"},
		{`{"metadata":{"k":1}}`, "decode"},
		{`{"file_ids":[]}`, "decode"},
	})
}

func TestVectorStoreFileRequestsValidation(t *testing.T) {
	attrs := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"k%d":%d`, i, i)
		}
		return "{" + strings.Join(s, ",") + "}"
	}
	checkValidation[schema.VectorStoreFileCreateRequest](t, []validationCase{
		{`{"file_id":"file-1"}`, ""},
		{`{"file_id":"file-1","attributes":null}`, ""},
		{`{"file_id":"file-1","attributes":{"s":"x","n":1.5,"b":true}}`, ""},
		{`{"file_id":"file-1","attributes":` + attrs(16) + `}`, ""},
		{`{"file_id":"file-1","attributes":` + attrs(17) + `}`, "attributes"},
		{`{"file_id":"file-1","attributes":{"` + strings.Repeat("k", 65) + `":1}}`, "attributes"},
		{`{"file_id":"file-1","attributes":{"` + strings.Repeat("é", 64) + `":1}}`, ""},
		{`{"file_id":"file-1","attributes":{"s":"` + strings.Repeat("ü", 512) + `"}}`, ""},
		{`{"file_id":"file-1","attributes":{"s":"` + strings.Repeat("ü", 513) + `"}}`, "attributes.s"},
		{`{"file_id":"file-1","attributes":{"o":{"x":1}}}`, "attributes.o"},
		{`{"file_id":"file-1","attributes":{"a":[1]}}`, "attributes.a"},
		{`{"file_id":"file-1","attributes":{"z":null}}`, "attributes.z"},
		{`{"file_id":"file-1","chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":50,"chunk_overlap_tokens":0}}}`, "chunking_strategy.static.max_chunk_size_tokens"},
		{`{}`, "file_id"},
		{`{"file_id":"file-1","purpose":"x"}`, "decode"},
	})
	checkValidation[schema.VectorStoreFileUpdateRequest](t, []validationCase{
		{`{"attributes":{"a":"b"}}`, ""},
		{`{"attributes":null}`, ""},
		{`{}`, "attributes"},
		{`{"attributes":{"a":{}}}`, "attributes.a"},
	})
	checkValidation[schema.VectorStoreFileBatchCreateRequest](t, []validationCase{
		{`{"file_ids":["file-1","file-2"],"attributes":{"a":1},"chunking_strategy":{"type":"auto"}}`, ""},
		{`{"files":[{"file_id":"file-1","attributes":{"a":1}},{"file_id":"file-2"}]}`, ""},
		{`{}`, "file_ids"},
		{`{"file_ids":[]}`, "file_ids"},
		{`{"files":[]}`, "files"},
		{`{"file_ids":["a"],"files":[{"file_id":"b"}]}`, "files"},
		{`{"files":[{"file_id":"b"},{}]}`, "files[1].file_id"},
		{`{"files":[{"file_id":"b","attributes":{"x":[]}}]}`, "files[0].attributes.x"},
		{`{"files":[{"file_id":"b","chunking_strategy":{"type":"x"}}]}`, "files[0].chunking_strategy.type"},
		{`{"file_ids":["a"],"attributes":{"x":{}}}`, "attributes.x"},
		{`{"file_ids":["a",""]}`, "file_ids[1]"},
	})
	// Entries spread the batch's shared settings over file_ids.
	r := decodeValid[schema.VectorStoreFileBatchCreateRequest](t, `{"file_ids":["f1","f2"],"attributes":{"a":1}}`)
	es := r.Entries()
	if len(es) != 2 || es[1].FileID != "f2" || es[1].Attributes["a"] != 1.0 || es[0].ChunkingStrategy != nil {
		t.Fatalf("entries %+v", es)
	}
	f := es[0].File("vs_1", 9)
	if f.ChunkingStrategy.Type != schema.ChunkingStatic || f.ChunkingStrategy.Static.ChunkOverlapTokens != 400 || f.Status != schema.VectorStoreFileInProgress {
		t.Fatalf("file %+v", f)
	}
	// Update replaces attributes, and null clears them.
	u := decodeValid[schema.VectorStoreFileUpdateRequest](t, `{"attributes":null}`)
	u.Patch(f)
	if f.Attributes != nil {
		t.Fatalf("attributes after null update: %v", f.Attributes)
	}
}

func TestChunkingResolved(t *testing.T) {
	var nilStrategy *schema.ChunkingStrategy
	for _, c := range []struct {
		in       *schema.ChunkingStrategy
		max, ovl int
	}{
		{nilStrategy, 800, 400},
		{&schema.ChunkingStrategy{Type: "auto"}, 800, 400},
		{&schema.ChunkingStrategy{Type: "static", Static: &schema.StaticChunking{MaxChunkSizeTokens: 300, ChunkOverlapTokens: 20}}, 300, 20},
	} {
		r := c.in.Resolved()
		if r.Type != "static" || r.Static.MaxChunkSizeTokens != c.max || r.Static.ChunkOverlapTokens != c.ovl {
			t.Errorf("Resolved(%+v) = %+v", c.in, r.Static)
		}
		if c.in != nil && c.in.Static != nil && r.Static == c.in.Static {
			t.Errorf("Resolved shares its static parameters with the request")
		}
	}
}

func TestVectorStoreSearchValidation(t *testing.T) {
	checkValidation[schema.VectorStoreSearchRequest](t, []validationCase{
		{`{"query":"refund policy"}`, ""},
		{`{"query":["a","b"],"rewrite_query":true,"max_num_results":50,"ranking_options":{"ranker":"default-2024-11-15","score_threshold":0.5}}`, ""},
		{`{"query":"q","ranking_options":{"ranker":"none"}}`, ""},
		{`{}`, "query"},
		{`{"query":""}`, "query"},
		{`{"query":[]}`, "query"},
		{`{"query":null}`, "query"},
		{`{"query":["a",""]}`, "query[1]"},
		{`{"query":5}`, "decode"},
		{`{"query":"q","max_num_results":0}`, "max_num_results"},
		{`{"query":"q","max_num_results":51}`, "max_num_results"},
		{`{"query":"q","ranking_options":{"ranker":"best"}}`, "ranking_options.ranker"},
		{`{"query":"q","ranking_options":{"score_threshold":1.5}}`, "ranking_options.score_threshold"},
		{`{"query":"q","ranking_options":{"score_threshold":-0.1}}`, "ranking_options.score_threshold"},
		{`{"query":"q","ranking_options":{"x":1}}`, "decode"},
		{`{"query":"q","filters":{"type":"eq","key":"a","value":"b"}}`, ""},
		{`{"query":"q","filters":{"type":"in","key":"a","value":["b",1]}}`, ""},
		{`{"query":"q","filters":{"type":"and","filters":[{"type":"gt","key":"n","value":3},{"type":"or","filters":[{"type":"eq","key":"b","value":true}]}]}}`, ""},
		{`{"query":"q","filters":{"type":"eq","key":"a"}}`, "filters.value"},
		{`{"query":"q","filters":{"type":"eq","value":1}}`, "filters.key"},
		{`{"query":"q","filters":{"key":"a","value":1}}`, "filters.type"},
		{`{"query":"q","filters":{"type":"like","key":"a","value":1}}`, "filters.type"},
		{`{"query":"q","filters":{"type":3,"key":"a","value":1}}`, "filters.type"},
		{`{"query":"q","filters":{"type":"eq","key":"a","value":{"x":1}}}`, "filters.value"},
		{`{"query":"q","filters":{"type":"eq","key":"a","value":null}}`, "filters.value"},
		{`{"query":"q","filters":{"type":"eq","key":"a","value":[1]}}`, "filters.value"},
		{`{"query":"q","filters":{"type":"in","key":"a","value":"x"}}`, "filters.value"},
		{`{"query":"q","filters":{"type":"nin","key":"a","value":[true]}}`, "filters.value[0]"},
		{`{"query":"q","filters":{"type":"and","filters":[{"type":"eq","key":"a","value":1},{"type":"eq","key":"","value":1}]}}`, "filters.filters[1].key"},
		{`{"query":"q","filters":{"type":"eq","key":"a","value":1,"filters":[]}}`, "decode"},
		{`{"query":"q","filters":{"type":"and","filters":[],"key":"a"}}`, "decode"},
		{`{"query":"q","filters":{"type":"and","filters":[{"type":"eq","key":"a","value":1,"x":2}]}}`, "decode"},
		{`{"query":"q","filters":` + nested(20) + `}`, "filters" + strings.Repeat(".filters[0]", 16)},
	})
	r := decodeValid[schema.VectorStoreSearchRequest](t, `{"query":"one"}`)
	if len(r.Query) != 1 || r.Query[0] != "one" || r.Limit() != 10 {
		t.Fatalf("decoded %+v, limit %d", r, r.Limit())
	}
}

// nested returns n and-filters nested in each other around one comparison.
func nested(n int) string {
	s := `{"type":"eq","key":"a","value":1}`
	for range n {
		s = `{"type":"and","filters":[` + s + `]}`
	}
	return s
}

func TestFilterJSONRoundTrip(t *testing.T) {
	for _, s := range []string{
		`{"type":"eq","key":"a","value":"b"}`,
		`{"type":"nin","key":"a","value":["b",2]}`,
		`{"type":"or","filters":[{"type":"lte","key":"n","value":3.5},{"type":"and","filters":[]}]}`,
	} {
		vsRoundTrip[schema.Filter](t, s)
	}
}

func TestFilterMatch(t *testing.T) {
	attrs := map[string]any{"author": "ann", "year": 2024.0, "draft": false, "n": 3, "title": "b"}
	f := func(s string) schema.Filter {
		t.Helper()
		var x schema.Filter
		if err := schema.DecodeStrict([]byte(s), &x); err != nil {
			t.Fatalf("decode %s: %v", s, err)
		}
		if err := x.Validate("filters"); err != nil {
			t.Fatalf("validate %s: %v", s, err)
		}
		return x
	}
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{`{"type":"eq","key":"author","value":"ann"}`, true},
		{`{"type":"eq","key":"author","value":"bob"}`, false},
		{`{"type":"eq","key":"year","value":2024}`, true},
		{`{"type":"eq","key":"n","value":3.0}`, true}, // int attribute against a JSON number
		{`{"type":"eq","key":"year","value":"2024"}`, false},
		{`{"type":"eq","key":"draft","value":false}`, true},
		{`{"type":"eq","key":"draft","value":0}`, false},
		{`{"type":"eq","key":"missing","value":"x"}`, false},
		{`{"type":"ne","key":"author","value":"bob"}`, true},
		{`{"type":"ne","key":"author","value":"ann"}`, false},
		{`{"type":"ne","key":"missing","value":"x"}`, true},
		{`{"type":"ne","key":"year","value":"2024"}`, true},
		{`{"type":"gt","key":"year","value":2023}`, true},
		{`{"type":"gt","key":"year","value":2024}`, false},
		{`{"type":"gte","key":"year","value":2024}`, true},
		{`{"type":"lt","key":"year","value":2024.5}`, true},
		{`{"type":"lte","key":"year","value":2023}`, false},
		{`{"type":"gt","key":"year","value":"2023"}`, false},
		{`{"type":"gt","key":"title","value":"a"}`, true},
		{`{"type":"lt","key":"title","value":"a"}`, false},
		{`{"type":"gte","key":"title","value":"b"}`, true},
		{`{"type":"gt","key":"draft","value":true}`, false},
		{`{"type":"gt","key":"missing","value":1}`, false},
		{`{"type":"lt","key":"missing","value":1}`, false},
		{`{"type":"in","key":"author","value":["bob","ann"]}`, true},
		{`{"type":"in","key":"year","value":["2024",2024]}`, true},
		{`{"type":"in","key":"author","value":["bob"]}`, false},
		{`{"type":"in","key":"missing","value":["bob"]}`, false},
		{`{"type":"nin","key":"author","value":["bob"]}`, true},
		{`{"type":"nin","key":"author","value":["ann"]}`, false},
		{`{"type":"nin","key":"missing","value":["ann"]}`, true},
		{`{"type":"and","filters":[{"type":"eq","key":"author","value":"ann"},{"type":"gte","key":"year","value":2020}]}`, true},
		{`{"type":"and","filters":[{"type":"eq","key":"author","value":"ann"},{"type":"gte","key":"year","value":2030}]}`, false},
		{`{"type":"or","filters":[{"type":"eq","key":"author","value":"bob"},{"type":"eq","key":"draft","value":false}]}`, true},
		{`{"type":"or","filters":[{"type":"eq","key":"author","value":"bob"},{"type":"eq","key":"draft","value":true}]}`, false},
		{`{"type":"and","filters":[{"type":"or","filters":[{"type":"eq","key":"x","value":1},{"type":"eq","key":"n","value":3}]},{"type":"ne","key":"author","value":"zed"}]}`, true},
		{`{"type":"and","filters":[]}`, true},
		{`{"type":"or","filters":[]}`, false},
	} {
		t.Run(c.filter, func(t *testing.T) {
			x := f(c.filter)
			if got := x.Match(attrs); got != c.want {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
		})
	}
	// No attributes at all: only negations match.
	if x := f(`{"type":"ne","key":"a","value":1}`); !x.Match(nil) {
		t.Errorf("ne on nil attributes did not match")
	}
	if x := f(`{"type":"eq","key":"a","value":1}`); x.Match(nil) {
		t.Errorf("eq on nil attributes matched")
	}
}
