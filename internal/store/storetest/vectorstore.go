package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// vectorStores returns the vector store part of the bundle's store.
func vectorStores(t *testing.T, b *testBundle) store.VectorStores {
	t.Helper()
	return b.s
}

// newVectorStore returns a store created at createdAt that expires 7 days
// after its last activity.
func newVectorStore(createdAt int64) *schema.VectorStore {
	return &schema.VectorStore{
		ID:           schema.NewID(schema.PrefixVector),
		Object:       "vector_store",
		CreatedAt:    createdAt,
		Name:         "docs",
		ExpiresAfter: &schema.VectorStoreExpiresAfter{Anchor: "last_active_at", Days: 7},
		Metadata:     schema.Metadata{"team": "a"},
	}
}

// newVSFile returns an in_progress file addition for vectorStoreID with a
// fresh file id.
func newVSFile(vectorStoreID string, createdAt int64, attrs map[string]any) *store.VectorStoreFileAdd {
	id := schema.NewID(schema.PrefixFile)
	return &store.VectorStoreFileAdd{
		File:     schema.NewVectorStoreFile(id, vectorStoreID, createdAt, nil, attrs),
		Filename: "notes-" + id + ".txt",
		Bytes:    1000,
	}
}

// vsFiles returns n new file additions for vectorStoreID.
func vsFiles(vectorStoreID string, n int) []*store.VectorStoreFileAdd {
	out := make([]*store.VectorStoreFileAdd, n)
	for i := range out {
		out[i] = newVSFile(vectorStoreID, 1, map[string]any{"i": float64(i)})
	}
	return out
}

// createVS creates a store of proj with files and returns it.
func createVS(t *testing.T, b *testBundle, proj string, files int) (*schema.VectorStore, []*store.VectorStoreFileAdd) {
	t.Helper()
	vs := newVectorStore(time.Now().Unix())
	adds := vsFiles(vs.ID, files)
	must(t, "VectorStoreCreate", vectorStores(t, b).VectorStoreCreate(b.ctx, proj, vs, adds))
	return vs, adds
}

// ingestLease is IngestClaim at now with a 30-second lease.
func ingestClaim(t *testing.T, b *testBundle, owner string, now time.Time) (*store.IngestJob, error) {
	t.Helper()
	return vectorStores(t, b).IngestClaim(b.ctx, store.IngestClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(30 * time.Second)})
}

// twoChunks are the chunks of a completed file: one embedded, one not.
func twoChunks(text string) []store.Chunk {
	return []store.Chunk{
		{Index: 0, Text: text + " part one", Tokens: 3, Embedding: []float32{0.25, -1.5, 3e-8}},
		{Index: 1, Text: text + " part two", Tokens: 3},
	}
}

// finishCompleted completes a claimed job with twoChunks.
func finishCompleted(b *testBundle, vs store.VectorStores, j *store.IngestJob, owner string) error {
	return vs.IngestFinish(b.ctx, j.ProjectID, &store.IngestFinishParams{
		Owner: owner, VectorStoreID: j.VectorStoreID, FileID: j.File.ID,
		Status: schema.VectorStoreFileCompleted, UsageBytes: 700, Title: "Title of " + j.File.ID, Chunks: twoChunks(j.File.ID),
	})
}

// vsFileIDs returns the ids of a page of vector store files.
func vsFileIDs(fs []schema.VectorStoreFile) []string {
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = fs[i].ID
	}
	return out
}

// listVSFiles lists every file of the store matching p's filters, ascending.
func listVSFiles(t *testing.T, b *testBundle, proj, vectorStoreID string, p store.VectorStoreFileListParams) []string {
	t.Helper()
	p.ListParams = store.ListParams{Limit: 100, Order: store.OrderAsc}
	page, err := vectorStores(t, b).VectorStoreFileList(b.ctx, proj, vectorStoreID, p)
	must(t, "VectorStoreFileList", err)
	return vsFileIDs(page.Data)
}

// addIDs returns the file ids of additions.
func addIDs(adds []*store.VectorStoreFileAdd) []string {
	out := make([]string, len(adds))
	for i, a := range adds {
		out[i] = a.File.ID
	}
	return out
}

// assertCounts fails unless the store's derived fields are as given.
func assertCounts(t *testing.T, b *testBundle, proj, id string, want schema.VectorStoreFileCounts, usage int64, status string) {
	t.Helper()
	got, err := vectorStores(t, b).VectorStoreGet(b.ctx, proj, id)
	must(t, "VectorStoreGet", err)
	if got.FileCounts != want || got.UsageBytes != usage || got.Status != status {
		t.Fatalf("store %s: counts %+v usage %d status %s; want %+v, %d, %s", id, got.FileCounts, got.UsageBytes, got.Status, want, usage, status)
	}
}

// version reads the store's index version.
func version(t *testing.T, b *testBundle, vs store.VectorStores, id string) int64 {
	t.Helper()
	v, err := vs.VectorStoreIndexVersion(b.ctx, b.proj, id)
	must(t, "VectorStoreIndexVersion", err)
	return v
}

