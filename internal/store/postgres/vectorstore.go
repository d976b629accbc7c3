package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

var _ store.VectorStores = (*Store)(nil)

// fileCounts aggregates the file rows f joined to a store or batch: the
// counts by status, the total and the usage (see countDest).
const fileCounts = `count(f.status) FILTER (WHERE f.status = 'in_progress'),
    count(f.status) FILTER (WHERE f.status = 'completed'),
    count(f.status) FILTER (WHERE f.status = 'failed'),
    count(f.status) FILTER (WHERE f.status = 'cancelled'),
    count(f.status), coalesce(sum(f.usage_bytes), 0)::bigint`

// countDest returns the scan destinations of fileCounts.
func countDest(c *schema.VectorStoreFileCounts, usage *int64) []any {
	return []any{&c.InProgress, &c.Completed, &c.Failed, &c.Cancelled, &c.Total, usage}
}

// storeWithCounts reads a store's JSON, embedding model and file counts.
const storeWithCounts = `SELECT v.data, v.embedding_model, ` + fileCounts + `
FROM vector_stores v LEFT JOIN vector_store_files f ON f.vector_store_id = v.id
WHERE v.id = $1 AND v.project_id = $2 GROUP BY v.seq`

// scanStore decodes a storeWithCounts row, deriving status at now.
func scanStore(row pgx.Row, now int64) (*schema.VectorStore, error) {
	var data []byte
	var model *string
	var counts schema.VectorStoreFileCounts
	var usage int64
	if err := row.Scan(append([]any{&data, &model}, countDest(&counts, &usage)...)...); err != nil {
		return nil, mapErr(err)
	}
	vs := new(schema.VectorStore)
	if err := json.Unmarshal(data, vs); err != nil {
		return nil, fmt.Errorf("postgres: decode vector_stores row: %w", err)
	}
	if model != nil {
		vs.EmbeddingModel = *model
	}
	vs.Derive(counts, usage, now)
	return vs, nil
}

// nullString maps "" to NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// upsertVectorStoreFile inserts one file row after replaceFiles deleted
// any previous row of the file. A concurrent add of the same file may
// insert first: then its row is reset to this one. (Were that row
// completed in the microseconds between the two statements, its rev would
// leave the version's sum unaccounted: the version would still change,
// but downwards.)
const upsertVectorStoreFile = `INSERT INTO vector_store_files
    (id, vector_store_id, project_id, batch_id, status, usage_bytes, last_error, bytes, filename, created_at, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (vector_store_id, id) DO UPDATE SET batch_id = excluded.batch_id, status = excluded.status,
    usage_bytes = excluded.usage_bytes, last_error = excluded.last_error, bytes = excluded.bytes,
    filename = excluded.filename, title = '', rev = 0, lease_owner = NULL, lease_expires_at = NULL, attempts = 0,
    created_at = excluded.created_at, data = excluded.data`

// replaceFiles deletes the rows (and by cascade the chunks) of files about
// to be re-added, accounting for completed ones in the index version.
const replaceFiles = `WITH gone AS (
    DELETE FROM vector_store_files WHERE vector_store_id = $1 AND id = ANY($2) RETURNING status, rev
)
UPDATE vector_stores SET version_base = version_base + ` + removedRevs + `
WHERE id = $1 AND EXISTS (SELECT 1 FROM gone WHERE status = 'completed')`

// removedRevs is what removing the completed rows of gone adds to
// version_base: their revs, which leave the sum, and a fresh rev, so that
// the version grows.
const removedRevs = `(SELECT coalesce(sum(rev), 0) FROM gone WHERE status = 'completed') + nextval('vector_store_revs')`

// fileRow is a vector store file ready to insert.
type fileRow struct {
	add     *store.VectorStoreFileAdd
	data    []byte
	lastErr []byte
}

