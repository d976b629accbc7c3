// Package jobs is the durable job queue of background work: River
// (github.com/riverqueue/river) on the store's own database, PostgreSQL or
// SQLite. It carries three kinds of work:
//
//   - run: watches one run until it rests. The worker makes sure some
//     executor holds the run's lease (claiming it for this process when
//     nobody does) and looks again every little while, so a run whose
//     executor died is taken over as soon as its lease lapses.
//   - ingest: ingests vector store files (a few dozen per job at most),
//     inside the job.
//   - expire_runs and reconcile: sweeps that River runs on its elected
//     leader only, once across replicas. reconcile re-queues runs and files
//     that need an executor and have none (a crash between a commit and the
//     insert of its job, or a job stuck on a dead replica).
//
// The leases in the runs and vector_store_files tables stay the fencing
// tokens: a job that runs twice, or late, at worst finds the work leased
// and waits.
package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres"
	"github.com/assistd/assistd/internal/store/sqlite"
)

// Runs is what the run and expire_runs jobs do (the engine).
type Runs interface {
	// WatchRun makes sure run runID has an executor, claiming it for this
	// process when its lease is free. It returns how long to wait before
	// looking again, or 0 when the run needs no executor any more
	// (terminal, requires_action or gone).
	WatchRun(ctx context.Context, projectID, threadID, runID string) (again time.Duration, err error)
	// ExpireRuns expires the runs that waited past their expires_at.
	ExpireRuns(ctx context.Context) error
}

// Ingester is what the ingest job does (retrieval).
type Ingester interface {
	// IngestFile claims and ingests one vector store file. It returns how
	// long to wait before trying again (the file is leased by a live
	// ingester), or 0 when the file needs nothing more.
	IngestFile(ctx context.Context, projectID, vectorStoreID, fileID string) (again time.Duration, err error)
}

// Config sets up a Queue.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Lease is the lease of run executors and ingesters; reconcile leaves
	// alone work whose lease lapsed less than two watch intervals ago (its
	// own job is about to take it).
	Lease time.Duration
	// RescueAfter is how long a job may stay running before River's
	// rescuer (on the leader) retries it, for jobs left running by a dead
	// replica. Default: 4 × Lease, at least a minute (ingesting a large
	// file takes a while; a rescued job of a live ingestion only waits).
	RescueAfter time.Duration
	// IngestWorkers is how many files this process ingests at once
	// (default GOMAXPROCS).
	IngestWorkers int
	// SweepInterval is how often the leader expires runs and reconciles
	// (default 1s).
	SweepInterval time.Duration
	// PollInterval is how often idle workers look for jobs without a
	// notification, such as a run job whose wait is over: River's fetch
	// poll (default 250ms on SQLite, 1s on PostgreSQL). Inserts notify
	// (LISTEN/NOTIFY on PostgreSQL, River's outbox table polled every 50ms
	// on SQLite), so new work starts without waiting for it.
	PollInterval time.Duration
}

// Queue is the River client of one process. Enqueue works from New on;
// jobs are worked between Start and Stop.
type Queue struct {
	cfg    Config
	client client
	// db is River's SQLite connection (nil on PostgreSQL).
	db *sql.DB
	// runInserts batches EnqueueRun's inserts.
	runInserts batcher

	// runs and ingest are set by Start, before River starts its workers.
	runs   Runs
	ingest Ingester
}

// client is the part of *river.Client[TTx] used here, for either driver.
type client interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Queue names. Sweeps share the runs' queue: both are short, and every
// queue is one more poller.
const (
	queueRuns   = "runs"
	queueIngest = "ingest"
)

// maxWatchInterval bounds how long a run or file job waits between looks:
// River makes a job snoozed for longer "scheduled", and only its leader
// moves scheduled jobs back, every 5 seconds. Shorter snoozes stay
// available, so any replica takes the work over without a leader.
const maxWatchInterval = 5 * time.Second

// WatchInterval is how long a run or file job waits before looking again at
// work leased by a live executor: half the lease, at most 5 seconds.
func WatchInterval(lease time.Duration) time.Duration {
	return min(lease/2, maxWatchInterval)
}

