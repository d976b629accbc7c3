-- Runs and their steps. A run's columns beside data drive the engine:
-- status (claiming, one active run per thread, expiry), the executor's
-- lease (lease_owner, lease_expires_at; both NULL or both set), attempts
-- (claims so far) and expires_at (Unix seconds).
CREATE TABLE runs (
    seq              bigserial PRIMARY KEY,
    id               text NOT NULL UNIQUE,
    project_id       text NOT NULL,
    thread_id        text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    status           text NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    created_at       bigint NOT NULL,
    expires_at       bigint,
    data             json NOT NULL,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
-- Listing a thread's runs (and the foreign key's cascade).
CREATE INDEX runs_thread_seq ON runs (thread_id, project_id, seq);
-- One active run per thread, enforced by the database.
CREATE UNIQUE INDEX runs_thread_active ON runs (thread_id)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');
-- Claiming: only runs an executor may hold are indexed, in claim order, so
-- finished runs (the vast majority) are never scanned.
CREATE INDEX runs_claim ON runs (seq)
    WHERE status IN ('queued', 'in_progress', 'cancelling');
-- Expiry sweeps: runs by status whose deadline passed.
CREATE INDEX runs_due ON runs (status, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE run_steps (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    thread_id  text NOT NULL,
    run_id     text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    data       json NOT NULL
);
-- Listing a run's steps (and the foreign key's cascade).
CREATE INDEX run_steps_run_seq ON run_steps (run_id, project_id, seq);
-- Deleting a thread's steps.
CREATE INDEX run_steps_thread ON run_steps (thread_id);
