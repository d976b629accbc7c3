package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/assistd/assistd/internal/schema"
)

// ThreadCreate inserts t and its initial messages in one transaction. Each
// message's ThreadID must be t.ID.
func (s *Store) ThreadCreate(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	mdata := make([][]byte, len(messages))
	for i, m := range messages {
		if m.ThreadID != t.ID {
			return fmt.Errorf("sqlite: thread create: message %s has thread_id %q, want %q", m.ID, m.ThreadID, t.ID)
		}
		if mdata[i], err = json.Marshal(m); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO threads (id, project_id, created_at, data) VALUES (?, ?, ?, ?)`,
			t.ID, projectID, t.CreatedAt, data); err != nil {
			return err
		}
		for i, m := range messages {
			if _, err := tx.exec(insertMessage, m.ID, projectID, t.ID, m.RunID, m.CreatedAt, mdata[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertMessage inserts a message without checking its thread (the caller
// has just created it).
const insertMessage = `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)`

// ThreadDelete removes the thread, its messages, runs and run steps in one
// transaction.
func (s *Store) ThreadDelete(ctx context.Context, projectID, id string) error {
	return s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM threads WHERE id = ? AND project_id = ?`, id, projectID)
		if err != nil {
			return err
		}
		if err := affectedOne(res); err != nil {
			return err
		}
		// The foreign key cascades already; this keeps the contract even
		// if foreign keys were off on the connection.
		for _, q := range []string{
			`DELETE FROM run_steps WHERE thread_id = ? AND project_id = ?`,
			`DELETE FROM runs WHERE thread_id = ? AND project_id = ?`,
			`DELETE FROM messages WHERE thread_id = ? AND project_id = ?`,
		} {
			if _, err := tx.exec(q, id, projectID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ThreadGet reads one thread.
func (s *Store) ThreadGet(ctx context.Context, projectID, id string) (*schema.Thread, error) {
	var t schema.Thread
	if err := s.getJSON(ctx, &t, `SELECT data FROM threads WHERE id = ? AND project_id = ?`, id, projectID); err != nil {
		return nil, err
	}
	return &t, nil
}

// ThreadUpdate applies patch in one write transaction. The id is immutable.
func (s *Store) ThreadUpdate(ctx context.Context, projectID, id string, patch func(*schema.Thread) error) (*schema.Thread, error) {
	return updateJSON(ctx, s,
		`SELECT seq, data FROM threads WHERE id = ? AND project_id = ?`, []any{id, projectID},
		patch,
		func(tx *wtx, seq int64, t *schema.Thread) error {
			t.ID = id
			data, err := json.Marshal(t)
			if err != nil {
				return err
			}
			_, err = tx.exec(`UPDATE threads SET created_at = ?, data = ? WHERE seq = ?`, t.CreatedAt, data, seq)
			return err
		})
}
