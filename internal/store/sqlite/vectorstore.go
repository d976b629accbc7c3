package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

var _ store.VectorStores = (*Store)(nil)

// fileCounts aggregates the file rows f joined to a store or batch: the
// counts by status, the total and the usage, in schema.VectorStoreFileCounts
// order (see scanCounts).
const fileCounts = `count(f.status) FILTER (WHERE f.status = 'in_progress'),
    count(f.status) FILTER (WHERE f.status = 'completed'),
    count(f.status) FILTER (WHERE f.status = 'failed'),
    count(f.status) FILTER (WHERE f.status = 'cancelled'),
    count(f.status), coalesce(sum(f.usage_bytes), 0)`

// countDest returns the scan destinations of fileCounts.
func countDest(c *schema.VectorStoreFileCounts, usage *int64) []any {
	return []any{&c.InProgress, &c.Completed, &c.Failed, &c.Cancelled, &c.Total, usage}
}

// storeWithCounts reads a store's JSON, embedding model and file counts.
const storeWithCounts = `SELECT v.data, v.embedding_model, ` + fileCounts + `
FROM vector_stores v LEFT JOIN vector_store_files f ON f.vector_store_id = v.id
WHERE v.id = ? AND v.project_id = ? GROUP BY v.seq`

// scanStore decodes a storeWithCounts row, deriving status at now.
func scanStore(row *sql.Row, now int64) (*schema.VectorStore, error) {
	var data []byte
	var model sql.NullString
	var counts schema.VectorStoreFileCounts
	var usage int64
	if err := row.Scan(append([]any{&data, &model}, countDest(&counts, &usage)...)...); err != nil {
		return nil, mapErr(err)
	}
	vs := new(schema.VectorStore)
	if err := json.Unmarshal(data, vs); err != nil {
		return nil, fmt.Errorf("sqlite: decode vector_stores row: %w", err)
	}
	vs.EmbeddingModel = model.String
	vs.Derive(counts, usage, now)
	return vs, nil
}

// nullString maps "" to NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// insertVectorStoreFile inserts one file row (after any previous row of
// the same file was deleted, with its chunks).
const insertVectorStoreFile = `INSERT INTO vector_store_files
    (id, vector_store_id, project_id, batch_id, status, usage_bytes, last_error, bytes, filename, created_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// fileRow is a vector store file ready to insert.
type fileRow struct {
	add     *store.VectorStoreFileAdd
	data    []byte
	lastErr []byte
}

// prepareFiles checks that each file belongs to vectorStoreID and encodes it.
func prepareFiles(vectorStoreID string, files []*store.VectorStoreFileAdd) ([]fileRow, error) {
	rows := make([]fileRow, len(files))
	for i, f := range files {
		if f.File == nil || f.File.VectorStoreID != vectorStoreID {
			return nil, fmt.Errorf("sqlite: vector store file %d does not belong to vector store %s", i, vectorStoreID)
		}
		data, err := json.Marshal(f.File)
		if err != nil {
			return nil, err
		}
		rows[i] = fileRow{add: f, data: data}
		if f.File.LastError != nil {
			if rows[i].lastErr, err = json.Marshal(f.File.LastError); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// insertFiles writes rows into the store, replacing files already in it
// (their chunks go with them); replaced reports whether a replaced file
// was completed, i.e. searchable.
func insertFiles(tx *wtx, projectID, vectorStoreID string, batchID sql.NullString, rows []fileRow) (replaced bool, err error) {
	for _, r := range rows {
		f := r.add.File
		row, err := tx.queryRow(`DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ? RETURNING status`, vectorStoreID, f.ID)
		if err != nil {
			return false, err
		}
		var status string
		switch err := row.Scan(&status); {
		case err == nil:
			replaced = replaced || status == schema.VectorStoreFileCompleted
		case !errors.Is(err, sql.ErrNoRows):
			return false, mapErr(err)
		}
		var lastErr any
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
		if _, err := tx.exec(insertVectorStoreFile, f.ID, vectorStoreID, projectID, batchID, f.Status, f.UsageBytes, lastErr,
			r.add.Bytes, r.add.Filename, f.CreatedAt, r.data); err != nil {
			return false, err
		}
	}
	return replaced, nil
}

// bumpVersion marks a change of the store's searchable content.
func bumpVersion(tx *wtx, vectorStoreID string) error {
	_, err := tx.exec(`UPDATE vector_stores SET version = version + 1 WHERE id = ?`, vectorStoreID)
	return err
}

// VectorStoreCreate inserts vs and its files in one transaction.
func (s *Store) VectorStoreCreate(ctx context.Context, projectID string, vs *schema.VectorStore, files []*store.VectorStoreFileAdd) error {
	if vs.LastActiveAt == nil {
		vs.SetActive(vs.CreatedAt)
	} else {
		vs.RefreshExpiresAt()
	}
	rows, err := prepareFiles(vs.ID, files)
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
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO vector_stores (id, project_id, created_at, expires_at, embedding_model, data) VALUES (?, ?, ?, ?, ?, ?)`,
			vs.ID, projectID, vs.CreatedAt, vs.ExpiresAt, nullString(vs.EmbeddingModel), data); err != nil {
			return err
		}
		_, err := insertFiles(tx, projectID, vs.ID, sql.NullString{}, rows)
		return err
	})
}

