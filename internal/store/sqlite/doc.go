// Package sqlite implements store.Store on an embedded SQLite database using
// the pure-Go modernc.org/sqlite driver (no cgo).
//
// Layout: every object kind (assistants, threads, messages, runs, run steps,
// files) has its own table holding the object's JSON encoding in a data
// column, next to the few columns queries filter on (project_id, thread_id,
// run_id, status, purpose, expires_at) and, for runs, the executor's lease.
// Lists order by the AUTOINCREMENT seq column, which keeps insertion order
// even when created_at (whole seconds) ties.
//
// Limits of SQLite, which decide when to move to the PostgreSQL store:
//
//   - One writer at a time. All writes go through a pool of one connection,
//     so concurrent writers queue in Go instead of failing with SQLITE_BUSY;
//     write throughput is that of a single connection (thousands of small
//     transactions per second, not tens of thousands).
//   - Readers run concurrently on a separate pool (WAL mode) and never block
//     the writer, but a long read keeps the WAL from being checkpointed.
//   - One process, one machine: the file must be on a local disk (WAL needs
//     shared memory), so several replicas cannot share it. Use PostgreSQL to
//     scale out.
//   - synchronous=NORMAL in WAL mode: a power loss may drop the last
//     committed transactions, but never corrupts the database.
//   - No row-level locking or SKIP LOCKED: claiming work is a single
//     UPDATE ... RETURNING under the one writer.
package sqlite
