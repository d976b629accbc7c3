package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/jobs"
	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/modelstub"
	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres"
	"github.com/assistd/assistd/internal/store/postgres/pgtest"
	"github.com/assistd/assistd/internal/store/sqlite"
)

const project = "proj"

// backends lists the databases under test: each newDB makes a fresh,
// migrated database and returns how to open it (once per replica).
var backends = []struct {
	name  string
	newDB func(t *testing.T) func(t *testing.T) store.Store
}{
	{"sqlite", func(t *testing.T) func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "db")
		return func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) store.Store {
		u, _ := pgtest.NewSchema(t) // skips without PostgreSQL
		return func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
}

// env is one database shared by the replicas of a test, with the blobs
// and the scripted model they share.
type env struct {
	t      *testing.T
	open   func(t *testing.T) store.Store
	st     store.Store
	blobs  blob.Store
	models llm.Provider
}

func newEnv(t *testing.T, newDB func(t *testing.T) func(t *testing.T) store.Store) *env {
	t.Helper()
	return newEnvModel(t, newDB, modelstub.Options{})
}

// newEnvModel is newEnv with the scripted model's options (its latency).
func newEnvModel(t *testing.T, newDB func(t *testing.T) func(t *testing.T) store.Store, model modelstub.Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, open: newDB(t)}
	e.st = e.open(t)
	t.Cleanup(func() { e.st.Close() })
	if err := e.st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, e.st); err != nil {
		t.Fatal(err)
	}
	// Twice: River's migrations are idempotent.
	if err := jobs.Migrate(ctx, e.st); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if _, err := e.st.ProjectCreate(ctx, &store.ProjectCreateParams{ID: project, Name: project, CreatedAt: 1}); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.blobs, err = blob.NewDisk(filepath.Join(t.TempDir(), "blobs")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(modelstub.New(nil, model))
	t.Cleanup(srv.Close)
	e.models, err = llm.NewRouter(nil, func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return srv.URL + "/v1"
		}
		return ""
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// replica is one process: its own database connection, engine, ingestion
// and job queue.
type replica struct {
	eng *engine.Engine
	ret *retrieval.Service
	q   *jobs.Queue
	// stop shuts the replica down as serve does (the queue, then the
	// engine); it is also the test's cleanup, and safe to call twice.
	stop func()
}

// sweeps watches the expire_runs sweeps of all replicas: how many ran and
// how many at most ran at once. Each takes slow, longer than the sweep
// interval, so that sweeps scheduled by every replica would overlap.
type sweeps struct {
	slow               time.Duration
	n, inFlight, maxIn atomic.Int64
}

// countingRuns is a replica's engine with its sweeps watched.
type countingRuns struct {
	*engine.Engine
	s *sweeps
}

func (c countingRuns) ExpireRuns(ctx context.Context) error {
	c.s.n.Add(1)
	in := c.s.inFlight.Add(1)
	defer c.s.inFlight.Add(-1)
	for {
		m := c.s.maxIn.Load()
		if in <= m || c.s.maxIn.CompareAndSwap(m, in) {
			break
		}
	}
	time.Sleep(c.s.slow)
	return c.Engine.ExpireRuns(ctx)
}

func (e *env) replica(owner string, lease, sweep time.Duration) *replica {
	return e.replicaWatched(owner, lease, sweep, &sweeps{})
}

func (e *env) replicaWatched(owner string, lease, sweep time.Duration, sw *sweeps) *replica {
	t := e.t
	t.Helper()
	st := e.open(t)
	t.Cleanup(func() { st.Close() })
	q, err := jobs.New(jobs.Config{Store: st, Lease: lease, SweepInterval: sweep})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{q: q}
	r.ret = retrieval.New(retrieval.Config{Store: st, Blobs: e.blobs, Owner: owner, Lease: lease, Jobs: q})
	r.eng = engine.New(engine.Config{Store: st, Blobs: e.blobs, Models: e.models, Tokens: llm.NewCounter(), Owner: owner, Lease: lease, Jobs: q})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.eng.Run(ctx)
	}()
	if err := q.Start(ctx, countingRuns{r.eng, sw}, r.ret); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			if err := q.Stop(sctx); err != nil {
				t.Error(err)
			}
			cancel()
			<-done
			q.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// newThreadRun commits a thread with one user message and returns a new
// queued run of it, not committed.
func (e *env) newThreadRun(text string, expiresAt int64) *schema.Run {
	t := e.t
	t.Helper()
	ctx := context.Background()
	now := time.Now().Unix()
	a := &schema.Assistant{ID: schema.NewID(schema.PrefixAssistant), Object: "assistant", CreatedAt: now, Model: "gpt-4o-mini",
		Tools: []schema.Tool{}, Metadata: schema.Metadata{}}
	if err := e.st.AssistantCreate(ctx, project, a); err != nil {
		t.Fatal(err)
	}
	th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: now, Metadata: schema.Metadata{}}
	msg := &schema.Message{ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: now, ThreadID: th.ID,
		Status: schema.MessageStatusCompleted, Role: "user", Content: []schema.ContentPart{schema.TextPart(text)},
		Attachments: []schema.MessageAttachment{}, Metadata: schema.Metadata{}}
	if err := e.st.ThreadCreate(ctx, project, th, []*schema.Message{msg}); err != nil {
		t.Fatal(err)
	}
	return schema.RunOptions{}.NewRun(schema.NewID(schema.PrefixRun), th.ID, a, nil, now, expiresAt)
}