// VectorStoreDelete removes the store; its files, batches and chunks
// follow by cascade.
func (s *Store) VectorStoreDelete(ctx context.Context, projectID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM vector_stores WHERE id = ? AND project_id = ?`, id, projectID)
	if err != nil {
		return err
	}
	return affectedOne(res)
}

// VectorStoreGet reads one store with its derived fields.
func (s *Store) VectorStoreGet(ctx context.Context, projectID, id string) (*schema.VectorStore, error) {
	row, err := s.queryRow(ctx, storeWithCounts, id, projectID)
	if err != nil {
		return nil, err
	}
	return scanStore(row, time.Now().Unix())
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
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT v.id, v.embedding_model, `+fileCounts+`
FROM vector_stores v LEFT JOIN vector_store_files f ON f.vector_store_id = v.id
WHERE v.project_id = ? AND v.id IN (SELECT value FROM json_each(?)) GROUP BY v.seq`, projectID, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := time.Now().Unix()
	for rows.Next() {
		var id string
		var model sql.NullString
		var counts schema.VectorStoreFileCounts
		var usage int64
		if err := rows.Scan(append([]any{&id, &model}, countDest(&counts, &usage)...)...); err != nil {
			return nil, err
		}
		if i, ok := idx[id]; ok {
			page.Data[i].EmbeddingModel = model.String
			page.Data[i].Derive(counts, usage, now)
		}
	}
	return page, rows.Err()
}

// updateStore runs the read-patch-write cycle of a store in one write
// transaction and returns the result with its derived fields.
func (s *Store) updateStore(ctx context.Context, projectID, id string, patch func(*schema.VectorStore) error) (*schema.VectorStore, error) {
	var out *schema.VectorStore
	err := s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(storeWithCounts, id, projectID)
		if err != nil {
			return err
		}
		vs, err := scanStore(row, time.Now().Unix())
		if err != nil {
			return err
		}
		// What patch may not change: identity, and what the rows derive.
		object, createdAt, model := vs.Object, vs.CreatedAt, vs.EmbeddingModel
		counts, usage := vs.FileCounts, vs.UsageBytes
		if err := patch(vs); err != nil {
			return err
		}
		vs.ID, vs.Object, vs.CreatedAt, vs.EmbeddingModel = id, object, createdAt, model
		vs.RefreshExpiresAt()
		data, err := json.Marshal(vs)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE vector_stores SET expires_at = ?, data = ? WHERE id = ?`, vs.ExpiresAt, data, id); err != nil {
			return err
		}
		vs.Derive(counts, usage, time.Now().Unix())
		out = vs
		return nil
	})
	return out, err
}

// VectorStoreUpdate applies patch in one write transaction.
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
	rows, err := s.query(ctx, `SELECT project_id, id FROM vector_stores
WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, seq LIMIT ?`, now, limit)
	if err != nil {
		return nil, err
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
	return out, rows.Err()
}

// VectorStoreFileAdd (re-)adds files to the store, with a new batch when
// batch is not nil, in one transaction.
func (s *Store) VectorStoreFileAdd(ctx context.Context, projectID, vectorStoreID string, files []*store.VectorStoreFileAdd, batch *schema.VectorStoreFileBatch) error {
	rows, err := prepareFiles(vectorStoreID, files)
	if err != nil {
		return err
	}
	var batchID sql.NullString
	var bdata []byte
	if batch != nil {
		if batch.VectorStoreID != vectorStoreID {
			return fmt.Errorf("sqlite: batch %s does not belong to vector store %s", batch.ID, vectorStoreID)
		}
		var counts schema.VectorStoreFileCounts
		for _, f := range files {
			counts.Add(f.File.Status, 1)
		}
		batch.Derive(counts, false)
		batchID = nullString(batch.ID)
		if bdata, err = json.Marshal(batch); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT 1 FROM vector_stores WHERE id = ? AND project_id = ?`, vectorStoreID, projectID)
		if err != nil {
			return err
		}
		var one int
		if err := row.Scan(&one); err != nil {
			return mapErr(err)
		}
		if batch != nil {
			if _, err := tx.exec(`INSERT INTO vector_store_file_batches (id, project_id, vector_store_id, created_at, data) VALUES (?, ?, ?, ?, ?)`,
				batch.ID, projectID, vectorStoreID, batch.CreatedAt, bdata); err != nil {
				return err
			}
		}
		replaced, err := insertFiles(tx, projectID, vectorStoreID, batchID, rows)
		if err != nil {
			return err
		}
		if replaced {
			return bumpVersion(tx, vectorStoreID)
		}
		return nil
	})
}

