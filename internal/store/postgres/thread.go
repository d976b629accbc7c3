package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/schema"
)

// insertThread inserts a thread row.
const insertThread = `INSERT INTO threads (id, project_id, created_at, data) VALUES ($1, $2, $3, $4)`

// insertMessage inserts a message without checking its thread (the caller
// has just created it, or holds its lock).
const insertMessage = `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)`

// marshalMessages encodes messages, each of which must belong to threadID.
func marshalMessages(op, threadID string, messages []*schema.Message) ([][]byte, error) {
	out := make([][]byte, len(messages))
	for i, m := range messages {
		if m.ThreadID != threadID {
			return nil, fmt.Errorf("postgres: %s: message %s has thread_id %q, want %q", op, m.ID, m.ThreadID, threadID)
		}
		var err error
		if out[i], err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queueMessages adds the inserts of messages (encoded as mdata) to b.
func queueMessages(b *pgx.Batch, projectID, threadID string, messages []*schema.Message, mdata [][]byte) {
	for i, m := range messages {
		b.Queue(insertMessage, m.ID, projectID, threadID, m.RunID, m.CreatedAt, mdata[i])
	}
}

// runBatch sends b inside tx in one round trip and returns the first
// error, mapped.
func runBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return mapErr(tx.SendBatch(ctx, b).Close())
}

// ThreadCreate inserts t and its initial messages in one transaction. Each
// message's ThreadID must be t.ID.
func (s *Store) ThreadCreate(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	mdata, err := marshalMessages("thread create", t.ID, messages)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(insertThread, t.ID, projectID, t.CreatedAt, data)
	queueMessages(b, projectID, t.ID, messages, mdata)
	return s.inTx(ctx, func(tx pgx.Tx) error { return runBatch(ctx, tx, b) })
}

// ThreadDelete removes the thread, its messages, runs and run steps in one
// statement (the foreign keys cascade).
func (s *Store) ThreadDelete(ctx context.Context, projectID, id string) error {
	return s.execOne(ctx, `DELETE FROM threads WHERE id = $1 AND project_id = $2`, id, projectID)
}

// ThreadGet reads one thread.
func (s *Store) ThreadGet(ctx context.Context, projectID, id string) (*schema.Thread, error) {
	var t schema.Thread
	if err := s.getJSON(ctx, &t, `SELECT data FROM threads WHERE id = $1 AND project_id = $2`, id, projectID); err != nil {
		return nil, err
	}
	return &t, nil
}

// ThreadUpdate applies patch in one transaction holding the row's lock.
// The id is immutable.
func (s *Store) ThreadUpdate(ctx context.Context, projectID, id string, patch func(*schema.Thread) error) (*schema.Thread, error) {
	// FOR NO KEY UPDATE: rewriting data does not block the foreign-key
	// checks (FOR KEY SHARE) of rows being inserted into the thread.
	return updateJSON(ctx, s,
		`SELECT seq, data FROM threads WHERE id = $1 AND project_id = $2 FOR NO KEY UPDATE`, []any{id, projectID},
		patch,
		func(tx pgx.Tx, seq int64, t *schema.Thread) error {
			t.ID = id
			data, err := json.Marshal(t)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE threads SET created_at = $1, data = $2 WHERE seq = $3`, t.CreatedAt, data, seq)
			return err
		})
}