// newRun commits a thread with one user message and its run in status.
func (e *env) newRun(text, status string, expiresAt int64) *schema.Run {
	e.t.Helper()
	run := e.newThreadRun(text, expiresAt)
	run.Status = status
	if err := e.st.RunCreate(context.Background(), project, run, nil, nil); err != nil {
		e.t.Fatal(err)
	}
	return run
}

// waitRun waits until the run's status is not in waiting.
func (e *env) waitRun(run *schema.Run, within time.Duration, waiting ...string) *schema.Run {
	t := e.t
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := e.st.RunGet(context.Background(), project, run.ThreadID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		still := false
		for _, w := range waiting {
			still = still || r.Status == w
		}
		if !still {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after %v", run.ID, r.Status, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantOneReply fails unless the run wrote exactly one message, of text.
func (e *env) wantOneReply(run *schema.Run, text string) {
	t := e.t
	t.Helper()
	msgs, err := e.st.MessageList(context.Background(), project, run.ThreadID, store.MessageListParams{ListParams: store.ListParams{Limit: 10, Order: store.OrderAsc}, RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Data) != 1 || len(msgs.Data[0].Content) != 1 || msgs.Data[0].Content[0].Text == nil ||
		msgs.Data[0].Content[0].Text.Value != text {
		t.Fatalf("messages of the run: %+v", msgs.Data)
	}
}

// TestRunTakeoverThroughRiver: a run whose executor died (claimed under a
// short lease and abandoned) is finished by another replica's run job once
// the lease lapses, and not before.
func TestRunTakeoverThroughRiver(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDB)
			ctx := context.Background()
			run := e.newRun("orphan", schema.RunQueued, time.Now().Unix()+600)
			const deadLease = 800 * time.Millisecond
			now := time.Now()
			if _, err := e.st.RunClaim(ctx, store.RunClaimParams{Owner: "exec_dead", Now: now, LeaseUntil: now.Add(deadLease), RunID: run.ID}); err != nil {
				t.Fatal(err)
			}
			r := e.replica("exec_alive", 2*time.Second, time.Hour)
			// The dead replica's API had queued the run's job.
			if err := r.q.EnqueueRun(ctx, project, run.ThreadID, run.ID); err != nil {
				t.Fatal(err)
			}
			got := e.waitRun(run, 15*time.Second, schema.RunQueued, schema.RunInProgress)
			if got.Status != schema.RunCompleted {
				t.Fatalf("run ended %s (last_error %+v)", got.Status, got.LastError)
			}
			if waited := time.Since(now); waited < deadLease-50*time.Millisecond {
				t.Errorf("taken over after %v, before the dead lease (%v) lapsed", waited, deadLease)
			}
			e.wantOneReply(run, "You said: orphan")
			// A second claim would now find nothing: the run rests.
			if _, err := e.st.RunClaim(ctx, store.RunClaimParams{Owner: "x", Now: time.Now().Add(time.Hour), LeaseUntil: time.Now().Add(2 * time.Hour), RunID: run.ID}); err == nil {
				t.Error("the completed run was claimable")
			}
		})
	}
}

