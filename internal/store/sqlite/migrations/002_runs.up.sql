-- Runs and their steps. A run's columns beside data drive the engine:
-- status (claiming, one active run per thread, expiry), the executor's
-- lease (lease_owner, lease_expires_at in Unix nanoseconds; both NULL or
-- both set), attempts (claims so far) and expires_at (Unix seconds).
CREATE TABLE runs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    project_id       TEXT NOT NULL,
    thread_id        TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    data             TEXT NOT NULL,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
-- Listing a thread's runs (and the foreign key's cascade).
CREATE INDEX runs_thread_seq ON runs (thread_id, project_id, seq);
-- One active run per thread, enforced by the database. Queries that test
-- for an active run repeat this exact WHERE so that the planner uses it.
CREATE UNIQUE INDEX runs_thread_active ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- Claiming: runs by status whose lease is absent or lapsed.
CREATE INDEX runs_claim ON runs (status, lease_expires_at);
-- Expiry sweeps: runs by status whose deadline passed.
CREATE INDEX runs_due ON runs (status, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE run_steps (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
-- Listing a run's steps (and the foreign key's cascade).
CREATE INDEX run_steps_run_seq ON run_steps (run_id, project_id, seq);
-- Deleting a thread's steps.
CREATE INDEX run_steps_thread ON run_steps (thread_id);
