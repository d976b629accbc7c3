package sqlite

import (
	"context"
	"encoding/json"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// MessageCreate inserts m into its thread (m.ThreadID). A thread missing
// from the project is store.ErrNotFound and a thread with an active run
// store.ErrActiveRun; both checks and the insert are one statement, and
// only a refused insert pays for a second query telling the two apart.
func (s *Store) MessageCreate(ctx context.Context, projectID string, m *schema.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data)
SELECT ?, project_id, id, ?, ?, ? FROM threads WHERE id = ? AND project_id = ?
AND NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = threads.id AND `+activeRun+`)`,
		m.ID, m.RunID, m.CreatedAt, data, m.ThreadID, projectID)
	if err != nil {
		return err
	}
	if err := affectedOne(res); err != nil {
		// Threads are never re-created, so an existing thread means the
		// insert was refused for its active run.
		if err := s.exists(ctx, `SELECT 1 FROM threads WHERE id = ? AND project_id = ?`, m.ThreadID, projectID); err != nil {
			return err
		}
		return store.ErrActiveRun
	}
	return nil
}

// MessageDelete removes one message of the thread.
func (s *Store) MessageDelete(ctx context.Context, projectID, threadID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM messages WHERE id = ? AND project_id = ? AND thread_id = ?`,
		id, projectID, threadID)
	if err != nil {
		return err
	}
	return affectedOne(res)
}

// MessageGet reads one message of the thread.
func (s *Store) MessageGet(ctx context.Context, projectID, threadID, id string) (*schema.Message, error) {
	var m schema.Message
	if err := s.getJSON(ctx, &m, `SELECT data FROM messages WHERE id = ? AND project_id = ? AND thread_id = ?`,
		id, projectID, threadID); err != nil {
		return nil, err
	}
	return &m, nil
}

// MessageList pages through the thread's messages in creation order. A
// thread missing from the project is store.ErrNotFound.
func (s *Store) MessageList(ctx context.Context, projectID, threadID string, p store.MessageListParams) (*store.Page[schema.Message], error) {
	q := listQuery{
		table:       "messages",
		where:       "thread_id = ? AND project_id = ?",
		args:        []any{threadID, projectID},
		cursorWhere: "thread_id = ? AND project_id = ?",
		cursorArgs:  []any{threadID, projectID},
	}
	if p.RunID != "" {
		q.where += " AND run_id = ?"
		q.args = append(q.args, p.RunID)
	}
	page, err := listPage[schema.Message](ctx, s, q, p.ListParams)
	if err != nil {
		return nil, err
	}
	// Messages exist only in existing threads, so only an empty page needs
	// the thread checked.
	if len(page.Data) == 0 {
		row, err := s.queryRow(ctx, `SELECT 1 FROM threads WHERE id = ? AND project_id = ?`, threadID, projectID)
		if err != nil {
			return nil, err
		}
		var one int
		if err := row.Scan(&one); err != nil {
			return nil, mapErr(err)
		}
	}
	return page, nil
}

// MessageUpdate applies patch in one write transaction. The id and
// thread_id are immutable.
func (s *Store) MessageUpdate(ctx context.Context, projectID, threadID, id string, patch func(*schema.Message) error) (*schema.Message, error) {
	return updateJSON(ctx, s,
		`SELECT seq, data FROM messages WHERE id = ? AND project_id = ? AND thread_id = ?`, []any{id, projectID, threadID},
		patch,
		func(tx *wtx, seq int64, m *schema.Message) error {
			m.ID, m.ThreadID = id, threadID
			data, err := json.Marshal(m)
			if err != nil {
				return err
			}
			_, err = tx.exec(`UPDATE messages SET run_id = ?, created_at = ?, data = ? WHERE seq = ?`,
				m.RunID, m.CreatedAt, data, seq)
			return err
		})
}