// TestStreamedRunHandedOverOnShutdown: a streamed run executing on the
// replica that received it has no job; when that replica shuts down
// mid-run it releases the run and queues a job, so another replica
// finishes it within a watch interval, long before the lease (and the
// reconcile sweep, off here) would have.
func TestStreamedRunHandedOverOnShutdown(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvModel(t, b.newDB, modelstub.Options{Latency: 2 * time.Second})
			ctx := context.Background()
			const lease = time.Minute // WatchInterval: 5 s
			a := e.replica("exec_a", lease, time.Hour)
			e.replica("exec_b", lease, time.Hour)
			run := e.newThreadRun("hand me over", time.Now().Unix()+600)
			if err := a.eng.CreateRun(ctx, project, run, nil, true); err != nil {
				t.Fatal(err)
			}
			if n := countJobs(t, e.st, "run"); n != 0 {
				t.Fatalf("%d run jobs for a streamed run executing where it was created, want 0", n)
			}
			time.Sleep(500 * time.Millisecond) // inside the model's latency
			stopped := time.Now()
			a.stop()
			got := e.waitRun(run, 15*time.Second, schema.RunQueued, schema.RunInProgress)
			if got.Status != schema.RunCompleted {
				t.Fatalf("run ended %s (last_error %+v)", got.Status, got.LastError)
			}
			if took := time.Since(stopped); took > 12*time.Second {
				t.Errorf("taken over %v after the shutdown, want within about a watch interval (5 s)", took)
			}
			e.wantOneReply(run, "You said: hand me over")
		})
	}
}

// TestExpireOnceAcrossReplicas: with two replicas sharing a database, a
// requires_action run past expires_at is expired exactly once (one
// thread.run.expired in all), and sweeps run one at a time across the
// replicas: the leader schedules them, not every replica.
func TestExpireOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDB)
			const sweep = 100 * time.Millisecond
			sw := &sweeps{slow: 2 * sweep}
			r1 := e.replicaWatched("exec_1", 2*time.Second, sweep, sw)
			r2 := e.replicaWatched("exec_2", 2*time.Second, sweep, sw)
			run := e.newRun("tools please", schema.RunRequiresAction, time.Now().Unix()+1)
			subs := []*engine.Subscription{r1.eng.Subscribe(run.ID), r2.eng.Subscribe(run.ID)}
			for _, s := range subs {
				defer s.Close()
			}
			got := e.waitRun(run, 15*time.Second, schema.RunRequiresAction)
			if got.Status != schema.RunExpired {
				t.Fatalf("run ended %s", got.Status)
			}
			time.Sleep(5 * sweep) // further sweeps must not expire it again
			expired := 0
			for _, s := range subs {
				for {
					ev, err := s.NextWithin(context.Background(), 10*time.Millisecond)
					if err != nil {
						break
					}
					if ev.Name == schema.EventRunExpired {
						expired++
					}
				}
			}
			if expired != 1 {
				t.Errorf("%d thread.run.expired events across the replicas, want 1", expired)
			}
			time.Sleep(10 * sweep)
			if n, m := sw.n.Load(), sw.maxIn.Load(); n < 2 || m != 1 {
				t.Errorf("%d expire sweeps, at most %d at once; want several, one at a time", n, m)
			}
		})
	}
}