// fileCols are the columns scanFile reads.
const fileCols = `data, status, usage_bytes, last_error`

// scanFile decodes data and lays the row's own columns over it.
func scanFile(data []byte, status string, usage int64, lastErr []byte) (*schema.VectorStoreFile, error) {
	f := new(schema.VectorStoreFile)
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("sqlite: decode vector_store_files row: %w", err)
	}
	f.Status, f.UsageBytes, f.LastError = status, usage, nil
	if lastErr != nil {
		f.LastError = new(schema.VectorStoreFileError)
		if err := json.Unmarshal(lastErr, f.LastError); err != nil {
			return nil, fmt.Errorf("sqlite: decode vector_store_files last_error: %w", err)
		}
	}
	return f, nil
}

// VectorStoreFileGet reads one file of the store.
func (s *Store) VectorStoreFileGet(ctx context.Context, projectID, vectorStoreID, fileID string) (*schema.VectorStoreFile, error) {
	row, err := s.queryRow(ctx, `SELECT `+fileCols+` FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project_id = ?`,
		vectorStoreID, fileID, projectID)
	if err != nil {
		return nil, err
	}
	var data, lastErr []byte
	var status string
	var usage int64
	if err := row.Scan(&data, &status, &usage, &lastErr); err != nil {
		return nil, mapErr(err)
	}
	return scanFile(data, status, usage, lastErr)
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
		return nil, fmt.Errorf("sqlite: unexpected list query %q", query)
	}
	query = "SELECT " + fileCols + " FROM " + query[len(plain):]
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
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
		var data, lastErr []byte
		var status string
		var usage int64
		if err := rows.Scan(&data, &status, &usage, &lastErr); err != nil {
			return nil, err
		}
		f, err := scanFile(data, status, usage, lastErr)
		if err != nil {
			return nil, err
		}
		page.Data = append(page.Data, *f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if reversed {
		for i, j := 0, len(page.Data)-1; i < j; i, j = i+1, j-1 {
			page.Data[i], page.Data[j] = page.Data[j], page.Data[i]
		}
	}
	if len(page.Data) == 0 {
		if err := s.exists(ctx, `SELECT 1 FROM vector_stores WHERE id = ? AND project_id = ?`, vectorStoreID, projectID); err != nil {
			return nil, err
		}
		if p.BatchID != "" {
			if err := s.exists(ctx, `SELECT 1 FROM vector_store_file_batches WHERE id = ? AND vector_store_id = ? AND project_id = ?`,
				p.BatchID, vectorStoreID, projectID); err != nil {
				return nil, err
			}
		}
	}
	return page, nil
}

