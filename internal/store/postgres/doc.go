// Package postgres implements store.Store on PostgreSQL with
// github.com/jackc/pgx/v5 (a pgxpool connection pool), for deployments
// where several assistd replicas share one database.
//
// The data model is the SQLite store's: every object kind (assistants,
// threads, messages, runs, run steps, files) has its own table holding the
// object's JSON encoding in a data column, next to the few columns queries
// filter on (project_id, thread_id, run_id, status, purpose, expires_at)
// and, for runs, the executor's lease (lease_owner, lease_expires_at,
// attempts). Lists order by the bigserial seq column, the insertion order.
// Every query is scoped by project.
//
// Concurrency, which SQLite gets from its single writer, comes from row
// locks here:
//
//   - RunClaim locks its candidate with FOR UPDATE SKIP LOCKED, so
//     concurrent claimers in any number of processes never share a run
//     and never wait for one another.
//   - RunCreate locks the thread row FOR UPDATE and MessageCreate FOR
//     SHARE, so a message can never slip into a thread while a run is
//     being created in it; the runs_thread_active partial unique index
//     backs the one-active-run rule.
//   - RunSave and the *Update methods lock the row they rewrite, so their
//     guards (ExpectStatus, Owner) hold until commit.
//
// Migrations are versioned SQL files embedded in the binary, applied by
// Migrate under a transaction-scoped advisory lock, so several processes
// may migrate the same database at once.
package postgres
