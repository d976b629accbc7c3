package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// FileCreate inserts f; a taken id is store.ErrConflict.
func (s *Store) FileCreate(ctx context.Context, projectID string, f *schema.File) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO files (id, project_id, purpose, created_at, expires_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		f.ID, projectID, f.Purpose, f.CreatedAt, f.ExpiresAt, data)
}

// FileDelete removes the file's row. It also removes an expired file (which
// FileGet no longer shows), so that expiry sweeps can use it.
func (s *Store) FileDelete(ctx context.Context, projectID, id string) error {
	return s.execOne(ctx, `DELETE FROM files WHERE id = $1 AND project_id = $2`, id, projectID)
}

// FileGet reads one live file; an expired file is store.ErrNotFound.
func (s *Store) FileGet(ctx context.Context, projectID, id string) (*schema.File, error) {
	var f schema.File
	if err := s.getJSON(ctx, &f, `SELECT data FROM files WHERE id = $1 AND project_id = $2 AND (expires_at IS NULL OR expires_at > $3)`,
		id, projectID, time.Now().Unix()); err != nil {
		return nil, err
	}
	return &f, nil
}

// FileList pages through the project's live files, optionally of one
// purpose.
func (s *Store) FileList(ctx context.Context, projectID string, p store.FileListParams) (*store.Page[schema.File], error) {
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	q := listQuery{
		table:       "files",
		where:       "project_id = ? AND (expires_at IS NULL OR expires_at > ?)",
		args:        []any{projectID, now.Unix()},
		cursorWhere: "project_id = ?",
		cursorArgs:  []any{projectID},
	}
	if p.Purpose != "" {
		q.where += " AND purpose = ?"
		q.args = append(q.args, p.Purpose)
	}
	return listPage[schema.File](ctx, s, q, p.ListParams)
}

// FilesExist returns the ids (of those given) that name live files of the
// project, in one query; absent ids are missing from the map.
func (s *Store) FilesExist(ctx context.Context, projectID string, ids []string) (map[string]bool, error) {
	found := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM files WHERE project_id = $1 AND (expires_at IS NULL OR expires_at > $2)
AND id = ANY ($3)`, projectID, time.Now().Unix(), ids)
	if err != nil {
		return nil, mapErr(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err)
	}
	for _, id := range got {
		found[id] = true
	}
	return found, nil
}
