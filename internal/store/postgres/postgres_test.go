package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres/pgtest"
	"github.com/assistd/assistd/internal/store/storetest"
)

// openTestURL opens a store on a fresh schema, without migrating. The pool
// is small: the suite runs many stores in parallel against one server.
func openTestURL(t testing.TB) (*Store, string) {
	t.Helper()
	u, _ := pgtest.NewSchema(t)
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	s, err := OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // before the schema's drop (cleanups run last-in first-out)
	return s, u
}

// openTest opens and migrates a store in a fresh schema.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, _ := openTestURL(t)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestSchemaUpToDateBeforeMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestURL(t)
	ok, err := s.SchemaUpToDate(ctx)
	if err != nil || ok {
		t.Fatalf("SchemaUpToDate on an empty schema = %v, %v; want false, nil", ok, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ok, err = s.SchemaUpToDate(ctx)
	if err != nil || !ok {
		t.Fatalf("SchemaUpToDate after Migrate = %v, %v; want true, nil", ok, err)
	}
}

// TestConcurrentMigrate: several processes starting at once migrate the
// same schema exactly once.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, u := openTestURL(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := Open(ctx, u)
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

func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), "postgres://user:secret@[::1")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open of a bad URL = %v; want an error that does not show the password", err)
	}
}

func TestIsURL(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"postgres://u@h/db":   true,
		"postgresql://u@h/db": true,
		"POSTGRES://u@h/db":   true,
		"":                    false,
		"/var/lib/assistd.db": false,
		"sqlite:///x.db":      false,
	} {
		if got := IsURL(s); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestNoMessageBesideActiveRun races MessageCreate against RunCreate on
// one thread many times: a message must never be stored while a run is
// active, i.e. every message either precedes the run or was refused.
func TestNoMessageBesideActiveRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const rounds, writers = 20, 4
	for round := range rounds {
		th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1, Metadata: schema.Metadata{}}
		if err := s.ThreadCreate(ctx, "proj_1", th, nil); err != nil {
			t.Fatal(err)
		}
		run := &schema.Run{ID: schema.NewID(schema.PrefixRun), Object: "thread.run", CreatedAt: 1, ThreadID: th.ID,
			Status: schema.RunQueued, Model: "gpt-4o", Tools: []schema.Tool{}, Metadata: schema.Metadata{},
			TruncationStrategy: schema.TruncationStrategy{Type: schema.TruncationAuto}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var accepted []string
		for range writers {
			wg.Go(func() {
				m := &schema.Message{ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: 1,
					ThreadID: th.ID, Role: "user", Content: []schema.ContentPart{schema.TextPart("x")}}
				err := s.MessageCreate(ctx, "proj_1", m)
				switch {
				case err == nil:
					mu.Lock()
					accepted = append(accepted, m.ID)
					mu.Unlock()
				case !errors.Is(err, store.ErrActiveRun):
					t.Errorf("MessageCreate: %v", err)
				}
			})
		}
		wg.Go(func() {
			if err := s.RunCreate(ctx, "proj_1", run, nil, nil); err != nil {
				t.Errorf("RunCreate: %v", err)
			}
		})
		wg.Wait()
		// Transaction ids are assigned here in the order the thread's row
		// lock was taken, so every accepted message must have a lower one
		// than the run's: a higher one means it was inserted while the run
		// existed.
		var after int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages m WHERE thread_id = $1
AND xmin::text::bigint > (SELECT xmin::text::bigint FROM runs WHERE id = $2)`, th.ID, run.ID).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != 0 {
			t.Fatalf("round %d: %d messages committed after the run (accepted %v)", round, after, accepted)
		}
	}
}
