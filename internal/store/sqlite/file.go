package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// FileCreate inserts f; a taken id is store.ErrConflict.
func (s *Store) FileCreate(ctx context.Context, projectID string, f *schema.File) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO files (id, project_id, purpose, created_at, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)`,
		f.ID, projectID, f.Purpose, f.CreatedAt, f.ExpiresAt, data)
	return err
}

// FileDelete removes the file's row. It also removes an expired file (which
// FileGet no longer shows), so that expiry sweeps can use it.
func (s *Store) FileDelete(ctx context.Context, projectID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM files WHERE id = ? AND project_id = ?`, id, projectID)
	if err != nil {
		return err
	}
	return affectedOne(res)
}

// FileGet reads one live file; an expired file is store.ErrNotFound.
func (s *Store) FileGet(ctx context.Context, projectID, id string) (*schema.File, error) {
	var f schema.File
	if err := s.getJSON(ctx, &f, `SELECT data FROM files WHERE id = ? AND project_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
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
	// The ids travel as one JSON array, so the statement is the same for
	// any number of them and is prepared once.
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT id FROM files WHERE project_id = ? AND (expires_at IS NULL OR expires_at > ?)
AND id IN (SELECT value FROM json_each(?))`, projectID, time.Now().Unix(), string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, rows.Err()
}
