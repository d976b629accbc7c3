package schema_test

import (
	"testing"

	"github.com/assistd/assistd/internal/schema"
)

// FuzzVectorStoreRequests decodes arbitrary bodies as every vector store
// request: nothing may panic, and what validates must build objects that
// encode stably. A valid search filter must also survive a round trip
// with the same verdict on sample attributes.
func FuzzVectorStoreRequests(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","file_ids":["file-1"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":200,"chunk_overlap_tokens":100}},"expires_after":{"anchor":"last_active_at","days":3}}`,
		`{"file_id":"file-1","attributes":{"a":1,"b":"x","c":true}}`,
		`{"files":[{"file_id":"f","chunking_strategy":{"type":"auto"}}]}`,
		`{"query":["a","b"],"filters":{"type":"or","filters":[{"type":"in","key":"k","value":[1,"x"]},{"type":"ne","key":"z","value":false}]}}`,
		`{"name":null,"expires_after":null}`,
	} {
		f.Add([]byte(s))
	}
	attrs := []map[string]any{nil, {"k": 1.0, "z": false, "a": "x"}, {"k": "x", "n": 3.5}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c schema.VectorStoreCreateRequest
		if schema.DecodeStrict(body, &c) == nil && c.Validate() == nil {
			roundTrip(t, "vector store", c.VectorStore("vs_1", 1))
		}
		var m schema.VectorStoreModifyRequest
		if schema.DecodeStrict(body, &m) == nil && m.Validate() == nil {
			vs := (&schema.VectorStoreCreateRequest{}).VectorStore("vs_1", 1)
			m.Patch(vs)
			roundTrip(t, "modified vector store", vs)
		}
		var fc schema.VectorStoreFileCreateRequest
		if schema.DecodeStrict(body, &fc) == nil && fc.Validate() == nil {
			roundTrip(t, "vector store file", fc.File("vs_1", 1))
		}
		var b schema.VectorStoreFileBatchCreateRequest
		if schema.DecodeStrict(body, &b) == nil && b.Validate() == nil {
			for _, e := range b.Entries() {
				roundTrip(t, "batch file", e.File("vs_1", 1))
			}
		}
		var s schema.VectorStoreSearchRequest
		if schema.DecodeStrict(body, &s) == nil && s.Validate() == nil && s.Filters != nil {
			roundTrip(t, "filter", s.Filters)
			var back schema.Filter
			if err := schema.DecodeStrict([]byte(marshal(t, s.Filters)), &back); err != nil {
				t.Fatalf("re-decoding a valid filter: %v", err)
			}
			if err := back.Validate("filters"); err != nil {
				t.Fatalf("a valid filter re-decoded invalid: %v", err)
			}
			for _, a := range attrs {
				if s.Filters.Match(a) != back.Match(a) {
					t.Fatalf("filter verdict changed by a round trip on %v", a)
				}
			}
		}
	})
}
