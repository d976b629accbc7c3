package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
)

// waitStore polls the vector store until no file is in progress.
func (h *harness) waitStore(key, id string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		vs := h.mustDo(200, "GET", "/v1/vector_stores/"+id, key, nil).object(h.t)
		if dig(vs, "file_counts", "in_progress").(float64) == 0 {
			return vs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("vector store %s still in progress: %v", id, vs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// searchFiles runs a search and returns the results' filenames, best first.
func (h *harness) searchFiles(key, storeID, body string) ([]string, []map[string]any) {
	h.t.Helper()
	page := h.mustDo(200, "POST", "/v1/vector_stores/"+storeID+"/search", key, body).object(h.t)
	var names []string
	var data []map[string]any
	for _, d := range page["data"].([]any) {
		m := d.(map[string]any)
		names = append(names, m["filename"].(string))
		data = append(data, m)
	}
	return names, data
}

var notes = map[string]string{
	"volcanoes.md": "# Volcanoes\n\nA volcano is a rupture in the crust of a planet where lava, volcanic ash and gases escape from a magma chamber below the surface.",
	"bees.txt":     "Honey bees communicate the location of flowers with the waggle dance. The colony collects nectar and turns it into honey.",
	"tides.html":   "<html><head><title>Tides</title></head><body><h1>Tides</h1><p>Ocean tides are caused by the gravitational pull of the Moon and the Sun on the oceans.</p><script>var x = 'volcano';</script></body></html>",
}

// TestVectorStoreLifecycle drives the whole vector store surface through the
// official Go SDK and raw HTTP (every response validated against the spec):
// files are ingested in the background, searched by keyword with scores in
// [0,1], filtered by attributes, their parsed content is served, and deleting
// a file or the store removes what was indexed.
func TestVectorStoreLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	ids := map[string]string{}
	for name, text := range notes {
		ids[name] = h.upload(h.A, name, openai.FilePurposeAssistants, []byte(text)).ID
	}

	vs, err := h.A.VectorStores.New(ctx, openai.VectorStoreNewParams{
		Name:     param.NewOpt("notes"),
		FileIDs:  []string{ids["volcanoes.md"], ids["bees.txt"]},
		Metadata: map[string]string{"team": "geo"},
		ExpiresAfter: openai.VectorStoreNewParamsExpiresAfter{
			Days: 3,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Object != "vector_store" || !strings.HasPrefix(vs.ID, "vs_") || vs.Name != "notes" || vs.FileCounts.Total != 2 || vs.Metadata["team"] != "geo" ||
		vs.ExpiresAfter.Days != 3 || vs.ExpiresAt != vs.LastActiveAt+3*86400 {
		t.Fatalf("created: %+v", vs)
	}
	// A file added alone, with attributes, and through the SDK's poll helper.
	f, err := h.A.VectorStores.Files.NewAndPoll(ctx, vs.ID, openai.VectorStoreFileNewParams{
		FileID: ids["tides.html"],
		Attributes: map[string]openai.VectorStoreFileNewParamsAttributeUnion{
			"topic": {OfString: param.NewOpt("ocean")}, "year": {OfFloat: param.NewOpt(2024.0)},
		},
	}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != "completed" || f.VectorStoreID != vs.ID || f.UsageBytes == 0 || f.ChunkingStrategy.Type != "static" ||
		f.ChunkingStrategy.Static.MaxChunkSizeTokens != 800 || f.ChunkingStrategy.Static.ChunkOverlapTokens != 400 {
		t.Fatalf("file after poll: %+v", f)
	}
	got := h.waitStore(h.keyA, vs.ID)
	if dig(got, "status") != "completed" || dig(got, "file_counts", "completed").(float64) != 3 || dig(got, "usage_bytes").(float64) <= 0 {
		t.Fatalf("store after ingestion: %v", got)
	}

	names, data := h.searchFiles(h.keyA, vs.ID, `{"query":"what causes ocean tides?"}`)
	if len(names) == 0 || names[0] != "tides.html" {
		t.Fatalf("tides search: %v", names)
	}
	if s := data[0]["score"].(float64); s <= 0 || s > 1 {
		t.Errorf("score %v not in (0,1]", s)
	}
	content := dig(data[0], "content", 0, "text").(string)
	if !strings.Contains(content, "gravitational pull of the Moon") || strings.Contains(content, "var x") {
		t.Errorf("tides chunk: %q", content)
	}
	if dig(data[0], "attributes", "topic") != "ocean" {
		t.Errorf("attributes: %v", data[0]["attributes"])
	}
	// The html's script is not text: "volcano" finds the Markdown file only.
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"volcano lava"}`); len(names) != 1 || names[0] != "volcanoes.md" {
		t.Errorf("volcano search: %v", names)
	}
	// Query arrays, max_num_results, filters, score_threshold.
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":["honey bees","lava"],"max_num_results":1}`); len(names) != 1 {
		t.Errorf("max_num_results 1: %v", names)
	}
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"tides","filters":{"type":"eq","key":"topic","value":"forest"}}`); len(names) != 0 {
		t.Errorf("filter that matches nothing: %v", names)
	}
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"tides moon","filters":{"type":"and","filters":[{"type":"eq","key":"topic","value":"ocean"},{"type":"gte","key":"year","value":2000}]}}`); len(names) != 1 || names[0] != "tides.html" {
		t.Errorf("compound filter: %v", names)
	}
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"tides moon","ranking_options":{"score_threshold":1}}`); len(names) != 0 {
		t.Errorf("score_threshold 1 kept %v", names)
	}
	page := h.mustDo(200, "POST", "/v1/vector_stores/"+vs.ID+"/search", h.keyA, `{"query":"Which insects make honey?","rewrite_query":true}`).object(t)
	if q := dig(page, "search_query", 0).(string); strings.Contains(q, "Which") || !strings.Contains(q, "honey") {
		t.Errorf("rewritten query %q", q)
	}

	// Parsed content of a file.
	fc := h.mustDo(200, "GET", "/v1/vector_stores/"+vs.ID+"/files/"+ids["bees.txt"]+"/content", h.keyA, nil).object(t)
	if dig(fc, "object") != "vector_store.file_content.page" || !strings.Contains(dig(fc, "data", 0, "text").(string), "waggle dance") {
		t.Errorf("content: %v", fc)
	}

	// Attribute update, list with a status filter, modify.
	h.mustDo(200, "POST", "/v1/vector_stores/"+vs.ID+"/files/"+ids["bees.txt"], h.keyA, `{"attributes":{"topic":"insects"}}`)
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"honey","filters":{"type":"eq","key":"topic","value":"insects"}}`); len(names) != 1 || names[0] != "bees.txt" {
		t.Errorf("filter after attribute update: %v", names)
	}
	if n := len(h.listAll(h.keyA, "/v1/vector_stores/"+vs.ID+"/files?filter=completed")); n != 3 {
		t.Errorf("completed files: %d", n)
	}
	if n := len(h.listAll(h.keyA, "/v1/vector_stores/"+vs.ID+"/files?filter=failed")); n != 0 {
		t.Errorf("failed files: %d", n)
	}
	mod := h.mustDo(200, "POST", "/v1/vector_stores/"+vs.ID, h.keyA, `{"name":"renamed","expires_after":null}`).object(t)
	if mod["name"] != "renamed" || mod["expires_at"] != nil {
		t.Errorf("modified: %v", mod)
	}

	// Deleting a file removes its chunks from search; the File itself stays.
	del := h.mustDo(200, "DELETE", "/v1/vector_stores/"+vs.ID+"/files/"+ids["tides.html"], h.keyA, nil).object(t)
	if del["object"] != "vector_store.file.deleted" || del["deleted"] != true {
		t.Errorf("delete file: %v", del)
	}
	if names, _ := h.searchFiles(h.keyA, vs.ID, `{"query":"ocean tides moon"}`); slices.Contains(names, "tides.html") {
		t.Errorf("deleted file still found: %v", names)
	}
	h.mustDo(200, "GET", "/v1/files/"+ids["tides.html"], h.keyA, nil)

	// Project B sees nothing of A's.
	h.mustDo(404, "GET", "/v1/vector_stores/"+vs.ID, h.keyB, nil)
	h.mustDo(404, "POST", "/v1/vector_stores/"+vs.ID+"/search", h.keyB, `{"query":"honey"}`)
	r := h.do("POST", "/v1/vector_stores", h.keyB, `{"file_ids":["`+ids["bees.txt"]+`"]}`)
	if r.Status != 400 {
		t.Errorf("B using A's file: %d %s", r.Status, r.Body)
	}

	list, err := h.A.VectorStores.List(ctx, openai.VectorStoreListParams{})
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != vs.ID {
		t.Fatalf("list: %v %+v", err, list)
	}
	gone, err := h.A.VectorStores.Delete(ctx, vs.ID)
	if err != nil || !gone.Deleted || gone.Object != "vector_store.deleted" {
		t.Fatalf("delete: %v %+v", err, gone)
	}
	h.mustDo(404, "GET", "/v1/vector_stores/"+vs.ID, h.keyA, nil)
	h.mustDo(404, "POST", "/v1/vector_stores/"+vs.ID+"/search", h.keyA, `{"query":"honey"}`)
}

