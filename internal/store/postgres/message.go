package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// activeRun is the SQL form of schema.RunIsActive, the WHERE of the
// runs_thread_active partial index.
const activeRun = `status IN ('queued', 'in_progress', 'requires_action', 'cancelling')`

// lockThreadShared locks a thread against RunCreate (which takes FOR
// UPDATE) but not against other message inserts.
const lockThreadShared = `SELECT 1 FROM threads WHERE id = $1 AND project_id = $2 FOR SHARE`

// insertMessageIfIdle inserts a message into a thread of the project that
// has no active run.
const insertMessageIfIdle = `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data)
SELECT $1, project_id, id, $2, $3, $4 FROM threads WHERE id = $5 AND project_id = $6
AND NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = threads.id AND ` + activeRun + `)`

// MessageCreate inserts m into its thread (m.ThreadID). A thread missing
// from the project is store.ErrNotFound and a thread with an active run
// store.ErrActiveRun.
//
// Both statements go in one round trip and one implicit transaction (a
// batch ends with a single Sync). The first locks the thread FOR SHARE,
// waiting for a RunCreate in progress there; the second, which takes its
// snapshot only after, then sees that run. A run created later waits for
// this message's commit. So no message ever lands beside an active run.
func (s *Store) MessageCreate(ctx context.Context, projectID string, m *schema.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(lockThreadShared, m.ThreadID, projectID)
	b.Queue(insertMessageIfIdle, m.ID, m.RunID, m.CreatedAt, data, m.ThreadID, projectID)
	br := s.pool.SendBatch(ctx, b)
	var one int
	lockErr := br.QueryRow().Scan(&one)
	tag, insErr := br.Exec()
	closeErr := br.Close()
	if lockErr != nil {
		return mapErr(lockErr)
	}
	if insErr != nil {
		return mapErr(insErr)
	}
	if closeErr != nil {
		return mapErr(closeErr)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrActiveRun
	}
	return nil
}

// MessageDelete removes one message of the thread.
func (s *Store) MessageDelete(ctx context.Context, projectID, threadID, id string) error {
	return s.execOne(ctx, `DELETE FROM messages WHERE id = $1 AND project_id = $2 AND thread_id = $3`,
		id, projectID, threadID)
}

// MessageGet reads one message of the thread.
func (s *Store) MessageGet(ctx context.Context, projectID, threadID, id string) (*schema.Message, error) {
	var m schema.Message
	if err := s.getJSON(ctx, &m, `SELECT data FROM messages WHERE id = $1 AND project_id = $2 AND thread_id = $3`,
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
		if err := s.exists(ctx, `SELECT 1 FROM threads WHERE id = $1 AND project_id = $2`, threadID, projectID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// MessageUpdate applies patch in one transaction holding the row's lock.
// The id and thread_id are immutable.
func (s *Store) MessageUpdate(ctx context.Context, projectID, threadID, id string, patch func(*schema.Message) error) (*schema.Message, error) {
	return updateJSON(ctx, s,
		`SELECT seq, data FROM messages WHERE id = $1 AND project_id = $2 AND thread_id = $3 FOR UPDATE`, []any{id, projectID, threadID},
		patch,
		func(tx pgx.Tx, seq int64, m *schema.Message) error {
			m.ID, m.ThreadID = id, threadID
			data, err := json.Marshal(m)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE messages SET run_id = $1, created_at = $2, data = $3 WHERE seq = $4`,
				m.RunID, m.CreatedAt, data, seq)
			return err
		})
}