// VectorStoreFileDelete removes the file and (by cascade) its chunks.
func (s *Store) VectorStoreFileDelete(ctx context.Context, projectID, vectorStoreID, fileID string) error {
	return s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project_id = ? RETURNING status`,
			vectorStoreID, fileID, projectID)
		if err != nil {
			return err
		}
		var status string
		if err := row.Scan(&status); err != nil {
			return mapErr(err)
		}
		if status == schema.VectorStoreFileCompleted {
			return bumpVersion(tx, vectorStoreID)
		}
		return nil
	})
}

// VectorStoreFileUpdate applies patch in one write transaction. The file's
// identity is not patchable; a status other than in_progress releases the
// ingestion lease.
func (s *Store) VectorStoreFileUpdate(ctx context.Context, projectID, vectorStoreID, fileID string, patch func(*schema.VectorStoreFile) error) (*schema.VectorStoreFile, error) {
	var out *schema.VectorStoreFile
	err := s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT seq, `+fileCols+` FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project_id = ?`,
			vectorStoreID, fileID, projectID)
		if err != nil {
			return err
		}
		var seq, usage int64
		var data, lastErr []byte
		var status string
		if err := row.Scan(&seq, &data, &status, &usage, &lastErr); err != nil {
			return mapErr(err)
		}
		f, err := scanFile(data, status, usage, lastErr)
		if err != nil {
			return err
		}
		createdAt := f.CreatedAt
		if err := patch(f); err != nil {
			return err
		}
		f.ID, f.Object, f.VectorStoreID, f.CreatedAt = fileID, "vector_store.file", vectorStoreID, createdAt
		if data, err = json.Marshal(f); err != nil {
			return err
		}
		var newErr any
		if f.LastError != nil {
			b, err := json.Marshal(f.LastError)
			if err != nil {
				return err
			}
			newErr = b
		}
		if _, err := tx.exec(`UPDATE vector_store_files SET status = ?, usage_bytes = ?, last_error = ?, data = ?,
    lease_owner = CASE WHEN ? THEN lease_owner END,
    lease_expires_at = CASE WHEN ? THEN lease_expires_at END
WHERE seq = ?`, f.Status, f.UsageBytes, newErr, data,
			f.Status == schema.VectorStoreFileInProgress, f.Status == schema.VectorStoreFileInProgress, seq); err != nil {
			return err
		}
		out = f
		if status == schema.VectorStoreFileCompleted || f.Status == schema.VectorStoreFileCompleted {
			return bumpVersion(tx, vectorStoreID)
		}
		return nil
	})
	return out, err
}