// prepareFiles checks that each file belongs to vectorStoreID and encodes it.
func prepareFiles(vectorStoreID string, files []*store.VectorStoreFileAdd) ([]fileRow, []string, error) {
	rows := make([]fileRow, len(files))
	ids := make([]string, len(files))
	for i, f := range files {
		if f.File == nil || f.File.VectorStoreID != vectorStoreID {
			return nil, nil, fmt.Errorf("postgres: vector store file %d does not belong to vector store %s", i, vectorStoreID)
		}
		data, err := json.Marshal(f.File)
		if err != nil {
			return nil, nil, err
		}
		rows[i] = fileRow{add: f, data: data}
		ids[i] = f.File.ID
		if f.File.LastError != nil {
			if rows[i].lastErr, err = json.Marshal(f.File.LastError); err != nil {
				return nil, nil, err
			}
		}
	}
	return rows, ids, nil
}

// queueFiles queues the replacement and insertion of rows.
func queueFiles(b *pgx.Batch, projectID, vectorStoreID string, batchID *string, rows []fileRow, ids []string) {
	if len(rows) == 0 {
		return
	}
	b.Queue(replaceFiles, vectorStoreID, ids)
	for _, r := range rows {
		f := r.add.File
		var lastErr any
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
		b.Queue(upsertVectorStoreFile, f.ID, vectorStoreID, projectID, batchID, f.Status, f.UsageBytes, lastErr,
			r.add.Bytes, r.add.Filename, f.CreatedAt, r.data)
	}
}

// VectorStoreCreate inserts vs and its files in one transaction.
func (s *Store) VectorStoreCreate(ctx context.Context, projectID string, vs *schema.VectorStore, files []*store.VectorStoreFileAdd) error {
	if vs.LastActiveAt == nil {
		vs.SetActive(vs.CreatedAt)
	} else {
		vs.RefreshExpiresAt()
	}
	rows, ids, err := prepareFiles(vs.ID, files)
	if err != nil {
		return err
	}
	var counts schema.VectorStoreFileCounts
	var usage int64
	for _, f := range files {
		counts.Add(f.File.Status, 1)
		usage += f.File.UsageBytes
	}
	vs.Derive(counts, usage, time.Now().Unix())
	data, err := json.Marshal(vs)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO vector_stores (id, project_id, created_at, expires_at, embedding_model, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		vs.ID, projectID, vs.CreatedAt, vs.ExpiresAt, nullString(vs.EmbeddingModel), data)
	queueFiles(b, projectID, vs.ID, nil, rows, ids)
	return s.inTx(ctx, func(tx pgx.Tx) error { return runBatch(ctx, tx, b) })
}

// VectorStoreDelete removes the store; its files, batches and chunks
// follow by cascade.
func (s *Store) VectorStoreDelete(ctx context.Context, projectID, id string) error {
	return s.execOne(ctx, `DELETE FROM vector_stores WHERE id = $1 AND project_id = $2`, id, projectID)
}

// VectorStoreGet reads one store with its derived fields.
func (s *Store) VectorStoreGet(ctx context.Context, projectID, id string) (*schema.VectorStore, error) {
	return scanStore(s.pool.QueryRow(ctx, storeWithCounts, id, projectID), time.Now().Unix())
}

