-- Projects (tenants) and their API keys.
CREATE TABLE projects (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at bigint NOT NULL
);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    hash       text NOT NULL UNIQUE,
    created_at bigint NOT NULL
);
CREATE INDEX api_keys_project_id ON api_keys (project_id);

-- Object tables: seq orders lists (insertion order), data is the object's
-- JSON encoding, the other columns exist for filtering. data is json, not
-- jsonb: it keeps the text as written (jsonb refuses \u0000, which a
-- message may legitimately contain) and reads back without conversion.
CREATE TABLE assistants (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    created_at bigint NOT NULL,
    data       json NOT NULL
);
CREATE INDEX assistants_project_seq ON assistants (project_id, seq);

CREATE TABLE threads (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    created_at bigint NOT NULL,
    data       json NOT NULL
);

-- The index leads with thread_id so that it also serves the foreign key's
-- cascade; lists filter on project_id too.
CREATE TABLE messages (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    thread_id  text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    run_id     text,
    created_at bigint NOT NULL,
    data       json NOT NULL
);
CREATE INDEX messages_thread_seq ON messages (thread_id, project_id, seq);
CREATE INDEX messages_run ON messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE files (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    project_id text NOT NULL,
    purpose    text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint,
    data       json NOT NULL
);
CREATE INDEX files_project_seq ON files (project_id, seq);
CREATE INDEX files_project_purpose_seq ON files (project_id, purpose, seq);
CREATE INDEX files_expires_at ON files (expires_at) WHERE expires_at IS NOT NULL;