// TestVectorStoreBadFiles: a file that cannot be indexed fails with the
// right last_error code and does not hold up the others.
func TestVectorStoreBadFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	files := map[string][]byte{
		"picture.png": png,
		"broken.pdf":  []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n"),
		"broken.json": []byte(`{"a": [1, 2`),
		"empty.txt":   nil,
		"good.md":     []byte("# Good\n\nThis file is fine and mentions zebras."),
	}
	var ids []string
	byName := map[string]string{}
	for name, data := range files {
		id := h.upload(h.A, name, openai.FilePurposeAssistants, data).ID
		ids = append(ids, id)
		byName[id] = name
	}
	body, _ := json.Marshal(map[string]any{"file_ids": ids})
	batch := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, nil).object(t)
	b := h.mustDo(200, "POST", "/v1/vector_stores/"+batch["id"].(string)+"/file_batches", h.keyA, string(body)).object(t)
	if b["object"] != "vector_store.files_batch" || !strings.HasPrefix(b["id"].(string), "vsfb_") || dig(b, "file_counts", "total").(float64) != 5 {
		t.Fatalf("batch: %v", b)
	}
	storeID := batch["id"].(string)
	h.waitStore(h.keyA, storeID)
	want := map[string]string{"picture.png": "unsupported_file", "broken.pdf": "invalid_file", "broken.json": "invalid_file", "empty.txt": "invalid_file", "good.md": ""}
	for _, f := range h.listAll(h.keyA, "/v1/vector_stores/"+storeID+"/file_batches/"+b["id"].(string)+"/files") {
		name := byName[f["id"].(string)]
		code, _ := dig(f, "last_error", "code").(string)
		if code != want[name] {
			t.Errorf("%s: status %v, last_error %v; want code %q", name, f["status"], f["last_error"], want[name])
		}
		if want[name] != "" && (f["status"] != "failed" || dig(f, "last_error", "message") == "") {
			t.Errorf("%s: %v", name, f)
		}
	}
	got := h.mustDo(200, "GET", "/v1/vector_stores/"+storeID+"/file_batches/"+b["id"].(string), h.keyA, nil).object(t)
	if got["status"] != "completed" || dig(got, "file_counts", "failed").(float64) != 4 || dig(got, "file_counts", "completed").(float64) != 1 {
		t.Errorf("batch after ingestion: %v", got)
	}
	if names, _ := h.searchFiles(h.keyA, storeID, `{"query":"zebras"}`); len(names) != 1 || names[0] != "good.md" {
		t.Errorf("search: %v", names)
	}
}