// VectorStoreList pages through the project's stores in creation order,
// then derives the page's fields with one aggregate query.
func (s *Store) VectorStoreList(ctx context.Context, projectID string, p store.ListParams) (*store.Page[schema.VectorStore], error) {
	page, err := listPage[schema.VectorStore](ctx, s, listQuery{
		table:       "vector_stores",
		where:       "project_id = ?",
		args:        []any{projectID},
		cursorWhere: "project_id = ?",
		cursorArgs:  []any{projectID},
	}, p)
	if err != nil || len(page.Data) == 0 {
		return page, err
	}
	idx := make(map[string]int, len(page.Data))
	ids := make([]string, len(page.Data))
	for i := range page.Data {
		idx[page.Data[i].ID] = i
		ids[i] = page.Data[i].ID
	}
	rows, err := s.pool.Query(ctx, `SELECT v.id, v.embedding_model, `+fileCounts+`
FROM vector_stores v LEFT JOIN vector_store_files f ON f.vector_store_id = v.id
WHERE v.project_id = $1 AND v.id = ANY($2) GROUP BY v.seq`, projectID, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	now := time.Now().Unix()
	for rows.Next() {
		var id string
		var model *string
		var counts schema.VectorStoreFileCounts
		var usage int64
		if err := rows.Scan(append([]any{&id, &model}, countDest(&counts, &usage)...)...); err != nil {
			return nil, err
		}
		if i, ok := idx[id]; ok {
			if model != nil {
				page.Data[i].EmbeddingModel = *model
			}
			page.Data[i].Derive(counts, usage, now)
		}
	}
	return page, mapErr(rows.Err())
}

// updateStore runs the read-patch-write cycle of a store in one
// transaction (the row locked) and returns the result with its derived
// fields.
func (s *Store) updateStore(ctx context.Context, projectID, id string, patch func(*schema.VectorStore) error) (*schema.VectorStore, error) {
	var out *schema.VectorStore
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var data []byte
		var model *string
		if err := tx.QueryRow(ctx, `SELECT data, embedding_model FROM vector_stores WHERE id = $1 AND project_id = $2 FOR UPDATE`,
			id, projectID).Scan(&data, &model); err != nil {
			return mapErr(err)
		}
		vs := new(schema.VectorStore)
		if err := json.Unmarshal(data, vs); err != nil {
			return fmt.Errorf("postgres: decode vector_stores row: %w", err)
		}
		var counts schema.VectorStoreFileCounts
		var usage int64
		if err := tx.QueryRow(ctx, `SELECT `+fileCounts+` FROM vector_store_files f WHERE f.vector_store_id = $1`, id).
			Scan(countDest(&counts, &usage)...); err != nil {
			return mapErr(err)
		}
		if model != nil {
			vs.EmbeddingModel = *model
		}
		now := time.Now().Unix()
		vs.Derive(counts, usage, now)
		// What patch may not change: identity, and what the rows derive.
		object, createdAt, embModel := vs.Object, vs.CreatedAt, vs.EmbeddingModel
		if err := patch(vs); err != nil {
			return err
		}
		vs.ID, vs.Object, vs.CreatedAt, vs.EmbeddingModel = id, object, createdAt, embModel
		vs.RefreshExpiresAt()
		data, err := json.Marshal(vs)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE vector_stores SET expires_at = $1, data = $2 WHERE id = $3`, vs.ExpiresAt, data, id); err != nil {
			return mapErr(err)
		}
		vs.Derive(counts, usage, now)
		out = vs
		return nil
	})
	return out, err
}

// VectorStoreUpdate applies patch in one transaction.
func (s *Store) VectorStoreUpdate(ctx context.Context, projectID, id string, patch func(*schema.VectorStore) error) (*schema.VectorStore, error) {
	return s.updateStore(ctx, projectID, id, patch)
}

// VectorStoreTouch records activity at now.
func (s *Store) VectorStoreTouch(ctx context.Context, projectID, id string, now int64) error {
	_, err := s.updateStore(ctx, projectID, id, func(vs *schema.VectorStore) error {
		vs.SetActive(now)
		return nil
	})
	return err
}

// VectorStoresExpired returns stores whose expires_at is at or before now,
// soonest first.
func (s *Store) VectorStoresExpired(ctx context.Context, now int64, limit int) ([]store.ProjectObject, error) {
	rows, err := s.pool.Query(ctx, `SELECT project_id, id FROM vector_stores
WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at, seq LIMIT $2`, now, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []store.ProjectObject
	for rows.Next() {
		var o store.ProjectObject
		if err := rows.Scan(&o.ProjectID, &o.ID); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, mapErr(rows.Err())
}

// VectorStoreFileAdd (re-)adds files to the store, with a new batch when
// batch is not nil, in one transaction.
func (s *Store) VectorStoreFileAdd(ctx context.Context, projectID, vectorStoreID string, files []*store.VectorStoreFileAdd, batch *schema.VectorStoreFileBatch) error {
	rows, ids, err := prepareFiles(vectorStoreID, files)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	var batchID *string
	if batch != nil {
		if batch.VectorStoreID != vectorStoreID {
			return fmt.Errorf("postgres: batch %s does not belong to vector store %s", batch.ID, vectorStoreID)
		}
		var counts schema.VectorStoreFileCounts
		for _, f := range files {
			counts.Add(f.File.Status, 1)
		}
		batch.Derive(counts, false)
		bdata, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		batchID = &batch.ID
		b.Queue(`INSERT INTO vector_store_file_batches (id, project_id, vector_store_id, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
			batch.ID, projectID, vectorStoreID, batch.CreatedAt, bdata)
	}
	queueFiles(b, projectID, vectorStoreID, batchID, rows, ids)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The foreign keys keep the store from vanishing before commit;
		// this checks that it is the project's.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM vector_stores WHERE id = $1 AND project_id = $2`, vectorStoreID, projectID).Scan(&one); err != nil {
			return mapErr(err)
		}
		return runBatch(ctx, tx, b)
	})
}

