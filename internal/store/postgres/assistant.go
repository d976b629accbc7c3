package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// AssistantCreate inserts a; a taken id is store.ErrConflict.
func (s *Store) AssistantCreate(ctx context.Context, projectID string, a *schema.Assistant) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO assistants (id, project_id, created_at, data) VALUES ($1, $2, $3, $4)`,
		a.ID, projectID, a.CreatedAt, data)
}

// AssistantDelete removes the assistant.
func (s *Store) AssistantDelete(ctx context.Context, projectID, id string) error {
	return s.execOne(ctx, `DELETE FROM assistants WHERE id = $1 AND project_id = $2`, id, projectID)
}

// AssistantGet reads one assistant.
func (s *Store) AssistantGet(ctx context.Context, projectID, id string) (*schema.Assistant, error) {
	var a schema.Assistant
	if err := s.getJSON(ctx, &a, `SELECT data FROM assistants WHERE id = $1 AND project_id = $2`, id, projectID); err != nil {
		return nil, err
	}
	return &a, nil
}

// AssistantList pages through the project's assistants in creation order.
func (s *Store) AssistantList(ctx context.Context, projectID string, p store.ListParams) (*store.Page[schema.Assistant], error) {
	return listPage[schema.Assistant](ctx, s, listQuery{
		table:       "assistants",
		where:       "project_id = ?",
		args:        []any{projectID},
		cursorWhere: "project_id = ?",
		cursorArgs:  []any{projectID},
	}, p)
}

// AssistantUpdate applies patch in one transaction holding the row's lock.
// The id is immutable: a change patch makes to it is not stored.
func (s *Store) AssistantUpdate(ctx context.Context, projectID, id string, patch func(*schema.Assistant) error) (*schema.Assistant, error) {
	return updateJSON(ctx, s,
		`SELECT seq, data FROM assistants WHERE id = $1 AND project_id = $2 FOR UPDATE`, []any{id, projectID},
		patch,
		func(tx pgx.Tx, seq int64, a *schema.Assistant) error {
			a.ID = id
			data, err := json.Marshal(a)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE assistants SET created_at = $1, data = $2 WHERE seq = $3`, a.CreatedAt, data, seq)
			return err
		})
}