// TestVectorStoreBadInput: bad requests get a 400 naming the field and
// change nothing.
func TestVectorStoreBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	file := h.upload(h.A, "a.txt", openai.FilePurposeAssistants, []byte("alpha")).ID
	vs := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, `{}`).object(t)["id"].(string)
	before := h.fingerprint()
	for _, c := range []struct{ method, path, body, param string }{
		{"POST", "/v1/vector_stores", `{"file_ids":["file-nope"]}`, "file_ids[0]"},
		{"POST", "/v1/vector_stores", `{"chunking_strategy":{"type":"auto"}}`, "chunking_strategy"},
		{"POST", "/v1/vector_stores", `{"file_ids":["` + file + `"],"chunking_strategy":{"type":"static","static":{"max_chunk_size_tokens":50,"chunk_overlap_tokens":10}}}`, "chunking_strategy.static.max_chunk_size_tokens"},
		{"POST", "/v1/vector_stores", `{"expires_after":{"anchor":"created_at","days":3}}`, "expires_after.anchor"},
		{"POST", "/v1/vector_stores/" + vs + "/files", `{"file_id":"file-nope"}`, "file_id"},
		{"POST", "/v1/vector_stores/" + vs + "/files", `{"file_id":"` + file + `","attributes":{"k":[1]}}`, "attributes.k"},
		{"POST", "/v1/vector_stores/" + vs + "/search", `{"query":""}`, "query"},
		{"POST", "/v1/vector_stores/" + vs + "/search", `{"query":"x","max_num_results":51}`, "max_num_results"},
		{"POST", "/v1/vector_stores/" + vs + "/search", `{"query":"x","filters":{"type":"like","key":"a","value":1}}`, "filters.type"},
		{"POST", "/v1/threads", `{"tool_resources":{"file_search":{"vector_store_ids":["vs_nope"]}}}`, "tool_resources.file_search.vector_store_ids[0]"},
		{"GET", "/v1/vector_stores/" + vs + "/files?filter=done", ``, "filter"},
	} {
		r := h.do(c.method, c.path, h.keyA, c.body)
		if r.Status != 400 {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.Status, r.Body)
			continue
		}
		h.errParam(r, c.param)
	}
	if after := h.fingerprint(); after != before {
		t.Errorf("bad requests changed the database")
	}
	h.mustDo(404, "GET", "/v1/vector_stores/vs_nope", h.keyA, nil)
	h.mustDo(400, "GET", "/v1/vector_stores/nope", h.keyA, nil)
}