// TestIngestTakeoverThroughRiver: a file whose ingestion claim was
// abandoned is ingested through its job once the lease lapses.
func TestIngestTakeoverThroughRiver(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDB)
			ctx := context.Background()
			text := "The heron stands in the shallow water."
			fileID := schema.NewID(schema.PrefixFile)
			if _, err := e.blobs.Put(ctx, blob.FileKey(project, fileID), strings.NewReader(text), 1<<20); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			if err := e.st.FileCreate(ctx, project, &schema.File{ID: fileID, Object: "file", Bytes: int64(len(text)), CreatedAt: now.Unix(),
				Filename: "notes.txt", Purpose: "assistants", Status: "processed"}); err != nil {
				t.Fatal(err)
			}
			vs := (&schema.VectorStoreCreateRequest{FileIDs: []string{fileID}}).VectorStore(schema.NewID(schema.PrefixVector), now.Unix())
			add := &store.VectorStoreFileAdd{File: schema.NewVectorStoreFile(fileID, vs.ID, now.Unix(), nil, nil), Filename: "notes.txt", Bytes: int64(len(text))}
			if err := e.st.VectorStoreCreate(ctx, project, vs, []*store.VectorStoreFileAdd{add}); err != nil {
				t.Fatal(err)
			}
			const deadLease = 600 * time.Millisecond
			if _, err := e.st.IngestClaim(ctx, store.IngestClaimParams{Owner: "ingest_dead", Now: now, LeaseUntil: now.Add(deadLease)}); err != nil {
				t.Fatal(err)
			}
			r := e.replica("ingest_alive", 2*time.Second, time.Hour)
			r.ret.Enqueue(ctx, project, []*store.VectorStoreFileAdd{add})
			deadline := time.Now().Add(15 * time.Second)
			for {
				vf, err := e.st.VectorStoreFileGet(ctx, project, vs.ID, fileID)
				if err != nil {
					t.Fatal(err)
				}
				if vf.Status != schema.VectorStoreFileInProgress {
					if vf.Status != schema.VectorStoreFileCompleted || vf.UsageBytes == 0 {
						t.Fatalf("file after takeover: %+v", vf)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("file still in progress after 15s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if waited := time.Since(now); waited < deadLease-50*time.Millisecond {
				t.Errorf("ingested after %v, before the dead lease (%v) lapsed", waited, deadLease)
			}
			res, err := r.ret.Search(ctx, project, []string{vs.ID}, retrieval.SearchParams{Queries: []string{"heron"}})
			if err != nil || len(res) != 1 || res[0].FileID != fileID {
				t.Fatalf("search after takeover: %+v, %v", res, err)
			}
		})
	}
}

// TestReconcileRequeuesOrphans: work whose job was lost (a crash between
// the commit and the insert) is queued again by reconcile and finished.
func TestReconcileRequeuesOrphans(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDB)
			ctx := context.Background()
			run := e.newRun("lost job", schema.RunQueued, time.Now().Unix()+600)
			now := time.Now()
			if _, err := e.st.RunClaim(ctx, store.RunClaimParams{Owner: "exec_dead", Now: now, LeaseUntil: now.Add(-time.Second), RunID: run.ID}); err != nil {
				t.Fatal(err)
			}
			// No job was queued; the leader's periodic reconcile finds it.
			e.replica("exec_alive", 2*time.Second, 100*time.Millisecond)
			got := e.waitRun(run, 15*time.Second, schema.RunQueued, schema.RunInProgress)
			if got.Status != schema.RunCompleted {
				t.Fatalf("run ended %s (last_error %+v)", got.Status, got.LastError)
			}
		})
	}
}

// TestEnqueueRunConcurrent: concurrent EnqueueRun calls share insert
// transactions and every run is queued, at most once per call (calls for
// the same run in one transaction share a job).
func TestEnqueueRunConcurrent(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b.newDB)
			q, err := jobs.New(jobs.Config{Store: e.st})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			const n = 300
			errs := make(chan error, 2*n)
			for i := range n {
				// Each run twice, as for two actions.
				for range 2 {
					go func() { errs <- q.EnqueueRun(context.Background(), project, "thread_x", fmt.Sprint("run_", i)) }()
				}
			}
			for range 2 * n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if got := countJobs(t, e.st, "run"); got < n || got > 2*n {
				t.Errorf("%d run jobs for %d runs queued twice each", got, n)
			}
			if got := countDistinctRuns(t, e.st); got != n {
				t.Errorf("jobs for %d runs, want %d", got, n)
			}
		})
	}
}

// countJobs counts River's jobs of kind.
func countJobs(t *testing.T, st store.Store, kind string) int {
	t.Helper()
	return countRows(t, st, `SELECT count(*) FROM river_job WHERE kind = ?`, kind)
}

// countDistinctRuns counts the runs River's run jobs are for.
func countDistinctRuns(t *testing.T, st store.Store) int {
	t.Helper()
	return countRows(t, st, `SELECT count(DISTINCT args->>'run_id') FROM river_job WHERE kind = ?`, "run")
}

// countRows runs a count query (with ? for its one argument).
func countRows(t *testing.T, st store.Store, query, arg string) int {
	t.Helper()
	var n int
	var err error
	switch st := st.(type) {
	case *postgres.Store:
		err = st.Pool().QueryRow(context.Background(), strings.Replace(query, "?", "$1", 1), arg).Scan(&n)
	case *sqlite.Store:
		var db *sql.DB
		if db, err = sql.Open("sqlite", sqlite.DSN(st.Path())); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.QueryRow(query, arg).Scan(&n)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
