package retrieval_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/sqlite"
)

const project = "proj"

type fixture struct {
	t     *testing.T
	st    store.Store
	blobs blob.Store
	// added are the files addFile queued, for run's job queue.
	added []store.IngestRef
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ProjectCreate(ctx, &store.ProjectCreateParams{ID: project, Name: project, CreatedAt: 1}); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewDisk(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, blobs: blobs}
}

// addFile stores a file's bytes and adds it to a new vector store.
func (f *fixture) addFile(name, text string) (vsID, fileID string) {
	f.t.Helper()
	ctx := context.Background()
	fileID = schema.NewID(schema.PrefixFile)
	if _, err := f.blobs.Put(ctx, blob.FileKey(project, fileID), strings.NewReader(text), 1<<20); err != nil {
		f.t.Fatal(err)
	}
	now := time.Now().Unix()
	if err := f.st.FileCreate(ctx, project, &schema.File{ID: fileID, Object: "file", Bytes: int64(len(text)), CreatedAt: now, Filename: name, Purpose: "assistants", Status: "processed"}); err != nil {
		f.t.Fatal(err)
	}
	vs := (&schema.VectorStoreCreateRequest{FileIDs: []string{fileID}}).VectorStore(schema.NewID(schema.PrefixVector), now)
	add := &store.VectorStoreFileAdd{File: schema.NewVectorStoreFile(fileID, vs.ID, now, nil, nil), Filename: name, Bytes: int64(len(text))}
	if err := f.st.VectorStoreCreate(ctx, project, vs, []*store.VectorStoreFileAdd{add}); err != nil {
		f.t.Fatal(err)
	}
	f.added = append(f.added, store.IngestRef{ProjectID: project, VectorStoreID: vs.ID, FileID: fileID})
	return vs.ID, fileID
}

// run starts a Service with cfg and a job queue until the test ends, and
// queues the jobs of the files added so far (as the API does).
func (f *fixture) run(cfg retrieval.Config) *retrieval.Service {
	f.t.Helper()
	cfg.Store, cfg.Blobs = f.st, f.blobs
	if cfg.Lease == 0 {
		cfg.Lease = time.Second
	}
	q, err := jobs.New(jobs.Config{Store: f.st, Lease: cfg.Lease})
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.Jobs = q
	svc := retrieval.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx, noRuns{}, svc); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := q.Stop(sctx); err != nil {
			f.t.Error(err)
		}
		q.Close()
	})
	for _, r := range f.added {
		if err := q.EnqueueIngest(ctx, r.ProjectID, r.VectorStoreID, r.FileID); err != nil {
			f.t.Fatal(err)
		}
	}
	return svc
}

// noRuns stands in for the engine: these tests have no runs.
type noRuns struct{}

func (noRuns) WatchRun(context.Context, string, string, string) (time.Duration, error) { return 0, nil }
func (noRuns) ExpireRuns(context.Context) error                                        { return nil }

func (f *fixture) waitFile(vsID, fileID string) *schema.VectorStoreFile {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		vf, err := f.st.VectorStoreFileGet(context.Background(), project, vsID, fileID)
		if err != nil {
			f.t.Fatal(err)
		}
		if vf.Status != schema.VectorStoreFileInProgress {
			return vf
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("file %s still in progress", fileID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIngestionTakesOverDeadClaims: a file claimed by an ingester that died
// (its lease lapsed) is ingested by the next one, as after a restart; a
// file whose claim is live is left to its owner until the lease lapses.
func TestIngestionTakesOverDeadClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	vsID, fileID := f.addFile("notes.md", "# Notes\n\nThe heron stands in the shallow water.")
	// A previous process claimed it and died holding the lease.
	now := time.Now()
	if _, err := f.st.IngestClaim(ctx, store.IngestClaimParams{Owner: "dead", Now: now, LeaseUntil: now.Add(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	svc := f.run(retrieval.Config{Owner: "alive"})
	vf := f.waitFile(vsID, fileID)
	if vf.Status != schema.VectorStoreFileCompleted || vf.UsageBytes == 0 {
		t.Fatalf("file after takeover: %+v", vf)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("the live claim was taken after %s, before its lease lapsed", waited)
	}
	res, err := svc.Search(ctx, project, []string{vsID}, retrieval.SearchParams{Queries: []string{"heron water"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].FileID != fileID || res[0].Filename != "notes.md" || !strings.Contains(res[0].Text, "heron") {
		t.Fatalf("search after takeover: %+v", res)
	}
}

// TestIngestionGivesUpAfterMaxAttempts: a file whose ingestion kept dying
// fails with server_error instead of being retried forever.
func TestIngestionGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	vsID, fileID := f.addFile("poison.txt", "some text")
	for i := range 2 {
		now := time.Now().Add(-time.Hour + time.Duration(i)*time.Minute)
		if _, err := f.st.IngestClaim(ctx, store.IngestClaimParams{Owner: "dead", Now: now, LeaseUntil: now.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	f.run(retrieval.Config{MaxAttempts: 2})
	vf := f.waitFile(vsID, fileID)
	if vf.Status != schema.VectorStoreFileFailed || vf.LastError == nil || vf.LastError.Code != schema.VectorStoreFileErrServer {
		t.Fatalf("file: %+v", vf)
	}
}

// TestIngestionMissingBytes: a file whose bytes are gone fails as
// invalid_file; an unknown store is store.ErrNotFound to Search.
func TestIngestionMissingBytes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	vsID, fileID := f.addFile("gone.txt", "text")
	if err := f.blobs.Delete(ctx, blob.FileKey(project, fileID)); err != nil {
		t.Fatal(err)
	}
	svc := f.run(retrieval.Config{})
	vf := f.waitFile(vsID, fileID)
	if vf.Status != schema.VectorStoreFileFailed || vf.LastError.Code != schema.VectorStoreFileErrInvalidFile {
		t.Fatalf("file: %+v", vf)
	}
	if _, err := svc.Search(ctx, project, []string{"vs_missing"}, retrieval.SearchParams{Queries: []string{"x"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("search of a missing store: %v", err)
	}
	if _, err := svc.Search(ctx, "other-project", []string{vsID}, retrieval.SearchParams{Queries: []string{"x"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("search of another project's store: %v", err)
	}
}

// TestSearchAcrossStores merges the results of several stores by score and
// sees a store's new files without being told.
func TestSearchAcrossStores(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	vs1, f1 := f.addFile("a.txt", "Otters hold hands while they sleep on the water.")
	vs2, f2 := f.addFile("b.txt", "Sea otters use rocks as tools to open shells.")
	svc := f.run(retrieval.Config{})
	f.waitFile(vs1, f1)
	f.waitFile(vs2, f2)
	res, err := svc.Search(ctx, project, []string{vs1, vs2}, retrieval.SearchParams{Queries: []string{"otters rocks tools shells"}, MaxResults: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].FileID != f2 || res[0].VectorStoreID != vs2 || res[1].FileID != f1 || res[0].Score < res[1].Score {
		t.Fatalf("merged results: %+v", res)
	}
	res, _ = svc.Search(ctx, project, []string{vs1, vs2}, retrieval.SearchParams{Queries: []string{"otters"}, MaxResults: 1})
	if len(res) != 1 {
		t.Errorf("MaxResults 1 over two stores: %d results", len(res))
	}
}