// TestVectorStoreBatchCancel: cancelling a batch cancels its files still in
// progress; the SDK's createAndPoll sees the batch end.
func TestVectorStoreBatchCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		ids = append(ids, h.upload(h.A, fmt.Sprintf("n%d.txt", i), openai.FilePurposeAssistants, fmt.Appendf(nil, "note number %d about kiwis", i)).ID)
	}
	vs := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, `{}`).object(t)["id"].(string)
	b, err := h.A.VectorStores.FileBatches.NewAndPoll(ctx, vs, openai.VectorStoreFileBatchNewParams{FileIDs: ids}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != "completed" || b.FileCounts.Completed != 3 {
		t.Fatalf("batch: %+v", b)
	}
	c, err := h.A.VectorStores.FileBatches.Cancel(ctx, vs, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.FileCounts.Completed != 3 || c.FileCounts.Cancelled != 0 {
		t.Errorf("cancel after completion changed files: %+v", c)
	}
	files, err := h.A.VectorStores.FileBatches.ListFiles(ctx, vs, b.ID, openai.VectorStoreFileBatchListFilesParams{})
	if err != nil || len(files.Data) != 3 {
		t.Fatalf("batch files: %v %+v", err, files)
	}
}

// TestVectorStoreHybridSearch: with an embedding provider, chunks are
// embedded at ingestion and queries at search (both over HTTP to the
// provider), and vector similarity finds what keywords miss.
func TestVectorStoreHybridSearch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withEmbeddings("stub-embed"))
	tides := h.upload(h.A, "tides.md", openai.FilePurposeAssistants, []byte(notes["tides.html"])).ID
	bees := h.upload(h.A, "bees.txt", openai.FilePurposeAssistants, []byte(notes["bees.txt"])).ID
	vs := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, map[string]any{"file_ids": []string{tides, bees}}).object(t)["id"].(string)
	h.waitStore(h.keyA, vs)
	embedded := 0
	for _, r := range h.model.Requests() {
		if strings.HasSuffix(r.Path, "/embeddings") {
			embedded++
		}
	}
	if embedded == 0 {
		t.Fatal("ingestion made no embeddings request")
	}
	// "tidal" is no keyword of the file (it stems to "tidal", the file's
	// word to "tide"), but they share trigrams in the stub's vector space.
	if names, _ := h.searchFiles(h.keyA, vs, `{"query":"tidal","ranking_options":{"ranker":"none"}}`); len(names) == 0 {
		t.Fatalf("vector search found nothing")
	}
	names, data := h.searchFiles(h.keyA, vs, `{"query":"tidal"}`)
	if len(names) == 0 || names[0] != "tides.md" {
		t.Fatalf("vector search: %v", names)
	}
	if s := data[0]["score"].(float64); s <= 0 || s > 1 {
		t.Errorf("hybrid score %v", s)
	}
	// A store may opt out of embeddings, or name a model the server lacks.
	plain := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, map[string]any{"file_ids": []string{bees}, "embedding_model": "none"}).object(t)["id"].(string)
	h.waitStore(h.keyA, plain)
	if names, _ := h.searchFiles(h.keyA, plain, `{"query":"honey"}`); len(names) != 1 {
		t.Errorf("keyword-only store: %v", names)
	}
	h.errParam(h.do("POST", "/v1/vector_stores", h.keyA, `{"embedding_model":"nope"}`), "embedding_model")
	after := 0
	for _, r := range h.model.Requests() {
		if strings.HasSuffix(r.Path, "/embeddings") {
			after++
		}
	}
	if after != embedded+2 {
		t.Errorf("two searches made %d embeddings requests, want 2", after-embedded)
	}
}

