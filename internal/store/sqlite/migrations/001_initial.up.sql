-- Projects (tenants) and their API keys.
CREATE TABLE projects (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_project_id ON api_keys (project_id);

-- Object tables: seq orders lists (insertion order), data is the object's
-- JSON encoding, the other columns exist for filtering.
CREATE TABLE assistants (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX assistants_project_seq ON assistants (project_id, seq);

CREATE TABLE threads (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);

-- The index leads with thread_id so that it also serves the foreign key's
-- cascade; lists filter on project_id too.
CREATE TABLE messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    thread_id  TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    run_id     TEXT,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX messages_thread_seq ON messages (thread_id, project_id, seq);
CREATE INDEX messages_run ON messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE files (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    data       TEXT NOT NULL
);
CREATE INDEX files_project_seq ON files (project_id, seq);
CREATE INDEX files_project_purpose_seq ON files (project_id, purpose, seq);
CREATE INDEX files_expires_at ON files (expires_at) WHERE expires_at IS NOT NULL;