func testVectorStore(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs := newVectorStore(1_700_000_000)
		vs.EmbeddingModel = "text-embedding-3-small"
		adds := vsFiles(vs.ID, 2)
		adds[1].File.ChunkingStrategy = &schema.ChunkingStrategy{Type: schema.ChunkingStatic, Static: &schema.StaticChunking{MaxChunkSizeTokens: 200, ChunkOverlapTokens: 50}}
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, vs, adds))
		// Create fills what it derives.
		if vs.LastActiveAt == nil || *vs.LastActiveAt != vs.CreatedAt || vs.ExpiresAt == nil || *vs.ExpiresAt != vs.CreatedAt+7*86400 {
			t.Fatalf("created store's activity and expiry: %v %v", vs.LastActiveAt, vs.ExpiresAt)
		}
		if vs.Status != schema.VectorStoreExpired { // created in 2023 with a 7-day policy
			t.Fatalf("created store's status = %s, want expired", vs.Status)
		}
		got, err := vsx.VectorStoreGet(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreGet", err)
		assertJSONEqual(t, got, vs)
		if got.EmbeddingModel != vs.EmbeddingModel {
			t.Fatalf("embedding model %q, want %q", got.EmbeddingModel, vs.EmbeddingModel)
		}
		if got.FileCounts != (schema.VectorStoreFileCounts{InProgress: 2, Total: 2}) {
			t.Fatalf("file counts %+v", got.FileCounts)
		}
		for _, a := range adds {
			f, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, a.File.ID)
			must(t, "VectorStoreFileGet", err)
			assertJSONEqual(t, f, a.File)
		}

		// A live store without files is completed; with one it is in_progress.
		now := time.Now().Unix()
		live := newVectorStore(now)
		live.ExpiresAfter = nil
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, live, nil))
		assertCounts(t, b, b.proj, live.ID, schema.VectorStoreFileCounts{}, 0, schema.VectorStoreCompleted)
		got, err = vsx.VectorStoreGet(b.ctx, b.proj, live.ID)
		must(t, "VectorStoreGet", err)
		if got.ExpiresAt != nil || got.EmbeddingModel != "" || *got.LastActiveAt != now {
			t.Fatalf("store without policy: %+v", got)
		}
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, live.ID, []*store.VectorStoreFileAdd{newVSFile(live.ID, now, nil)}, nil))
		assertCounts(t, b, b.proj, live.ID, schema.VectorStoreFileCounts{InProgress: 1, Total: 1}, 0, schema.VectorStoreInProgress)

		// Ids are unique; a file of another store is refused.
		if err := vsx.VectorStoreCreate(b.ctx, b.other, newVectorStoreWithID(vs.ID), nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate store id: got %v, want store.ErrConflict", err)
		}
		if err := vsx.VectorStoreFileAdd(b.ctx, b.proj, live.ID, []*store.VectorStoreFileAdd{newVSFile(vs.ID, now, nil)}, nil); err == nil {
			t.Fatalf("adding a file whose vector_store_id names another store succeeded")
		}
	})

	t.Run("UpdateTouchExpire", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		now := time.Now().Unix()
		vs := newVectorStore(now - 100)
		vs.EmbeddingModel = "m"
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, vs, vsFiles(vs.ID, 1)))
		got, err := vsx.VectorStoreUpdate(b.ctx, b.proj, vs.ID, func(v *schema.VectorStore) error {
			v.Name = "renamed"
			v.Metadata = schema.Metadata{"k": "v"}
			v.ExpiresAfter = &schema.VectorStoreExpiresAfter{Anchor: "last_active_at", Days: 1}
			v.ID = "vs_hijack"
			v.FileCounts = schema.VectorStoreFileCounts{}
			v.EmbeddingModel = "other"
			return nil
		})
		must(t, "VectorStoreUpdate", err)
		if got.ID != vs.ID || got.Name != "renamed" || got.EmbeddingModel != "m" || got.FileCounts.Total != 1 || got.Status != schema.VectorStoreInProgress {
			t.Fatalf("updated store %+v", got)
		}
		if *got.ExpiresAt != vs.CreatedAt+86400 {
			t.Fatalf("expires_at after a new policy = %d, want %d", *got.ExpiresAt, vs.CreatedAt+86400)
		}
		reread, err := vsx.VectorStoreGet(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreGet", err)
		assertJSONEqual(t, reread, got)
		if reread.EmbeddingModel != "m" {
			t.Fatalf("embedding model after update %q", reread.EmbeddingModel)
		}
		if _, err := vsx.VectorStoreUpdate(b.ctx, b.proj, vs.ID, func(v *schema.VectorStore) error {
			v.Name = "lost"
			return errSentinel
		}); !errors.Is(err, errSentinel) {
			t.Fatalf("refused patch: got %v", err)
		}
		reread, err = vsx.VectorStoreGet(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreGet", err)
		if reread.Name != "renamed" {
			t.Fatalf("aborted update was written: name %q", reread.Name)
		}

		// Touch moves last activity and the expiry with it, and changes
		// nothing searchable.
		v0 := version(t, b, vsx, vs.ID)
		must(t, "VectorStoreTouch", vsx.VectorStoreTouch(b.ctx, b.proj, vs.ID, now+50))
		reread, err = vsx.VectorStoreGet(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreGet", err)
		if *reread.LastActiveAt != now+50 || *reread.ExpiresAt != now+50+86400 || reread.Name != "renamed" {
			t.Fatalf("after touch: last_active_at %d expires_at %d", *reread.LastActiveAt, *reread.ExpiresAt)
		}
		if v := version(t, b, vsx, vs.ID); v != v0 {
			t.Fatalf("touch changed the index version %d -> %d", v0, v)
		}

		// Expiry: the sweep sees stores of every project whose time came.
		other := newVectorStore(now - 10*86400)
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.other, other, nil))
		never := newVectorStore(now - 10*86400)
		never.ExpiresAfter = nil
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, never, nil))
		due, err := vsx.VectorStoresExpired(b.ctx, now+50+86400, 10)
		must(t, "VectorStoresExpired", err)
		want := []store.ProjectObject{{ProjectID: b.other, ID: other.ID}, {ProjectID: b.proj, ID: vs.ID}}
		if !slices.Equal(due, want) {
			t.Fatalf("expired at the deadline: %v, want %v", due, want)
		}
		due, err = vsx.VectorStoresExpired(b.ctx, now+50+86400-1, 10)
		must(t, "VectorStoresExpired", err)
		if !slices.Equal(due, want[:1]) {
			t.Fatalf("expired a second before: %v, want %v", due, want[:1])
		}
		due, err = vsx.VectorStoresExpired(b.ctx, now+50+86400, 1)
		must(t, "VectorStoresExpired", err)
		if len(due) != 1 {
			t.Fatalf("limit 1 returned %v", due)
		}
		got, err = vsx.VectorStoreGet(b.ctx, b.other, other.ID)
		must(t, "VectorStoreGet", err)
		if got.Status != schema.VectorStoreExpired {
			t.Fatalf("status of an expired store = %s", got.Status)
		}
		// Removing the policy removes the expiry.
		got, err = vsx.VectorStoreUpdate(b.ctx, b.other, other.ID, func(v *schema.VectorStore) error {
			v.ExpiresAfter = nil
			return nil
		})
		must(t, "VectorStoreUpdate", err)
		if got.ExpiresAt != nil || got.Status != schema.VectorStoreCompleted {
			t.Fatalf("store without policy: expires_at %v status %s", got.ExpiresAt, got.Status)
		}
	})

	t.Run("ProjectIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, adds := createVS(t, b, b.proj, 2)
		batch := newBatch(vs.ID)
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, vsFiles(vs.ID, 1), batch))
		fid := adds[0].File.ID
		o, ctx := b.other, b.ctx
		_, err := vsx.VectorStoreGet(ctx, o, vs.ID)
		assertNotFound(t, "VectorStoreGet", err)
		_, err = vsx.VectorStoreUpdate(ctx, o, vs.ID, func(*schema.VectorStore) error { return nil })
		assertNotFound(t, "VectorStoreUpdate", err)
		assertNotFound(t, "VectorStoreTouch", vsx.VectorStoreTouch(ctx, o, vs.ID, 5))
		assertNotFound(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(ctx, o, vs.ID, vsFiles(vs.ID, 1), nil))
		_, err = vsx.VectorStoreFileGet(ctx, o, vs.ID, fid)
		assertNotFound(t, "VectorStoreFileGet", err)
		_, err = vsx.VectorStoreFileList(ctx, o, vs.ID, store.VectorStoreFileListParams{ListParams: store.ListParams{Limit: 10}})
		assertNotFound(t, "VectorStoreFileList", err)
		_, err = vsx.VectorStoreFileUpdate(ctx, o, vs.ID, fid, func(*schema.VectorStoreFile) error { return nil })
		assertNotFound(t, "VectorStoreFileUpdate", err)
		_, err = vsx.VectorStoreFileChunks(ctx, o, vs.ID, fid)
		assertNotFound(t, "VectorStoreFileChunks", err)
		assertNotFound(t, "VectorStoreFileDelete", vsx.VectorStoreFileDelete(ctx, o, vs.ID, fid))
		_, err = vsx.VectorStoreFileBatchGet(ctx, o, vs.ID, batch.ID)
		assertNotFound(t, "VectorStoreFileBatchGet", err)
		_, err = vsx.VectorStoreFileBatchCancel(ctx, o, vs.ID, batch.ID)
		assertNotFound(t, "VectorStoreFileBatchCancel", err)
		_, err = vsx.VectorStoreIndexVersion(ctx, o, vs.ID)
		assertNotFound(t, "VectorStoreIndexVersion", err)
		_, _, err = vsx.VectorStoreIndexLoad(ctx, o, vs.ID)
		assertNotFound(t, "VectorStoreIndexLoad", err)
		page, err := vsx.VectorStoreList(ctx, o, store.ListParams{Limit: 20})
		must(t, "VectorStoreList", err)
		if len(page.Data) != 0 {
			t.Fatalf("other project lists %d stores", len(page.Data))
		}
		// Ingestion works across projects, but finishing names the project.
		j, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		if j.ProjectID != b.proj {
			t.Fatalf("claimed job of project %s, want %s", j.ProjectID, b.proj)
		}
		err = vsx.IngestFinish(ctx, o, &store.IngestFinishParams{Owner: "w", VectorStoreID: j.VectorStoreID, FileID: j.File.ID, Status: schema.VectorStoreFileCompleted})
		assertNotFound(t, "IngestFinish", err)
		assertNotFound(t, "VectorStoreDelete", vsx.VectorStoreDelete(ctx, o, vs.ID))
		// Nothing above changed the store.
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{InProgress: 3, Total: 3}, 0, schema.VectorStoreInProgress)
		// A missing store is not found either.
		assertNotFound(t, "VectorStoreFileAdd to a missing store", vsx.VectorStoreFileAdd(ctx, b.proj, "vs_missing", vsFiles("vs_missing", 1), nil))
		_, err = vsx.VectorStoreFileList(ctx, b.proj, "vs_missing", store.VectorStoreFileListParams{})
		assertNotFound(t, "VectorStoreFileList of a missing store", err)
		_, err = vsx.VectorStoreFileList(ctx, b.proj, vs.ID, store.VectorStoreFileListParams{BatchID: "vsfb_missing"})
		assertNotFound(t, "VectorStoreFileList of a missing batch", err)
	})

	t.Run("IngestLifecycle", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs := newVectorStore(time.Now().Unix())
		vs.EmbeddingModel = "emb"
		adds := vsFiles(vs.ID, 2)
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, vs, adds))
		v0 := version(t, b, vsx, vs.ID)

		// Files are claimed oldest first, each once.
		j1, err := ingestClaim(t, b, "w1", t0)
		must(t, "IngestClaim", err)
		j2, err := ingestClaim(t, b, "w2", t0)
		must(t, "IngestClaim", err)
		_, err = ingestClaim(t, b, "w3", t0)
		assertNotFound(t, "IngestClaim with every file leased", err)
		if j1.File.ID != adds[0].File.ID || j2.File.ID != adds[1].File.ID {
			t.Fatalf("claimed %s then %s, want %s then %s", j1.File.ID, j2.File.ID, adds[0].File.ID, adds[1].File.ID)
		}
		if j1.ProjectID != b.proj || j1.VectorStoreID != vs.ID || j1.Filename != adds[0].Filename || j1.Bytes != 1000 ||
			j1.Attempts != 1 || j1.EmbeddingModel != "emb" {
			t.Fatalf("job %+v", j1)
		}
		assertJSONEqual(t, j1.File, adds[0].File)

		// One completes with chunks, the other fails.
		must(t, "IngestFinish", finishCompleted(b, vsx, j1, "w1"))
		lastErr := &schema.VectorStoreFileError{Code: schema.VectorStoreFileErrUnsupportedFile, Message: "no text"}
		must(t, "IngestFinish", vsx.IngestFinish(b.ctx, b.proj, &store.IngestFinishParams{
			Owner: "w2", VectorStoreID: vs.ID, FileID: j2.File.ID, Status: schema.VectorStoreFileFailed, LastError: lastErr,
			UsageBytes: 99, Chunks: twoChunks("ignored"),
		}))
		f1, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, j1.File.ID)
		must(t, "VectorStoreFileGet", err)
		if f1.Status != schema.VectorStoreFileCompleted || f1.UsageBytes != 700 || f1.LastError != nil {
			t.Fatalf("completed file %+v", f1)
		}
		f2, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, j2.File.ID)
		must(t, "VectorStoreFileGet", err)
		if f2.Status != schema.VectorStoreFileFailed || f2.UsageBytes != 0 || f2.LastError == nil || *f2.LastError != *lastErr {
			t.Fatalf("failed file %+v", f2)
		}
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{Completed: 1, Failed: 1, Total: 2}, 700, schema.VectorStoreCompleted)
		chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, j1.File.ID)
		must(t, "VectorStoreFileChunks", err)
		assertJSONEqual(t, chunks, twoChunks(j1.File.ID))
		chunks, err = vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, j2.File.ID)
		must(t, "VectorStoreFileChunks", err)
		if len(chunks) != 0 {
			t.Fatalf("failed file has %d chunks", len(chunks))
		}
		// Finished files are no longer claimable, and not finishable twice.
		_, err = ingestClaim(t, b, "w3", t0.Add(time.Hour))
		assertNotFound(t, "IngestClaim after both finished", err)
		if err := finishCompleted(b, vsx, j1, "w1"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second IngestFinish: got %v, want store.ErrConflict", err)
		}

		// The index holds the completed file only.
		v1, files, err := vsx.VectorStoreIndexLoad(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreIndexLoad", err)
		if v1 == v0 || v1 != version(t, b, vsx, vs.ID) {
			t.Fatalf("index version %d after completion (was %d, now reads %d)", v1, v0, version(t, b, vsx, vs.ID))
		}
		want := []store.IndexedFile{{FileID: j1.File.ID, Filename: adds[0].Filename, Title: "Title of " + j1.File.ID,
			Attributes: adds[0].File.Attributes, UsageBytes: 700, Chunks: twoChunks(j1.File.ID)}}
		assertJSONEqual(t, files, want)
		if files[0].Chunks[0].Embedding[2] != 3e-8 || files[0].Chunks[1].Embedding != nil {
			t.Fatalf("embeddings did not round-trip exactly: %v", files[0].Chunks)
		}
	})

	t.Run("LeaseTakeover", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, _ := createVS(t, b, b.proj, 1)
		j, err := ingestClaim(t, b, "dead", t0)
		must(t, "IngestClaim", err)
		must(t, "IngestLeaseRenew", vsx.IngestLeaseRenew(b.ctx, vs.ID, j.File.ID, "dead", t0.Add(60*time.Second)))
		// Renewed: still held 59 s later, free once it lapsed.
		_, err = ingestClaim(t, b, "next", t0.Add(59*time.Second))
		assertNotFound(t, "IngestClaim of a renewed lease", err)
		j2, err := ingestClaim(t, b, "next", t0.Add(61*time.Second))
		must(t, "IngestClaim after the lease lapsed", err)
		if j2.File.ID != j.File.ID || j2.Attempts != 2 {
			t.Fatalf("takeover claimed %s with %d attempts, want %s with 2", j2.File.ID, j2.Attempts, j.File.ID)
		}
		if err := vsx.IngestLeaseRenew(b.ctx, vs.ID, j.File.ID, "dead", t0.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("renew by the old owner: got %v, want store.ErrLeaseLost", err)
		}
		if err := finishCompleted(b, vsx, j, "dead"); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("finish by the old owner: got %v, want store.ErrLeaseLost", err)
		}
		chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, j.File.ID)
		must(t, "VectorStoreFileChunks", err)
		if len(chunks) != 0 {
			t.Fatalf("a lost lease's finish wrote %d chunks", len(chunks))
		}
		must(t, "IngestFinish", finishCompleted(b, vsx, j2, "next"))
		if err := vsx.IngestLeaseRenew(b.ctx, vs.ID, j.File.ID, "next", t0.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("renew after finishing: got %v, want store.ErrLeaseLost", err)
		}
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{Completed: 1, Total: 1}, 700, schema.VectorStoreCompleted)
	})

	t.Run("ClaimOneFile", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, adds := createVS(t, b, b.proj, 3)
		other, _ := createVS(t, b, b.other, 1)
		claimFile := func(owner, vsID, fileID string, now time.Time) (*store.IngestJob, error) {
			return vsx.IngestClaim(b.ctx, store.IngestClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(30 * time.Second), VectorStoreID: vsID, FileID: fileID})
		}
		pending := func(now time.Time) []string {
			t.Helper()
			refs, err := vsx.IngestPending(b.ctx, now, 10)
			must(t, "IngestPending", err)
			var out []string
			for _, r := range refs {
				out = append(out, r.ProjectID+"/"+r.VectorStoreID+"/"+r.FileID)
			}
			return out
		}
		all := []string{b.proj + "/" + vs.ID + "/" + adds[0].File.ID, b.proj + "/" + vs.ID + "/" + adds[1].File.ID,
			b.proj + "/" + vs.ID + "/" + adds[2].File.ID}
		if got := pending(t0); len(got) != 4 || !slices.Equal(got[:3], all) || !strings.HasPrefix(got[3], b.other+"/"+other.ID+"/") {
			t.Fatalf("IngestPending = %v", got)
		}
		// The last file, not the oldest.
		j, err := claimFile("w1", vs.ID, adds[2].File.ID, t0)
		must(t, "IngestClaim of one file", err)
		if j.File.ID != adds[2].File.ID || j.VectorStoreID != vs.ID || j.ProjectID != b.proj || j.Attempts != 1 {
			t.Fatalf("claimed %+v", j)
		}
		_, err = claimFile("w2", vs.ID, adds[2].File.ID, t0.Add(time.Second))
		assertNotFound(t, "IngestClaim of a leased file", err)
		_, err = claimFile("w2", other.ID, adds[0].File.ID, t0)
		assertNotFound(t, "IngestClaim of a file in another store", err)
		if got := pending(t0.Add(time.Second)); len(got) != 3 || !slices.Equal(got[:2], all[:2]) {
			t.Fatalf("IngestPending with a live lease = %v", got)
		}
		refs, err := vsx.IngestPending(b.ctx, t0.Add(time.Minute), 10)
		must(t, "IngestPending", err)
		if len(refs) != 4 || refs[2].FileID != adds[2].File.ID || refs[2].Attempts != 1 || refs[0].Attempts != 0 || refs[0].CreatedAt != adds[0].File.CreatedAt {
			t.Fatalf("IngestPending after the lease lapsed: %+v", refs)
		}
		must(t, "IngestFinish", finishCompleted(b, vsx, j, "w1"))
		_, err = claimFile("w2", vs.ID, adds[2].File.ID, t0.Add(time.Hour))
		assertNotFound(t, "IngestClaim of a completed file", err)
		j2, err := claimFile("w2", vs.ID, adds[0].File.ID, t0.Add(time.Hour))
		must(t, "IngestClaim of the first file", err)
		if j2.File.ID != adds[0].File.ID {
			t.Fatalf("claimed %s, want %s", j2.File.ID, adds[0].File.ID)
		}
	})

	t.Run("BatchCancel", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, loose := createVS(t, b, b.proj, 1)
		batch := newBatch(vs.ID)
		adds := vsFiles(vs.ID, 3)
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, adds, batch))
		if batch.Status != schema.VectorStoreFileInProgress || batch.FileCounts.InProgress != 3 {
			t.Fatalf("new batch %+v", batch)
		}
		got, err := vsx.VectorStoreFileBatchGet(b.ctx, b.proj, vs.ID, batch.ID)
		must(t, "VectorStoreFileBatchGet", err)
		assertJSONEqual(t, got, batch)
		// The store's loose file and the batch's first file are claimed;
		// the batch's first file completes.
		jl, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		ja, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		jb, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		if jl.File.ID != loose[0].File.ID || ja.File.ID != adds[0].File.ID || jb.File.ID != adds[1].File.ID {
			t.Fatalf("claim order %s %s %s", jl.File.ID, ja.File.ID, jb.File.ID)
		}
		must(t, "IngestFinish", finishCompleted(b, vsx, ja, "w"))
		got, err = vsx.VectorStoreFileBatchCancel(b.ctx, b.proj, vs.ID, batch.ID)
		must(t, "VectorStoreFileBatchCancel", err)
		if got.Status != schema.VectorStoreFileCancelled || got.FileCounts != (schema.VectorStoreFileCounts{Completed: 1, Cancelled: 2, Total: 3}) {
			t.Fatalf("cancelled batch %+v", got)
		}
		reread, err := vsx.VectorStoreFileBatchGet(b.ctx, b.proj, vs.ID, batch.ID)
		must(t, "VectorStoreFileBatchGet", err)
		assertJSONEqual(t, reread, got)
		// The claimed file's finish loses: nothing is written.
		if err := finishCompleted(b, vsx, jb, "w"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("finish of a cancelled file: got %v, want store.ErrConflict", err)
		}
		chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, jb.File.ID)
		must(t, "VectorStoreFileChunks", err)
		if len(chunks) != 0 {
			t.Fatalf("cancelled file got %d chunks", len(chunks))
		}
		// Only the loose file remains to ingest (leased), and it is not
		// touched by the batch's cancellation.
		_, err = ingestClaim(t, b, "w", t0.Add(time.Hour))
		must(t, "IngestClaim of the loose file after its lease lapsed", err)
		_, err = ingestClaim(t, b, "w", t0.Add(time.Hour))
		assertNotFound(t, "IngestClaim after the cancel", err)
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{InProgress: 1, Completed: 1, Cancelled: 2, Total: 4}, 700, schema.VectorStoreInProgress)
		_, err = vsx.VectorStoreFileBatchGet(b.ctx, b.proj, vs.ID, "vsfb_missing")
		assertNotFound(t, "VectorStoreFileBatchGet of a missing batch", err)
		_, err = vsx.VectorStoreFileBatchCancel(b.ctx, b.proj, "vs_other", batch.ID)
		assertNotFound(t, "VectorStoreFileBatchCancel through another store", err)
	})

	t.Run("CancelFinishRace", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, _ := createVS(t, b, b.proj, 0)
		for round := range 10 {
			batch := newBatch(vs.ID)
			must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, vsFiles(vs.ID, 1), batch))
			j, err := ingestClaim(t, b, "w", t0)
			must(t, "IngestClaim", err)
			var wg sync.WaitGroup
			var finishErr, cancelErr error
			wg.Go(func() { finishErr = finishCompleted(b, vsx, j, "w") })
			wg.Go(func() { _, cancelErr = vsx.VectorStoreFileBatchCancel(b.ctx, b.proj, vs.ID, batch.ID) })
			wg.Wait()
			must(t, "VectorStoreFileBatchCancel", cancelErr)
			f, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, j.File.ID)
			must(t, "VectorStoreFileGet", err)
			chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, j.File.ID)
			must(t, "VectorStoreFileChunks", err)
			switch {
			case finishErr == nil:
				if f.Status != schema.VectorStoreFileCompleted || len(chunks) != 2 {
					t.Fatalf("round %d: finish won, but the file is %s with %d chunks", round, f.Status, len(chunks))
				}
			case errors.Is(finishErr, store.ErrConflict):
				if f.Status != schema.VectorStoreFileCancelled || len(chunks) != 0 {
					t.Fatalf("round %d: cancel won, but the file is %s with %d chunks", round, f.Status, len(chunks))
				}
			default:
				t.Fatalf("round %d: IngestFinish: %v", round, finishErr)
			}
		}
	})

	t.Run("IndexVersion", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, adds := createVS(t, b, b.proj, 2)
		seen := []int64{version(t, b, vsx, vs.ID)}
		changed := func(what string) {
			t.Helper()
			v := version(t, b, vsx, vs.ID)
			if slices.Contains(seen, v) {
				t.Fatalf("%s: index version %d seen before (%v)", what, v, seen)
			}
			seen = append(seen, v)
		}
		for range 2 {
			j, err := ingestClaim(t, b, "w", t0)
			must(t, "IngestClaim", err)
			must(t, "IngestFinish", finishCompleted(b, vsx, j, "w"))
			changed("a file completed")
		}
		_, err := vsx.VectorStoreFileUpdate(b.ctx, b.proj, vs.ID, adds[0].File.ID, func(f *schema.VectorStoreFile) error {
			f.Attributes = map[string]any{"new": true}
			return nil
		})
		must(t, "VectorStoreFileUpdate", err)
		changed("attributes updated")
		must(t, "VectorStoreFileDelete", vsx.VectorStoreFileDelete(b.ctx, b.proj, vs.ID, adds[0].File.ID))
		changed("a file removed")
		re := newVSFile(vs.ID, 2, nil)
		re.File.ID = adds[1].File.ID
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, []*store.VectorStoreFileAdd{re}, nil))
		changed("a completed file re-added")
		_, files, err := vsx.VectorStoreIndexLoad(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreIndexLoad", err)
		if len(files) != 0 {
			t.Fatalf("index after re-adding the last completed file holds %d files", len(files))
		}
		must(t, "VectorStoreDelete", vsx.VectorStoreDelete(b.ctx, b.proj, vs.ID))
		_, err = vsx.VectorStoreIndexVersion(b.ctx, b.proj, vs.ID)
		assertNotFound(t, "VectorStoreIndexVersion of a deleted store", err)
	})

	t.Run("FileUpdateDeleteReAdd", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, adds := createVS(t, b, b.proj, 2)
		j, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		must(t, "IngestFinish", finishCompleted(b, vsx, j, "w"))
		fid := j.File.ID
		got, err := vsx.VectorStoreFileUpdate(b.ctx, b.proj, vs.ID, fid, func(f *schema.VectorStoreFile) error {
			f.Attributes = map[string]any{"lang": "en", "n": 2.5}
			f.ID, f.VectorStoreID = "file-hijack", "vs_hijack"
			return nil
		})
		must(t, "VectorStoreFileUpdate", err)
		if got.ID != fid || got.VectorStoreID != vs.ID || got.Status != schema.VectorStoreFileCompleted || got.UsageBytes != 700 || got.Attributes["lang"] != "en" {
			t.Fatalf("updated file %+v", got)
		}
		reread, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, fid)
		must(t, "VectorStoreFileGet", err)
		assertJSONEqual(t, reread, got)
		if _, err := vsx.VectorStoreFileUpdate(b.ctx, b.proj, vs.ID, fid, func(f *schema.VectorStoreFile) error {
			f.Attributes = nil
			return errSentinel
		}); !errors.Is(err, errSentinel) {
			t.Fatalf("refused patch: got %v", err)
		}
		_, files, err := vsx.VectorStoreIndexLoad(b.ctx, b.proj, vs.ID)
		must(t, "VectorStoreIndexLoad", err)
		if len(files) != 1 || files[0].Attributes["n"] != 2.5 {
			t.Fatalf("index after the update: %+v", files)
		}

		// Re-adding a completed file resets it: in_progress, no chunks, a
		// fresh attempt count, the new attributes.
		re := newVSFile(vs.ID, 3, map[string]any{"v": "2"})
		re.File.ID = fid
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, []*store.VectorStoreFileAdd{re}, nil))
		f, err := vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, fid)
		must(t, "VectorStoreFileGet", err)
		assertJSONEqual(t, f, re.File)
		chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, fid)
		must(t, "VectorStoreFileChunks", err)
		if len(chunks) != 0 {
			t.Fatalf("re-added file kept %d chunks", len(chunks))
		}
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{InProgress: 2, Total: 2}, 0, schema.VectorStoreInProgress)
		// The other file is still leased to nobody: claims take it first
		// (added earlier), then the re-added one with attempts 1.
		j2, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		j3, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		if j2.File.ID != adds[1].File.ID || j3.File.ID != fid || j3.Attempts != 1 || j3.Filename != re.Filename {
			t.Fatalf("claims after re-add: %s, then %s (attempts %d, filename %s)", j2.File.ID, j3.File.ID, j3.Attempts, j3.Filename)
		}
		// A file deleted while being ingested: its finish is not found.
		must(t, "VectorStoreFileDelete", vsx.VectorStoreFileDelete(b.ctx, b.proj, vs.ID, fid))
		assertNotFound(t, "IngestFinish of a deleted file", finishCompleted(b, vsx, j3, "w"))
		assertNotFound(t, "VectorStoreFileDelete twice", vsx.VectorStoreFileDelete(b.ctx, b.proj, vs.ID, fid))
		_, err = vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, fid)
		assertNotFound(t, "VectorStoreFileGet after delete", err)
		_, err = vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, fid)
		assertNotFound(t, "VectorStoreFileChunks after delete", err)
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{InProgress: 1, Total: 1}, 0, schema.VectorStoreInProgress)
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, adds := createVS(t, b, b.proj, 2)
		keep, keepAdds := createVS(t, b, b.proj, 1)
		batch := newBatch(vs.ID)
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, vsFiles(vs.ID, 1), batch))
		// The same file in two stores is two independent rows.
		shared := newVSFile(keep.ID, 1, nil)
		shared.File.ID = adds[0].File.ID
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, keep.ID, []*store.VectorStoreFileAdd{shared}, nil))
		for range 5 {
			j, err := ingestClaim(t, b, "w", t0)
			must(t, "IngestClaim", err)
			must(t, "IngestFinish", finishCompleted(b, vsx, j, "w"))
		}
		// Threads and assistants are unrelated to stores.
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		must(t, "ThreadDelete", b.s.ThreadDelete(b.ctx, b.proj, th.ID))

		must(t, "VectorStoreDelete", vsx.VectorStoreDelete(b.ctx, b.proj, vs.ID))
		assertNotFound(t, "VectorStoreDelete twice", vsx.VectorStoreDelete(b.ctx, b.proj, vs.ID))
		_, err := vsx.VectorStoreGet(b.ctx, b.proj, vs.ID)
		assertNotFound(t, "VectorStoreGet after delete", err)
		_, err = vsx.VectorStoreFileGet(b.ctx, b.proj, vs.ID, adds[0].File.ID)
		assertNotFound(t, "VectorStoreFileGet after delete", err)
		_, err = vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, adds[0].File.ID)
		assertNotFound(t, "VectorStoreFileChunks after delete", err)
		_, err = vsx.VectorStoreFileBatchGet(b.ctx, b.proj, vs.ID, batch.ID)
		assertNotFound(t, "VectorStoreFileBatchGet after delete", err)
		_, _, err = vsx.VectorStoreIndexLoad(b.ctx, b.proj, vs.ID)
		assertNotFound(t, "VectorStoreIndexLoad after delete", err)
		// A recreated store of the same id starts empty: no chunk survived.
		again := newVectorStoreWithID(vs.ID)
		re := newVSFile(vs.ID, 1, nil)
		re.File.ID = adds[0].File.ID
		must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, again, []*store.VectorStoreFileAdd{re}))
		chunks, err := vsx.VectorStoreFileChunks(b.ctx, b.proj, vs.ID, re.File.ID)
		must(t, "VectorStoreFileChunks", err)
		if len(chunks) != 0 {
			t.Fatalf("recreated store's file has %d old chunks", len(chunks))
		}
		// The other store keeps everything, the shared file included.
		_, files, err := vsx.VectorStoreIndexLoad(b.ctx, b.proj, keep.ID)
		must(t, "VectorStoreIndexLoad", err)
		if len(files) != 2 || files[0].FileID != keepAdds[0].File.ID || files[1].FileID != shared.File.ID {
			t.Fatalf("kept store's index: %+v", files)
		}
		assertJSONEqual(t, files[1].Chunks, twoChunks(shared.File.ID))
	})

	t.Run("FileListFilters", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		vs, loose := createVS(t, b, b.proj, 2)
		b1, b2 := newBatch(vs.ID), newBatch(vs.ID)
		in1, in2 := vsFiles(vs.ID, 2), vsFiles(vs.ID, 2)
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, in1, b1))
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, in2, b2))
		j, err := ingestClaim(t, b, "w", t0)
		must(t, "IngestClaim", err)
		must(t, "IngestFinish", finishCompleted(b, vsx, j, "w")) // loose[0]
		_, err = vsx.VectorStoreFileBatchCancel(b.ctx, b.proj, vs.ID, b2.ID)
		must(t, "VectorStoreFileBatchCancel", err)
		all := append(append(addIDs(loose), addIDs(in1)...), addIDs(in2)...)
		for _, c := range []struct {
			name string
			p    store.VectorStoreFileListParams
			want []string
		}{
			{"all", store.VectorStoreFileListParams{}, all},
			{"completed", store.VectorStoreFileListParams{Status: schema.VectorStoreFileCompleted}, addIDs(loose[:1])},
			{"in_progress", store.VectorStoreFileListParams{Status: schema.VectorStoreFileInProgress}, append(addIDs(loose[1:]), addIDs(in1)...)},
			{"cancelled", store.VectorStoreFileListParams{Status: schema.VectorStoreFileCancelled}, addIDs(in2)},
			{"failed", store.VectorStoreFileListParams{Status: schema.VectorStoreFileFailed}, nil},
			{"batch 1", store.VectorStoreFileListParams{BatchID: b1.ID}, addIDs(in1)},
			{"batch 2 cancelled", store.VectorStoreFileListParams{BatchID: b2.ID, Status: schema.VectorStoreFileCancelled}, addIDs(in2)},
			{"batch 2 in_progress", store.VectorStoreFileListParams{BatchID: b2.ID, Status: schema.VectorStoreFileInProgress}, nil},
		} {
			if got := listVSFiles(t, b, b.proj, vs.ID, c.p); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		// Re-adding a file in a third batch moves it there (and to the end).
		b3 := newBatch(vs.ID)
		re := newVSFile(vs.ID, 5, nil)
		re.File.ID = in1[0].File.ID
		must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, []*store.VectorStoreFileAdd{re}, b3))
		if got := listVSFiles(t, b, b.proj, vs.ID, store.VectorStoreFileListParams{BatchID: b1.ID}); !slices.Equal(got, addIDs(in1[1:])) {
			t.Errorf("batch 1 after re-add: %v", got)
		}
		if got := listVSFiles(t, b, b.proj, vs.ID, store.VectorStoreFileListParams{BatchID: b3.ID}); !slices.Equal(got, []string{re.File.ID}) {
			t.Errorf("batch 3: %v", got)
		}
		got, err := vsx.VectorStoreFileBatchGet(b.ctx, b.proj, vs.ID, b1.ID)
		must(t, "VectorStoreFileBatchGet", err)
		if got.FileCounts.Total != 1 {
			t.Errorf("batch 1 counts after its file moved: %+v", got.FileCounts)
		}
	})

	t.Run("Pagination", func(t *testing.T) {
		kinds := map[string]pagedKind{
			"VectorStore": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
				vsx := vectorStores(t, b)
				var created []string
				for _, c := range createdAt {
					vs := newVectorStore(c)
					must(t, "VectorStoreCreate", vsx.VectorStoreCreate(b.ctx, b.proj, vs, vsFiles(vs.ID, 1)))
					created = append(created, vs.ID)
				}
				list := func(proj string) lister {
					return func(p store.ListParams) ([]string, bool, error) {
						page, err := vsx.VectorStoreList(b.ctx, proj, p)
						if err != nil {
							return nil, false, err
						}
						out := make([]string, len(page.Data))
						for i, v := range page.Data {
							if v.FileCounts.Total != 1 || v.Status != schema.VectorStoreExpired && v.Status != schema.VectorStoreInProgress {
								return nil, false, fmt.Errorf("listed store without its derived fields: %+v", v)
							}
							out[i] = v.ID
						}
						return out, page.HasMore, nil
					}
				}
				return created, list(b.proj), list(b.other)
			},
			"VectorStoreFile": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
				vsx := vectorStores(t, b)
				vs, _ := createVS(t, b, b.proj, 0)
				noise, _ := createVS(t, b, b.proj, 0)
				var created []string
				for _, c := range createdAt {
					f := newVSFile(vs.ID, c, nil)
					must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, vs.ID, []*store.VectorStoreFileAdd{f}, nil))
					created = append(created, f.File.ID)
					must(t, "VectorStoreFileAdd", vsx.VectorStoreFileAdd(b.ctx, b.proj, noise.ID, []*store.VectorStoreFileAdd{newVSFile(noise.ID, c, nil)}, nil))
				}
				list := func(id string) lister {
					return func(p store.ListParams) ([]string, bool, error) {
						page, err := vsx.VectorStoreFileList(b.ctx, b.proj, id, store.VectorStoreFileListParams{ListParams: p})
						if err != nil {
							return nil, false, err
						}
						return vsFileIDs(page.Data), page.HasMore, nil
					}
				}
				return created, list(vs.ID), list(noise.ID)
			},
		}
		for _, name := range []string{"VectorStore", "VectorStoreFile"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sec := time.Now().Unix()
				testPages(t, newStore, kinds[name], []int64{sec, sec, sec, sec, sec, sec, sec})
			})
		}
	})

	t.Run("ConcurrentIngest", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		vsx := vectorStores(t, b)
		const n, workers = 60, 6
		vs, _ := createVS(t, b, b.proj, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := map[string]int{}
		for w := range workers {
			wg.Go(func() {
				owner := fmt.Sprint("w", w)
				for {
					j, err := ingestClaim(t, b, owner, t0)
					if errors.Is(err, store.ErrNotFound) {
						return
					}
					if err != nil {
						t.Errorf("IngestClaim: %v", err)
						return
					}
					if err := finishCompleted(b, vsx, j, owner); err != nil {
						t.Errorf("IngestFinish: %v", err)
						return
					}
					mu.Lock()
					done[j.File.ID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(done) != n {
			t.Fatalf("%d files ingested, want %d", len(done), n)
		}
		for id, k := range done {
			if k != 1 {
				t.Fatalf("file %s ingested %d times", id, k)
			}
		}
		assertCounts(t, b, b.proj, vs.ID, schema.VectorStoreFileCounts{Completed: n, Total: n}, 700*n, schema.VectorStoreCompleted)
	})
}

// newBatch returns a batch of vectorStoreID.
func newBatch(vectorStoreID string) *schema.VectorStoreFileBatch {
	return &schema.VectorStoreFileBatch{
		ID: schema.NewID(schema.PrefixBatch), Object: "vector_store.files_batch", CreatedAt: time.Now().Unix(), VectorStoreID: vectorStoreID,
	}
}

// newVectorStoreWithID is newVectorStore with a given id.
func newVectorStoreWithID(id string) *schema.VectorStore {
	vs := newVectorStore(time.Now().Unix())
	vs.ID = id
	return vs
}

// BenchIngest measures ingestion's store side: 8 workers claim files and
// finish each with two chunks of ~800 tokens and 384-dimension embeddings
// (retrieval benchmarks ingest 5,183 files in at most 30 s), reporting
// files/s. newStore must return a fresh, migrated store and arrange for
// its cleanup.
func BenchIngest(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx := context.Background()
	s := newStore(b)
	vs := newVectorStore(time.Now().Unix())
	if err := s.VectorStoreCreate(ctx, "proj_1", vs, nil); err != nil {
		b.Fatal(err)
	}
	for added := 0; added < b.N; added += schema.MaxFileBatchFiles {
		adds := vsFiles(vs.ID, min(schema.MaxFileBatchFiles, b.N-added))
		if err := s.VectorStoreFileAdd(ctx, "proj_1", vs.ID, adds, nil); err != nil {
			b.Fatal(err)
		}
	}
	text := strings.Repeat("Retrieval augmented generation needs cheap ingestion. ", 60)
	emb := make([]float32, 384)
	for i := range emb {
		emb[i] = float32(i) / 384
	}
	chunks := []store.Chunk{{Index: 0, Text: text, Tokens: 800, Embedding: emb}, {Index: 1, Text: text, Tokens: 800, Embedding: emb}}
	rate := parallel(b, 8, func(worker int, pb *testing.PB) {
		owner := fmt.Sprint("bench-", worker)
		for pb.Next() {
			now := time.Now()
			j, err := s.IngestClaim(ctx, store.IngestClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute)})
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.IngestFinish(ctx, j.ProjectID, &store.IngestFinishParams{
				Owner: owner, VectorStoreID: j.VectorStoreID, FileID: j.File.ID, Status: schema.VectorStoreFileCompleted,
				UsageBytes: int64(2 * len(text)), Chunks: chunks,
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(rate, "files/s")
}