// New builds the River client for st's backend. It does not migrate (see
// Migrate) nor start workers (see Start).
func New(cfg Config) (*Queue, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = max(4*cfg.Lease, time.Minute)
	}
	if cfg.IngestWorkers <= 0 {
		cfg.IngestWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	q := &Queue{cfg: cfg}
	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{q: q})
	river.AddWorker(workers, &ingestWorker{q: q})
	river.AddWorker(workers, &expireWorker{q: q})
	river.AddWorker(workers, &reconcileWorker{q: q})
	sweep := func(args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
	}
	poll := cfg.PollInterval
	rc := &river.Config{
		Logger: slog.New(quietHandler{cfg.Logger.Handler()}),
		Queues: map[string]river.QueueConfig{
			// Run jobs and sweeps only claim and look: many at once
			// cost little.
			queueRuns: {MaxWorkers: 100},
			// A worker slot freed by a finished file is filled at once:
			// River's default fetch cooldown (100ms) would cap ingestion
			// at IngestWorkers files per cooldown.
			queueIngest: {MaxWorkers: cfg.IngestWorkers, FetchCooldown: time.Millisecond},
		},
		Workers:      workers,
		PeriodicJobs: []*river.PeriodicJob{sweep(ExpireRunsArgs{}), sweep(ReconcileArgs{})},
		// Runs and ingestion last as long as they last; the leases, not
		// River's timeout, decide when they are abandoned.
		JobTimeout:           -1,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          retryPolicy{},
		// Finished jobs are kept a while for inspection only.
		CompletedJobRetentionPeriod: 10 * time.Minute,
	}
	var err error
	switch st := cfg.Store.(type) {
	case *postgres.Store:
		if poll > 0 {
			rc.FetchPollInterval = poll
		}
		q.client, err = river.NewClient(riverpgxv5.New(st.Pool()), rc)
	case *sqlite.Store:
		if poll <= 0 {
			poll = 250 * time.Millisecond
		}
		rc.FetchPollInterval, rc.FetchCooldown = poll, min(poll, 20*time.Millisecond)
		// River gets its own connection: on the store's one write
		// connection its frequent small queries (the notification
		// listener's, every 50ms) delayed the store's commits (1000
		// concurrent runs: +1.2 s each).
		if q.db, err = openSQLite(st); err != nil {
			return nil, err
		}
		q.client, err = river.NewClient(riversqlite.New(q.db), rc)
	default:
		return nil, fmt.Errorf("jobs: unsupported store %T", cfg.Store)
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// openSQLite opens River's connection to the store's file: one connection
// (River's SQLite driver wants no parallel use of a pool), with the store's
// pragmas (busy_timeout, WAL) and BEGIN IMMEDIATE transactions, so that
// they wait for the store's writer instead of failing, and concurrent
// migrators take turns.
func openSQLite(st *sqlite.Store) (*sql.DB, error) {
	db, err := sql.Open("sqlite", sqlite.DSN(st.Path(), "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("jobs: open %s: %w", st.Path(), err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// Start works jobs until Stop (or ctx ends): runs and ingest do the work.
func (q *Queue) Start(ctx context.Context, runs Runs, ingest Ingester) error {
	q.runs, q.ingest = runs, ingest
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	// Work a crashed replica left does not wait for a leader (after a
	// crash, the dead leader's term runs out first): queue a job for every
	// run and file that needs an executor now or within a lease. Jobs
	// queued for them absorb these.
	if err := q.Reconcile(ctx, time.Now().Add(q.cfg.Lease), "s"+rand.Text()); err != nil && ctx.Err() == nil {
		q.cfg.Logger.Warn("re-queueing work at start", "error", err)
	}
	return nil
}

// Stop stops working jobs: running jobs' contexts are cancelled at once
// (runs continue in their engine; an interrupted ingestion gives its file
// back) and Stop waits for them to return, until ctx ends.
func (q *Queue) Stop(ctx context.Context) error {
	if err := q.client.StopAndCancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// Close releases River's SQLite connection; call it after Stop.
func (q *Queue) Close() error {
	if q.db != nil {
		return q.db.Close()
	}
	return nil
}

// EnqueueRun queues a run job for a run that needs an executor (created,
// given tool outputs, cancelling) and is being started by the caller: the
// job's first look is a watch interval later, when a run that went well is
// already resting (one fetch, no wait). A job already queued for it absorbs
// this one. Concurrent calls share one insert transaction.
func (q *Queue) EnqueueRun(ctx context.Context, projectID, threadID, runID string) error {
	opts := RunArgs{}.InsertOpts()
	opts.ScheduledAt = time.Now().Add(WatchInterval(q.cfg.Lease))
	args := RunArgs{ProjectID: projectID, ThreadID: threadID, RunID: runID, Action: schema.NewID("act_")}
	return q.runInserts.insert(ctx, q, runID, river.InsertManyParams{Args: args, InsertOpts: &opts})
}

// batcher groups concurrent inserts into one InsertMany, one transaction:
// a burst of created runs would otherwise queue a transaction each (on
// SQLite, on the store's one write connection). The caller that finds no
// flush in progress flushes; the others wait, and the first of those left
// over flushes next.
type batcher struct {
	mu       sync.Mutex
	pending  []*pendingInsert
	flushing bool
}

type pendingInsert struct {
	// key is the job's unique key: one batch inserts it once (PostgreSQL
	// refuses a unique job twice in one insert).
	key    string
	params river.InsertManyParams
	// done receives the insert's outcome, or errFlushTurn.
	done chan error
}

// errFlushTurn tells a waiting caller to flush the next batch.
var errFlushTurn = errors.New("jobs: flush turn")

func (b *batcher) insert(ctx context.Context, q *Queue, key string, params river.InsertManyParams) error {
	p := &pendingInsert{key: key, params: params, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, p)
	turn := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if !turn {
		// No giving up on ctx: this caller may be handed the next flush.
		// Flushes are bounded in time.
		if err := <-p.done; !errors.Is(err, errFlushTurn) {
			return err
		}
	}
	b.mu.Lock()
	batch := b.pending[:min(len(b.pending), insertBatch)]
	b.pending = b.pending[len(batch):]
	b.mu.Unlock()
	all := make([]river.InsertManyParams, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, w := range batch {
		if !seen[w.key] {
			seen[w.key] = true
			all = append(all, w.params)
		}
	}
	// Detached: the batch holds other callers' jobs.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_, err := q.client.InsertMany(fctx, all)
	cancel()
	if err != nil {
		err = fmt.Errorf("jobs: insert: %w", err)
	}
	for _, w := range batch {
		if w != p {
			w.done <- err
		}
	}
	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].done <- errFlushTurn
	} else {
		b.flushing = false
	}
	b.mu.Unlock()
	return err
}

// ingestBatch is how many files one ingest job carries at most: enough to
// make River's cost per job small beside the files', few enough that a
// large batch spreads over every worker.
const ingestBatch = 25

// EnqueueIngest queues the ingestion of files added to a vector store, in
// jobs of up to 25 files.
func (q *Queue) EnqueueIngest(ctx context.Context, projectID, vectorStoreID string, fileIDs ...string) error {
	var args []river.JobArgs
	add := schema.NewID("add_")
	for ids := range slices.Chunk(fileIDs, ingestBatch) {
		args = append(args, IngestArgs{ProjectID: projectID, VectorStoreID: vectorStoreID, FileIDs: ids, Add: add})
	}
	return q.insert(ctx, args...)
}

// insertBatch bounds the jobs of one InsertMany.
const insertBatch = 500

func (q *Queue) insert(ctx context.Context, args ...river.JobArgs) error {
	for len(args) > 0 {
		n := min(len(args), insertBatch)
		params := make([]river.InsertManyParams, n)
		for i, a := range args[:n] {
			params[i] = river.InsertManyParams{Args: a}
		}
		if _, err := q.client.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("jobs: insert: %w", err)
		}
		args = args[n:]
	}
	return nil
}

// Migrate applies River's migrations to st's database; it is idempotent and
// safe to run from several processes at once.
func Migrate(ctx context.Context, st store.Store) error {
	switch st := st.(type) {
	case *postgres.Store:
		// Replicas starting together take turns (River's migrator does
		// not lock), under a session lock: River's PostgreSQL migrations
		// cannot share one transaction (a new enum value is used by the
		// next migration).
		conn, err := st.Pool().Acquire(ctx)
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('assistd river migrate'))`); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('assistd river migrate'))`)
		m, err := rivermigrate.New(riverpgxv5.New(st.Pool()), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	case *sqlite.Store:
		db, err := openSQLite(st)
		if err != nil {
			return err
		}
		defer db.Close()
		// BEGIN IMMEDIATE (the DSN's _txlock) serialises migrators.
		return migrate(ctx, riversqlite.New(db), func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
			func(_ context.Context, tx *sql.Tx) error { return tx.Commit() }, func(_ context.Context, tx *sql.Tx) { tx.Rollback() })
	default:
		return fmt.Errorf("jobs: unsupported store %T", st)
	}
}

// migrate applies River's pending migrations in one transaction.
func migrate[TTx any](ctx context.Context, d riverdriver.Driver[TTx], begin func(context.Context) (TTx, error),
	commit func(context.Context, TTx) error, rollback func(context.Context, TTx)) error {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	tx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		rollback(ctx, tx)
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if err := commit(ctx, tx); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// retryPolicy retries a failed job soon (a database hiccup): after its
// attempt count in seconds, at most 30.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(min(time.Duration(max(job.Attempt, 1))*time.Second, 30*time.Second))
}

// quietHandler passes on River's warnings and errors only: its
// informational lines (leadership, start, stop) would drown the server's.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