// fileCols are the columns scanFile reads.
const fileCols = `data, status, usage_bytes, last_error`

// scanFile decodes data and lays the row's own columns over it.
func scanFile(data []byte, status string, usage int64, lastErr []byte) (*schema.VectorStoreFile, error) {
	f := new(schema.VectorStoreFile)
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("postgres: decode vector_store_files row: %w", err)
	}
	f.Status, f.UsageBytes, f.LastError = status, usage, nil
	if lastErr != nil {
		f.LastError = new(schema.VectorStoreFileError)
		if err := json.Unmarshal(lastErr, f.LastError); err != nil {
			return nil, fmt.Errorf("postgres: decode vector_store_files last_error: %w", err)
		}
	}
	return f, nil
}

// scanFileRow reads fileCols (after extra destinations) from row.
func scanFileRow(row pgx.Row, extra ...any) (*schema.VectorStoreFile, error) {
	var data, lastErr []byte
	var status string
	var usage int64
	if err := row.Scan(append(extra, &data, &status, &usage, &lastErr)...); err != nil {
		return nil, mapErr(err)
	}
	return scanFile(data, status, usage, lastErr)
}

// VectorStoreFileGet reads one file of the store.
func (s *Store) VectorStoreFileGet(ctx context.Context, projectID, vectorStoreID, fileID string) (*schema.VectorStoreFile, error) {
	return scanFileRow(s.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM vector_store_files WHERE vector_store_id = $1 AND id = $2 AND project_id = $3`,
		vectorStoreID, fileID, projectID))
}

// VectorStoreFileList pages through the store's files in the order they
// were (last) added.
func (s *Store) VectorStoreFileList(ctx context.Context, projectID, vectorStoreID string, p store.VectorStoreFileListParams) (*store.Page[schema.VectorStoreFile], error) {
	q := listQuery{
		table:       "vector_store_files",
		where:       "vector_store_id = ? AND project_id = ?",
		args:        []any{vectorStoreID, projectID},
		cursorWhere: "vector_store_id = ? AND project_id = ?",
		cursorArgs:  []any{vectorStoreID, projectID},
	}
	if p.Status != "" {
		q.where += " AND status = ?"
		q.args = append(q.args, p.Status)
	}
	if p.BatchID != "" {
		q.where += " AND batch_id = ?"
		q.args = append(q.args, p.BatchID)
	}
	query, args, reversed := q.build(p.ListParams)
	// build selects data only; these rows need their own columns too.
	const plain = "SELECT data FROM "
	if !strings.HasPrefix(query, plain) {
		return nil, fmt.Errorf("postgres: unexpected list query %q", query)
	}
	query = "SELECT " + fileCols + " FROM " + query[len(plain):]
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	page := &store.Page[schema.VectorStoreFile]{Data: make([]schema.VectorStoreFile, 0, min(limit, 100))}
	for rows.Next() {
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		f, err := scanFileRow(rows)
		if err != nil {
			return nil, err
		}
		page.Data = append(page.Data, *f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	if reversed {
		slices.Reverse(page.Data)
	}
	if len(page.Data) == 0 {
		if err := s.exists(ctx, `SELECT 1 FROM vector_stores WHERE id = $1 AND project_id = $2`, vectorStoreID, projectID); err != nil {
			return nil, err
		}
		if p.BatchID != "" {
			if err := s.exists(ctx, `SELECT 1 FROM vector_store_file_batches WHERE id = $1 AND vector_store_id = $2 AND project_id = $3`,
				p.BatchID, vectorStoreID, projectID); err != nil {
				return nil, err
			}
		}
	}
	return page, nil
}

// VectorStoreFileDelete removes the file and (by cascade) its chunks, and
// accounts for it in the version if it was searchable, in one statement.
func (s *Store) VectorStoreFileDelete(ctx context.Context, projectID, vectorStoreID, fileID string) error {
	var n int
	err := retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `WITH gone AS (
    DELETE FROM vector_store_files WHERE vector_store_id = $1 AND id = $2 AND project_id = $3 RETURNING status, rev
), bump AS (
    UPDATE vector_stores SET version_base = version_base + `+removedRevs+`
    WHERE id = $1 AND EXISTS (SELECT 1 FROM gone WHERE status = 'completed')
)
SELECT count(*) FROM gone`, vectorStoreID, fileID, projectID).Scan(&n)
	})
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// VectorStoreFileUpdate applies patch in one transaction with the row
// locked. The file's identity is not patchable; a status other than
// in_progress releases the ingestion lease.
func (s *Store) VectorStoreFileUpdate(ctx context.Context, projectID, vectorStoreID, fileID string, patch func(*schema.VectorStoreFile) error) (*schema.VectorStoreFile, error) {
	var out *schema.VectorStoreFile
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var seq, rev int64
		f, err := scanFileRow(tx.QueryRow(ctx, `SELECT seq, rev, `+fileCols+` FROM vector_store_files
WHERE vector_store_id = $1 AND id = $2 AND project_id = $3 FOR UPDATE`, vectorStoreID, fileID, projectID), &seq, &rev)
		if err != nil {
			return err
		}
		oldStatus, createdAt := f.Status, f.CreatedAt
		if err := patch(f); err != nil {
			return err
		}
		f.ID, f.Object, f.VectorStoreID, f.CreatedAt = fileID, "vector_store.file", vectorStoreID, createdAt
		data, err := json.Marshal(f)
		if err != nil {
			return err
		}
		var lastErr any
		if f.LastError != nil {
			b, err := json.Marshal(f.LastError)
			if err != nil {
				return err
			}
			lastErr = b
		}
		completed := f.Status == schema.VectorStoreFileCompleted
		b := &pgx.Batch{}
		// A completed file gets a fresh rev (its content may have changed:
		// the version must grow); one that stops being completed leaves
		// the sum, which version_base makes up for.
		b.Queue(`UPDATE vector_store_files SET status = $1, usage_bytes = $2, last_error = $3, data = $4,
    rev = CASE WHEN $7 THEN nextval('vector_store_revs') ELSE 0 END,
    lease_owner = CASE WHEN $5 THEN lease_owner END,
    lease_expires_at = CASE WHEN $5 THEN lease_expires_at END
WHERE seq = $6`, f.Status, f.UsageBytes, lastErr, data, f.Status == schema.VectorStoreFileInProgress, seq, completed)
		if oldStatus == schema.VectorStoreFileCompleted && !completed {
			b.Queue(`UPDATE vector_stores SET version_base = version_base + $1 + nextval('vector_store_revs') WHERE id = $2`, rev, vectorStoreID)
		}
		if err := runBatch(ctx, tx, b); err != nil {
			return err
		}
		out = f
		return nil
	})
	return out, err
}

// VectorStoreFileChunks returns the file's chunks in order.
func (s *Store) VectorStoreFileChunks(ctx context.Context, projectID, vectorStoreID, fileID string) ([]store.Chunk, error) {
	if err := s.exists(ctx, `SELECT 1 FROM vector_store_files WHERE vector_store_id = $1 AND id = $2 AND project_id = $3`,
		vectorStoreID, fileID, projectID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT idx, text, tokens, embedding FROM vector_store_chunks
WHERE vector_store_id = $1 AND file_id = $2 ORDER BY idx`, vectorStoreID, fileID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []store.Chunk{}
	for rows.Next() {
		c, err := scanChunk(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err())
}

// scanChunk reads idx, text, tokens and embedding (after extra).
func scanChunk(rows pgx.Rows, extra ...any) (store.Chunk, error) {
	var c store.Chunk
	var emb []byte
	if err := rows.Scan(append(extra, &c.Index, &c.Text, &c.Tokens, &emb)...); err != nil {
		return c, err
	}
	var err error
	c.Embedding, err = store.DecodeEmbedding(emb)
	return c, err
}

// batchWithCounts reads a batch's JSON, cancelled flag and file counts.
const batchWithCounts = `SELECT b.data, b.cancelled, ` + fileCounts + `
FROM vector_store_file_batches b LEFT JOIN vector_store_files f ON f.batch_id = b.id
WHERE b.id = $1 AND b.vector_store_id = $2 AND b.project_id = $3 GROUP BY b.seq`

func scanBatch(row pgx.Row) (*schema.VectorStoreFileBatch, error) {
	var data []byte
	var cancelled bool
	var counts schema.VectorStoreFileCounts
	var usage int64
	if err := row.Scan(append([]any{&data, &cancelled}, countDest(&counts, &usage)...)...); err != nil {
		return nil, mapErr(err)
	}
	b := new(schema.VectorStoreFileBatch)
	if err := json.Unmarshal(data, b); err != nil {
		return nil, fmt.Errorf("postgres: decode vector_store_file_batches row: %w", err)
	}
	b.Derive(counts, cancelled)
	return b, nil
}

// VectorStoreFileBatchGet reads one batch with its derived fields.
func (s *Store) VectorStoreFileBatchGet(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error) {
	return scanBatch(s.pool.QueryRow(ctx, batchWithCounts, batchID, vectorStoreID, projectID))
}

// VectorStoreFileBatchCancel marks the batch cancelled and cancels its
// in_progress files (releasing their leases) in one transaction. A file
// being finished holds its row lock: the cancel waits for it and then
// leaves the completed file alone.
func (s *Store) VectorStoreFileBatchCancel(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error) {
	var out *schema.VectorStoreFileBatch
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE vector_store_file_batches SET cancelled = true WHERE id = $1 AND vector_store_id = $2 AND project_id = $3`,
			batchID, vectorStoreID, projectID)
		if err != nil {
			return mapErr(err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE vector_store_files SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
WHERE batch_id = $1 AND status = 'in_progress'`, batchID); err != nil {
			return mapErr(err)
		}
		out, err = scanBatch(tx.QueryRow(ctx, batchWithCounts, batchID, vectorStoreID, projectID))
		return err
	})
	return out, err
}