// VectorStoreFileChunks returns the file's chunks in order.
func (s *Store) VectorStoreFileChunks(ctx context.Context, projectID, vectorStoreID, fileID string) ([]store.Chunk, error) {
	if err := s.exists(ctx, `SELECT 1 FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project_id = ?`,
		vectorStoreID, fileID, projectID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT idx, text, tokens, embedding FROM vector_store_chunks
WHERE vector_store_id = ? AND file_id = ? ORDER BY idx`, vectorStoreID, fileID)
	if err != nil {
		return nil, err
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
	return out, rows.Err()
}

// scanChunk reads idx, text, tokens and embedding.
func scanChunk(rows *sql.Rows, extra ...any) (store.Chunk, error) {
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
WHERE b.id = ? AND b.vector_store_id = ? AND b.project_id = ? GROUP BY b.seq`

func scanBatch(row *sql.Row) (*schema.VectorStoreFileBatch, error) {
	var data []byte
	var cancelled bool
	var counts schema.VectorStoreFileCounts
	var usage int64
	if err := row.Scan(append([]any{&data, &cancelled}, countDest(&counts, &usage)...)...); err != nil {
		return nil, mapErr(err)
	}
	b := new(schema.VectorStoreFileBatch)
	if err := json.Unmarshal(data, b); err != nil {
		return nil, fmt.Errorf("sqlite: decode vector_store_file_batches row: %w", err)
	}
	b.Derive(counts, cancelled)
	return b, nil
}

// VectorStoreFileBatchGet reads one batch with its derived fields.
func (s *Store) VectorStoreFileBatchGet(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error) {
	row, err := s.queryRow(ctx, batchWithCounts, batchID, vectorStoreID, projectID)
	if err != nil {
		return nil, err
	}
	return scanBatch(row)
}

// VectorStoreFileBatchCancel marks the batch cancelled and cancels its
// in_progress files (releasing their leases) in one transaction.
func (s *Store) VectorStoreFileBatchCancel(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error) {
	var out *schema.VectorStoreFileBatch
	err := s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.exec(`UPDATE vector_store_file_batches SET cancelled = 1 WHERE id = ? AND vector_store_id = ? AND project_id = ?`,
			batchID, vectorStoreID, projectID)
		if err != nil {
			return err
		}
		if err := affectedOne(res); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE vector_store_files SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
WHERE batch_id = ? AND status = 'in_progress'`, batchID); err != nil {
			return err
		}
		row, err := tx.queryRow(batchWithCounts, batchID, vectorStoreID, projectID)
		if err != nil {
			return err
		}
		out, err = scanBatch(row)
		return err
	})
	return out, err
}

// IngestClaim leases the oldest claimable file to p.Owner with one
// UPDATE ... RETURNING under the single writer, so concurrent claimers
// never share a file.
func (s *Store) IngestClaim(ctx context.Context, p store.IngestClaimParams) (*store.IngestJob, error) {
	if p.Owner == "" || p.LeaseUntil.IsZero() {
		return nil, errors.New("sqlite: ingest claim: Owner and LeaseUntil are required")
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	pick := `SELECT seq FROM vector_store_files WHERE status = 'in_progress'
    AND (lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY seq LIMIT 1`
	args := []any{p.Owner, p.LeaseUntil.UnixNano(), now.UnixNano()}
	if p.VectorStoreID != "" || p.FileID != "" {
		pick = `SELECT seq FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND status = 'in_progress'
    AND (lease_expires_at IS NULL OR lease_expires_at < ?)`
		args = []any{p.Owner, p.LeaseUntil.UnixNano(), p.VectorStoreID, p.FileID, now.UnixNano()}
	}
	var j store.IngestJob
	err := s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`UPDATE vector_store_files SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
WHERE seq = (`+pick+`)
RETURNING project_id, vector_store_id, filename, bytes, attempts, `+fileCols+`,
    (SELECT embedding_model FROM vector_stores v WHERE v.id = vector_store_files.vector_store_id)`, args...)
		if err != nil {
			return err
		}
		var data, lastErr []byte
		var status string
		var usage int64
		var model sql.NullString
		if err := row.Scan(&j.ProjectID, &j.VectorStoreID, &j.Filename, &j.Bytes, &j.Attempts, &data, &status, &usage, &lastErr, &model); err != nil {
			return mapErr(err)
		}
		j.EmbeddingModel = model.String
		j.File, err = scanFile(data, status, usage, lastErr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// IngestPending lists the in_progress files no live lease holds.
func (s *Store) IngestPending(ctx context.Context, now time.Time, limit int) ([]store.IngestRef, error) {
	rows, err := s.query(ctx, `SELECT project_id, vector_store_id, id, attempts, created_at FROM vector_store_files
WHERE status = 'in_progress' AND (lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY seq LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, err
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
	return out, rows.Err()
}

// IngestLeaseRenew moves the lease's expiry to until if owner still holds
// it on an in_progress file.
func (s *Store) IngestLeaseRenew(ctx context.Context, vectorStoreID, fileID, owner string, until time.Time) error {
	res, err := s.exec(ctx, `UPDATE vector_store_files SET lease_expires_at = ?
WHERE vector_store_id = ? AND id = ? AND lease_owner = ? AND status = 'in_progress'`,
		until.UnixNano(), vectorStoreID, fileID, owner)
	if err != nil {
		return err
	}
	if err := affectedOne(res); err != nil {
		return store.ErrLeaseLost
	}
	return nil
}

// IngestFinish writes the outcome, the chunks and the version bump in one
// transaction.
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
		return fmt.Errorf("sqlite: ingest finish: status %q is neither completed nor failed", p.Status)
	}
	embs := make([][]byte, len(p.Chunks))
	for i, c := range p.Chunks {
		embs[i] = store.EncodeEmbedding(c.Embedding)
	}
	return s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT seq, status, lease_owner FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project_id = ?`,
			p.VectorStoreID, p.FileID, projectID)
		if err != nil {
			return err
		}
		var seq int64
		var status string
		var owner sql.NullString
		if err := row.Scan(&seq, &status, &owner); err != nil {
			return mapErr(err)
		}
		if status != schema.VectorStoreFileInProgress {
			return fmt.Errorf("%w: vector store file %s is %s", store.ErrConflict, p.FileID, status)
		}
		if owner.String != p.Owner || p.Owner == "" {
			return store.ErrLeaseLost
		}
		if _, err := tx.exec(`UPDATE vector_store_files SET status = ?, usage_bytes = ?, last_error = ?, title = ?,
    lease_owner = NULL, lease_expires_at = NULL WHERE seq = ?`, p.Status, usage, lastErr, p.Title, seq); err != nil {
			return err
		}
		// Chunks left by an earlier life of the file (an update may move a
		// completed file back to in_progress) would collide or linger.
		if _, err := tx.exec(`DELETE FROM vector_store_chunks WHERE vector_store_id = ? AND file_id = ?`, p.VectorStoreID, p.FileID); err != nil {
			return err
		}
		if p.Status != schema.VectorStoreFileCompleted {
			return nil
		}
		for i, c := range p.Chunks {
			var emb any
			if embs[i] != nil {
				emb = embs[i]
			}
			if _, err := tx.exec(`INSERT INTO vector_store_chunks (vector_store_id, file_id, idx, text, tokens, embedding) VALUES (?, ?, ?, ?, ?, ?)`,
				p.VectorStoreID, p.FileID, c.Index, c.Text, c.Tokens, emb); err != nil {
				return err
			}
		}
		return bumpVersion(tx, p.VectorStoreID)
	})
}

// VectorStoreIndexVersion reads the store's content version.
func (s *Store) VectorStoreIndexVersion(ctx context.Context, projectID, vectorStoreID string) (int64, error) {
	row, err := s.queryRow(ctx, `SELECT version FROM vector_stores WHERE id = ? AND project_id = ?`, vectorStoreID, projectID)
	if err != nil {
		return 0, err
	}
	var v int64
	if err := row.Scan(&v); err != nil {
		return 0, mapErr(err)
	}
	return v, nil
}

// VectorStoreIndexLoad reads the version, the completed files and their
// chunks in one read transaction (one WAL snapshot).
func (s *Store) VectorStoreIndexLoad(ctx context.Context, projectID, vectorStoreID string) (int64, []store.IndexedFile, error) {
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, mapErr(err)
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM vector_stores WHERE id = ? AND project_id = ?`,
		vectorStoreID, projectID).Scan(&version); err != nil {
		return 0, nil, mapErr(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, filename, title, usage_bytes, data FROM vector_store_files
WHERE vector_store_id = ? AND status = 'completed' ORDER BY seq`, vectorStoreID)
	if err != nil {
		return 0, nil, mapErr(err)
	}
	var files []store.IndexedFile
	byID := make(map[string]int)
	for rows.Next() {
		var f store.IndexedFile
		var data []byte
		if err := rows.Scan(&f.FileID, &f.Filename, &f.Title, &f.UsageBytes, &data); err != nil {
			rows.Close()
			return 0, nil, err
		}
		var vf schema.VectorStoreFile
		if err := json.Unmarshal(data, &vf); err != nil {
			rows.Close()
			return 0, nil, fmt.Errorf("sqlite: decode vector_store_files row: %w", err)
		}
		f.Attributes = vf.Attributes
		byID[f.FileID] = len(files)
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT c.file_id, c.idx, c.text, c.tokens, c.embedding
FROM vector_store_chunks c JOIN vector_store_files f ON f.vector_store_id = c.vector_store_id AND f.id = c.file_id
WHERE c.vector_store_id = ? AND f.status = 'completed' ORDER BY c.file_id, c.idx`, vectorStoreID)
	if err != nil {
		return 0, nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var fileID string
		c, err := scanChunk(rows, &fileID)
		if err != nil {
			return 0, nil, err
		}
		if i, ok := byID[fileID]; ok {
			files[i].Chunks = append(files[i].Chunks, c)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return version, files, nil
}
