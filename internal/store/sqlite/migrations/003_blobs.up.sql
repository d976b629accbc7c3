-- Version 3 adds the blob tables on PostgreSQL (file bytes in the
-- database). SQLite keeps file bytes on disk (internal/blob.Disk), so here
-- the version only keeps the numbering parallel to PostgreSQL's.
SELECT 1;