// IngestClaim leases the oldest claimable file to p.Owner. One UPDATE
// picks its row with FOR UPDATE SKIP LOCKED, so concurrent claimers in any
// process skip a file another one is taking.
func (s *Store) IngestClaim(ctx context.Context, p store.IngestClaimParams) (*store.IngestJob, error) {
	if p.Owner == "" || p.LeaseUntil.IsZero() {
		return nil, errors.New("postgres: ingest claim: Owner and LeaseUntil are required")
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	pick := `SELECT seq FROM vector_store_files WHERE status = 'in_progress'
    AND (lease_expires_at IS NULL OR lease_expires_at < $3) ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`
	args := []any{p.Owner, p.LeaseUntil, now}
	if p.VectorStoreID != "" || p.FileID != "" {
		pick = `SELECT seq FROM vector_store_files WHERE vector_store_id = $4 AND id = $5 AND status = 'in_progress'
    AND (lease_expires_at IS NULL OR lease_expires_at < $3) FOR UPDATE SKIP LOCKED`
		args = append(args, p.VectorStoreID, p.FileID)
	}
	var j store.IngestJob
	var model *string
	f, err := scanFileRow(s.pool.QueryRow(ctx, `UPDATE vector_store_files SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
WHERE seq = (`+pick+`)
RETURNING project_id, vector_store_id, filename, bytes, attempts,
    (SELECT embedding_model FROM vector_stores v WHERE v.id = vector_store_files.vector_store_id), `+fileCols,
		args...), &j.ProjectID, &j.VectorStoreID, &j.Filename, &j.Bytes, &j.Attempts, &model)
	if err != nil {
		return nil, err
	}
	j.File = f
	if model != nil {
		j.EmbeddingModel = *model
	}
	return &j, nil
}

// IngestPending lists the in_progress files no live lease holds.
func (s *Store) IngestPending(ctx context.Context, now time.Time, limit int) ([]store.IngestRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT project_id, vector_store_id, id, attempts, created_at FROM vector_store_files
WHERE status = 'in_progress' AND (lease_expires_at IS NULL OR lease_expires_at < $1) ORDER BY seq LIMIT $2`, now, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []store.IngestRef
	for rows.Next() {
		var r store.IngestRef
		if err := rows.Scan(&r.ProjectID, &r.VectorStoreID, &r.FileID, &r.Attempts, &r.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// IngestLeaseRenew moves the lease's expiry to until if owner still holds
// it on an in_progress file.
func (s *Store) IngestLeaseRenew(ctx context.Context, vectorStoreID, fileID, owner string, until time.Time) error {
	err := s.execOne(ctx, `UPDATE vector_store_files SET lease_expires_at = $1
WHERE vector_store_id = $2 AND id = $3 AND lease_owner = $4 AND status = 'in_progress'`, until, vectorStoreID, fileID, owner)
	if errors.Is(err, store.ErrNotFound) {
		return store.ErrLeaseLost
	}
	return err
}

// IngestFinish locks the file's row, checks it, then writes the outcome
// and the chunks in one batch: two round trips and the commit.
func (s *Store) IngestFinish(ctx context.Context, projectID string, p *store.IngestFinishParams) error {
	var lastErr any
	usage := p.UsageBytes
	switch p.Status {
	case schema.VectorStoreFileCompleted:
	case schema.VectorStoreFileFailed:
		usage = 0
		if p.LastError != nil {
			b, err := json.Marshal(p.LastError)
			if err != nil {
				return err
			}
			lastErr = b
		}
	default:
		return fmt.Errorf("postgres: ingest finish: status %q is neither completed nor failed", p.Status)
	}
	var idx, tokens []int32
	var texts []string
	var embs [][]byte
	if p.Status == schema.VectorStoreFileCompleted {
		idx, tokens = make([]int32, len(p.Chunks)), make([]int32, len(p.Chunks))
		texts, embs = make([]string, len(p.Chunks)), make([][]byte, len(p.Chunks))
		for i, c := range p.Chunks {
			idx[i], texts[i], tokens[i], embs[i] = int32(c.Index), c.Text, int32(c.Tokens), store.EncodeEmbedding(c.Embedding)
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var seq int64
		var status string
		var owner *string
		if err := tx.QueryRow(ctx, `SELECT seq, status, lease_owner FROM vector_store_files
WHERE vector_store_id = $1 AND id = $2 AND project_id = $3 FOR UPDATE`, p.VectorStoreID, p.FileID, projectID).Scan(&seq, &status, &owner); err != nil {
			return mapErr(err)
		}
		if status != schema.VectorStoreFileInProgress {
			return fmt.Errorf("%w: vector store file %s is %s", store.ErrConflict, p.FileID, status)
		}
		if owner == nil || *owner != p.Owner || p.Owner == "" {
			return store.ErrLeaseLost
		}
		b := &pgx.Batch{}
		// A completed file joins the version's sum with a fresh rev; the
		// store's row is not written, so concurrent finishes never queue.
		b.Queue(`UPDATE vector_store_files SET status = $1, usage_bytes = $2, last_error = $3, title = $4,
    rev = CASE WHEN $6 THEN nextval('vector_store_revs') ELSE 0 END,
    lease_owner = NULL, lease_expires_at = NULL WHERE seq = $5`, p.Status, usage, lastErr, p.Title, seq, p.Status == schema.VectorStoreFileCompleted)
		// Chunks left by an earlier life of the file (an update may move a
		// completed file back to in_progress) would collide or linger.
		b.Queue(`DELETE FROM vector_store_chunks WHERE vector_store_id = $1 AND file_id = $2`, p.VectorStoreID, p.FileID)
		if len(idx) > 0 {
			b.Queue(`INSERT INTO vector_store_chunks (vector_store_id, file_id, idx, text, tokens, embedding)
SELECT $1, $2, c.idx, c.text, c.tokens, c.embedding
FROM unnest($3::integer[], $4::text[], $5::integer[], $6::bytea[]) AS c (idx, text, tokens, embedding)`,
				p.VectorStoreID, p.FileID, idx, texts, tokens, embs)
		}
		return runBatch(ctx, tx, b)
	})
}

// indexVersion reads a store's index version (see migration 004).
const indexVersion = `SELECT v.version_base + coalesce((SELECT sum(f.rev) FROM vector_store_files f
WHERE f.vector_store_id = v.id AND f.status = 'completed'), 0)::bigint
FROM vector_stores v WHERE v.id = $1 AND v.project_id = $2`

// VectorStoreIndexVersion reads the store's content version.
func (s *Store) VectorStoreIndexVersion(ctx context.Context, projectID, vectorStoreID string) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, indexVersion, vectorStoreID, projectID).Scan(&v); err != nil {
		return 0, mapErr(err)
	}
	return v, nil
}

// VectorStoreIndexLoad reads the version, the completed files and their
// chunks in one repeatable-read transaction (one snapshot).
func (s *Store) VectorStoreIndexLoad(ctx context.Context, projectID, vectorStoreID string) (int64, []store.IndexedFile, error) {
	var version int64
	var files []store.IndexedFile
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		files = nil
		if err := tx.QueryRow(ctx, indexVersion,
			vectorStoreID, projectID).Scan(&version); err != nil {
			return mapErr(err)
		}
		rows, err := tx.Query(ctx, `SELECT id, filename, title, usage_bytes, data FROM vector_store_files
WHERE vector_store_id = $1 AND status = 'completed' ORDER BY seq`, vectorStoreID)
		if err != nil {
			return mapErr(err)
		}
		byID := make(map[string]int)
		for rows.Next() {
			var f store.IndexedFile
			var data []byte
			if err := rows.Scan(&f.FileID, &f.Filename, &f.Title, &f.UsageBytes, &data); err != nil {
				rows.Close()
				return err
			}
			var vf schema.VectorStoreFile
			if err := json.Unmarshal(data, &vf); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: decode vector_store_files row: %w", err)
			}
			f.Attributes = vf.Attributes
			byID[f.FileID] = len(files)
			files = append(files, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return mapErr(err)
		}
		rows, err = tx.Query(ctx, `SELECT c.file_id, c.idx, c.text, c.tokens, c.embedding
FROM vector_store_chunks c JOIN vector_store_files f ON f.vector_store_id = c.vector_store_id AND f.id = c.file_id
WHERE c.vector_store_id = $1 AND f.status = 'completed' ORDER BY c.file_id, c.idx`, vectorStoreID)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var fileID string
			c, err := scanChunk(rows, &fileID)
			if err != nil {
				return err
			}
			if i, ok := byID[fileID]; ok {
				files[i].Chunks = append(files[i].Chunks, c)
			}
		}
		return mapErr(rows.Err())
	})
	if err != nil {
		return 0, nil, err
	}
	return version, files, nil
}
