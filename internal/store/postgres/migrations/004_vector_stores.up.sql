-- Vector stores, their files, file batches and chunks. A store's and a
-- batch's status, file_counts and usage_bytes are derived from the file
-- rows on every read, never stored, so they cannot drift.
--
-- A store's index version (which changes whenever its searchable content
-- does, so that an in-memory index knows when to reload) is version_base
-- plus the sum of its completed files' rev. Completing a file or updating
-- a completed one gives it a fresh rev from vector_store_revs (larger than
-- any before it), so the sum grows; removing a completed file adds its rev
-- and a fresh one to version_base, so the total grows too. Ingestion thus
-- never writes the store's row, which concurrent finishes would queue on.
-- expires_at (Unix seconds) is a column for the expiry sweep;
-- embedding_model is not on the wire.
CREATE SEQUENCE vector_store_revs;

CREATE TABLE vector_stores (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    project_id      text NOT NULL,
    created_at      bigint NOT NULL,
    expires_at      bigint,
    embedding_model text,
    version_base    bigint NOT NULL DEFAULT 0,
    data            json NOT NULL
);
CREATE INDEX vector_stores_project_seq ON vector_stores (project_id, seq);
CREATE INDEX vector_stores_expires_at ON vector_stores (expires_at) WHERE expires_at IS NOT NULL;

-- A batch's cancelled flag is its only state of its own.
CREATE TABLE vector_store_file_batches (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    project_id      text NOT NULL,
    vector_store_id text NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    cancelled       boolean NOT NULL DEFAULT false,
    created_at      bigint NOT NULL,
    data            json NOT NULL
);
CREATE INDEX vector_store_file_batches_store ON vector_store_file_batches (vector_store_id);

-- One row per file of a store (id is the file's id). status, usage_bytes
-- and last_error are columns that override data's, so that ingestion and
-- cancellation write no JSON. The ingestion lease works as the runs' does.
-- batch_id is the newest batch that added the file.
CREATE TABLE vector_store_files (
    seq              bigserial PRIMARY KEY,
    id               text NOT NULL,
    vector_store_id  text NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    project_id       text NOT NULL,
    batch_id         text,
    status           text NOT NULL,
    usage_bytes      bigint NOT NULL DEFAULT 0,
    last_error       json,
    bytes            bigint NOT NULL,
    filename         text NOT NULL,
    title            text NOT NULL DEFAULT '',
    rev              bigint NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    created_at       bigint NOT NULL,
    data             json NOT NULL,
    UNIQUE (vector_store_id, id),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
-- Lists (all files, or by status), the derived counts and the version.
CREATE INDEX vector_store_files_store_seq ON vector_store_files (vector_store_id, seq);
CREATE INDEX vector_store_files_store_status ON vector_store_files (vector_store_id, status, seq) INCLUDE (usage_bytes, rev);
CREATE INDEX vector_store_files_batch ON vector_store_files (batch_id, seq) INCLUDE (status, usage_bytes) WHERE batch_id IS NOT NULL;
-- Claiming: only files waiting for ingestion, in claim order.
CREATE INDEX vector_store_files_claim ON vector_store_files (seq) WHERE status = 'in_progress';

-- A completed file's chunks; embedding is little-endian float32s (NULL
-- when the store has no embedder), already dense: not compressed again.
CREATE TABLE vector_store_chunks (
    vector_store_id text NOT NULL,
    file_id         text NOT NULL,
    idx             integer NOT NULL,
    text            text NOT NULL,
    tokens          integer NOT NULL,
    embedding       bytea,
    PRIMARY KEY (vector_store_id, file_id, idx),
    FOREIGN KEY (vector_store_id, file_id) REFERENCES vector_store_files (vector_store_id, id) ON DELETE CASCADE
);
ALTER TABLE vector_store_chunks ALTER COLUMN embedding SET STORAGE EXTERNAL;
