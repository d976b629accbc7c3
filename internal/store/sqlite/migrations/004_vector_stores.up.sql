-- Vector stores, their files, file batches and chunks. A store's and a
-- batch's status, file_counts and usage_bytes are derived from the file
-- rows on every read, never stored, so they cannot drift.
--
-- vector_stores.version changes whenever the store's searchable content
-- does (a file completed, removed, re-added, its attributes updated), so
-- an in-memory index knows when to reload. expires_at (Unix seconds) is
-- a column for the expiry sweep; embedding_model is not on the wire.
CREATE TABLE vector_stores (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    project_id      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    embedding_model TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    data            TEXT NOT NULL
);
CREATE INDEX vector_stores_project_seq ON vector_stores (project_id, seq);
CREATE INDEX vector_stores_expires_at ON vector_stores (expires_at) WHERE expires_at IS NOT NULL;

-- A batch's cancelled flag is its only state of its own.
CREATE TABLE vector_store_file_batches (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    project_id      TEXT NOT NULL,
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    cancelled       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX vector_store_file_batches_store ON vector_store_file_batches (vector_store_id);

-- One row per file of a store (id is the file's id). status, usage_bytes
-- and last_error (JSON) are columns that override data's, so that
-- ingestion and cancellation write no JSON. The ingestion lease works as
-- the runs' does (lease_expires_at in Unix nanoseconds). batch_id is the
-- newest batch that added the file.
CREATE TABLE vector_store_files (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL,
    vector_store_id  TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL,
    batch_id         TEXT,
    status           TEXT NOT NULL,
    usage_bytes      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    bytes            INTEGER NOT NULL,
    filename         TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    data             TEXT NOT NULL,
    UNIQUE (vector_store_id, id),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
-- Lists (all files, or by status); the derived counts read only the
-- (covering) status and batch indexes.
CREATE INDEX vector_store_files_store_seq ON vector_store_files (vector_store_id, seq);
CREATE INDEX vector_store_files_store_status ON vector_store_files (vector_store_id, status, seq, usage_bytes);
CREATE INDEX vector_store_files_batch ON vector_store_files (batch_id, seq, status, usage_bytes) WHERE batch_id IS NOT NULL;
-- Claiming: only files waiting for ingestion, in claim order.
CREATE INDEX vector_store_files_claim ON vector_store_files (seq) WHERE status = 'in_progress';

-- A completed file's chunks; embedding is little-endian float32s (NULL
-- when the store has no embedder).
CREATE TABLE vector_store_chunks (
    vector_store_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    idx             INTEGER NOT NULL,
    text            TEXT NOT NULL,
    tokens          INTEGER NOT NULL,
    embedding       BLOB,
    PRIMARY KEY (vector_store_id, file_id, idx),
    FOREIGN KEY (vector_store_id, file_id) REFERENCES vector_store_files (vector_store_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
