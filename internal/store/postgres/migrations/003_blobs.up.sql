-- File bytes (internal/blob/pgblob), so that every replica serves every
-- file. A blob is one blobs row (its key, size and the chunk size it was
-- written with) and its content in blob_chunks rows of chunk_size bytes
-- (the last one shorter; none for an empty blob), numbered from 0. Chunks
-- hang off the blob's id, not its key: replacing or deleting a blob makes
-- an open reader of the old one fail instead of mixing two versions.
CREATE TABLE blobs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    size       bigint NOT NULL CHECK (size >= 0),
    chunk_size integer NOT NULL CHECK (chunk_size > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
    blob_id bigint NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    n       integer NOT NULL CHECK (n >= 0),
    data    bytea NOT NULL,
    PRIMARY KEY (blob_id, n)
);
-- Uploads are mostly compressed already (PDFs, images, archives): store
-- chunks out of line without trying to compress them again.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