// TestVectorStoreFileContentChunked: a file cut into overlapping chunks
// (static 100/50) is searchable in every part, and its content endpoint
// gives back the text once, without the overlaps.
func TestVectorStoreFileContentChunked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var words []string
	for i := range 600 {
		words = append(words, fmt.Sprintf("word%d", i))
	}
	text := strings.Join(words, " ")
	file := h.upload(h.A, "long.txt", openai.FilePurposeAssistants, []byte(text)).ID
	vs := h.mustDo(200, "POST", "/v1/vector_stores", h.keyA, map[string]any{"file_ids": []string{file},
		"chunking_strategy": map[string]any{"type": "static", "static": map[string]any{"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}}).object(t)["id"].(string)
	h.waitStore(h.keyA, vs)
	f := h.mustDo(200, "GET", "/v1/vector_stores/"+vs+"/files/"+file, h.keyA, nil).object(t)
	if dig(f, "chunking_strategy", "static", "max_chunk_size_tokens").(float64) != 100 || dig(f, "chunking_strategy", "static", "chunk_overlap_tokens").(float64) != 50 {
		t.Errorf("chunking strategy: %v", f["chunking_strategy"])
	}
	page := h.mustDo(200, "GET", "/v1/vector_stores/"+vs+"/files/"+file+"/content", h.keyA, nil).object(t)
	parts := page["data"].([]any)
	var got strings.Builder
	for _, p := range parts {
		got.WriteString(p.(map[string]any)["text"].(string))
	}
	if len(parts) < 5 || got.String() != text {
		t.Errorf("%d parts; joined text equal: %v", len(parts), got.String() == text)
	}
	// The last words are in a chunk of their own, found by search.
	_, data := h.searchFiles(h.keyA, vs, `{"query":"word599","max_num_results":1}`)
	if len(data) != 1 || !strings.Contains(dig(data[0], "content", 0, "text").(string), "word599") {
		t.Errorf("search for the last word: %v", data)
	}
}
