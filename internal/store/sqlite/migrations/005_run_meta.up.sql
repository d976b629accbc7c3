-- runs.meta is a copy of the run's metadata as JSON text, written whenever
-- data's metadata is. An executor's save keeps the stored metadata (the API
-- may have changed it meanwhile): when meta equals the executor's copy it
-- writes data as it is, and only otherwise splices the stored metadata in
-- with json_set, which parses both documents. Rows from before this column
-- have meta NULL and take the splice.
ALTER TABLE runs ADD COLUMN meta TEXT;
