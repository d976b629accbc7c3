package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/storetest"
)

// openTest opens and migrates a store in a fresh temporary file.
func openTest(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestSchemaUpToDateBeforeMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok, err := s.SchemaUpToDate(ctx)
	if err != nil || ok {
		t.Fatalf("SchemaUpToDate on a new file = %v, %v; want false, nil", ok, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ok, err = s.SchemaUpToDate(ctx)
	if err != nil || !ok {
		t.Fatalf("SchemaUpToDate after Migrate = %v, %v; want true, nil", ok, err)
	}
}

func TestPathWithURICharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	path := filepath.Join(dir, "db.sqlite")
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if !exists(path) {
		t.Fatalf("database file %q was not created", path)
	}
}

func TestSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
	m := &schema.Message{ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: 1, ThreadID: th.ID,
		Role: "user", Content: []schema.ContentPart{schema.TextPart("persist me")}}
	if err := s.ThreadCreate(ctx, "proj_1", th, []*schema.Message{m}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok, err := s.SchemaUpToDate(ctx)
	if err != nil || !ok {
		t.Fatalf("SchemaUpToDate after reopen = %v, %v", ok, err)
	}
	got, err := s.MessageGet(ctx, "proj_1", th.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Content[0].Text.Value != "persist me" {
		t.Fatalf("reopened message = %+v", got)
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const writers, each = 16, 50
	threads := make([]*schema.Thread, writers)
	for i := range threads {
		threads[i] = &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
		if err := s.ThreadCreate(ctx, "proj_1", threads[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Two writers per thread, mixing plain inserts,
				// transactions and reads.
				th := threads[(w+i)%writers]
				m := &schema.Message{ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: 1,
					ThreadID: th.ID, Role: "user", Content: []schema.ContentPart{schema.TextPart(fmt.Sprint(w, i))}}
				if err := s.MessageCreate(ctx, "proj_1", m); err != nil {
					t.Errorf("MessageCreate: %v", err)
					return
				}
				if _, err := s.ThreadUpdate(ctx, "proj_1", th.ID, func(x *schema.Thread) error {
					if x.Metadata == nil {
						x.Metadata = schema.Metadata{}
					}
					x.Metadata["last"] = m.ID
					return nil
				}); err != nil {
					t.Errorf("ThreadUpdate: %v", err)
					return
				}
				if _, err := s.MessageList(ctx, "proj_1", th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 5, Order: store.OrderDesc}}); err != nil {
					t.Errorf("MessageList: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, th := range threads {
		p := store.ListParams{Limit: 100, Order: store.OrderAsc}
		for {
			page, err := s.MessageList(ctx, "proj_1", th.ID, store.MessageListParams{ListParams: p})
			if err != nil {
				t.Fatal(err)
			}
			total += len(page.Data)
			if !page.HasMore {
				break
			}
			p.After = page.Data[len(page.Data)-1].ID
		}
	}
	if total != writers*each {
		t.Fatalf("stored %d messages, want %d", total, writers*each)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := Open(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	wg.Wait()
}

// TestGroupCommitIsolatesFailures: write transactions that arrive together
// share a commit, but each one's failure rolls back only its own writes.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.inTx(ctx, func(tx *wtx) error {
				if _, err := tx.exec(`INSERT INTO projects (id, name, created_at) VALUES (?, ?, 0)`, fmt.Sprint("p", i), fmt.Sprint("name", i)); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("refused %d", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		_, gerr := s.ProjectGetByName(ctx, fmt.Sprint("name", i))
		switch {
		case i%3 == 0 && (err == nil || gerr == nil):
			t.Errorf("tx %d: err %v, but its write is visible (%v)", i, err, gerr)
		case i%3 != 0 && (err != nil || gerr != nil):
			t.Errorf("tx %d: err %v, lookup %v", i, err, gerr)
		}
	}
	// A cancelled context never runs its transaction.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.inTx(cctx, func(*wtx) error { t.Error("ran"); return nil }); err == nil {
		t.Error("cancelled write succeeded")
	}
}

// Runs written before migration 005 have no meta: an executor's save that
// keeps the metadata still keeps the stored one, and fills meta in.
func TestKeepMetadataOfRunsWithoutMeta(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	p, err := s.ProjectCreate(ctx, &store.ProjectCreateParams{ID: "proj_1", Name: "p", CreatedAt: 1})
	if err != nil {
		t.Fatal(err)
	}
	th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1, Metadata: schema.Metadata{}}
	r := &schema.Run{ID: schema.NewID(schema.PrefixRun), Object: "thread.run", CreatedAt: 1, ThreadID: th.ID,
		Status: schema.RunQueued, Model: "m", Tools: []schema.Tool{}, Metadata: schema.Metadata{"tier": "gold"},
		TruncationStrategy: schema.TruncationStrategy{Type: schema.TruncationAuto}}
	if err := s.RunCreateWithThread(ctx, p.ID, th, nil, r, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE runs SET meta = NULL WHERE id = ?`, r.ID); err != nil {
		t.Fatal(err)
	}
	stale := *r
	stale.Status, stale.Metadata = schema.RunInProgress, schema.Metadata{}
	if err := s.RunSave(ctx, p.ID, &store.RunSaveParams{Run: &stale, ExpectStatus: schema.RunQueued, KeepMetadata: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RunGet(ctx, p.ID, th.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != schema.RunInProgress || got.Metadata["tier"] != "gold" || len(got.Metadata) != 1 {
		t.Fatalf("run after the save: status %s, metadata %v; want in_progress, the stored metadata", got.Status, got.Metadata)
	}
	var meta string
	if err := s.read.QueryRowContext(ctx, `SELECT meta FROM runs WHERE id = ?`, r.ID).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	if meta != `{"tier":"gold"}` {
		t.Fatalf("meta = %s, want the stored metadata", meta)
	}
	// With meta filled in, a copy holding the current metadata is written
	// as it is, and a stale one still gets the stored metadata.
	current := *got
	current.Instructions = "changed"
	if err := s.RunSave(ctx, p.ID, &store.RunSaveParams{Run: &current, ExpectStatus: schema.RunInProgress, KeepMetadata: true}); err != nil {
		t.Fatal(err)
	}
	if got, err = s.RunGet(ctx, p.ID, th.ID, r.ID); err != nil || got.Instructions != "changed" || got.Metadata["tier"] != "gold" {
		t.Fatalf("run after saving the current copy: %+v, %v", got, err)
	}
	stale.Status = schema.RunCompleted
	if err := s.RunSave(ctx, p.ID, &store.RunSaveParams{Run: &stale, ExpectStatus: schema.RunInProgress, KeepMetadata: true}); err != nil {
		t.Fatal(err)
	}
	if got, err = s.RunGet(ctx, p.ID, th.ID, r.ID); err != nil || got.Status != schema.RunCompleted || got.Metadata["tier"] != "gold" {
		t.Fatalf("run after the last save: %+v, %v", got, err)
	}
}
