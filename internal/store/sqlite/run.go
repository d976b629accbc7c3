package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// activeRun is the SQL form of schema.RunIsActive. It repeats the WHERE of
// the runs_thread_active partial index word for word: SQLite uses a partial
// index only for queries that contain its WHERE terms.
const activeRun = `status IN ('queued', 'in_progress', 'requires_action', 'cancelling')`

// claimableRun selects runs an executor may claim: runs in a leased status
// (see leased) with no lease or a lease that lapsed before ?.
const claimableRun = `status IN ('queued', 'in_progress', 'cancelling') AND (lease_expires_at IS NULL OR lease_expires_at < ?)`

// leased reports whether a run in status keeps its executor's lease; any
// other status (requires_action waits for the client, the rest are final)
// releases it.
func leased(status string) bool {
	switch status {
	case schema.RunQueued, schema.RunInProgress, schema.RunCancelling:
		return true
	}
	return false
}

const insertRun = `INSERT INTO runs (id, project_id, thread_id, status, created_at, expires_at, data, meta, lease_owner, lease_expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// metaText is a run's metadata as runs.meta holds it: JSON text (bound as a
// string, since SQLite never finds a blob equal to text).
func metaText(r *schema.Run) (string, error) {
	b, err := json.Marshal(r.Metadata)
	return string(b), err
}

// leaseArgs are insertRun's last arguments: a created run's lease and claim
// count.
func leaseArgs(lease *store.Lease) (owner, until any, attempts int) {
	if lease == nil {
		return nil, nil, 0
	}
	return lease.Owner, lease.Until.UnixNano(), 1
}

// upsertStep inserts a step or replaces one of the same run (keeping its
// seq, hence its list position). A step id taken in another run or project
// changes no row.
const upsertStep = `INSERT INTO run_steps (id, project_id, thread_id, run_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data
WHERE run_steps.project_id = excluded.project_id AND run_steps.thread_id = excluded.thread_id AND run_steps.run_id = excluded.run_id`

// upsertMessage inserts a message or replaces one of the same thread
// (keeping its seq). A message id taken in another thread or project
// changes no row.
const upsertMessage = `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, created_at = excluded.created_at, data = excluded.data
WHERE messages.project_id = excluded.project_id AND messages.thread_id = excluded.thread_id`

// marshalMessages encodes messages, each of which must belong to threadID.
func marshalMessages(op, threadID string, messages []*schema.Message) ([][]byte, error) {
	out := make([][]byte, len(messages))
	for i, m := range messages {
		if m.ThreadID != threadID {
			return nil, fmt.Errorf("sqlite: %s: message %s has thread_id %q, want %q", op, m.ID, m.ThreadID, threadID)
		}
		var err error
		if out[i], err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunCreate checks that the thread exists and has no active run, then
// inserts messages and run, all in one transaction.
func (s *Store) RunCreate(ctx context.Context, projectID string, run *schema.Run, messages []*schema.Message, lease *store.Lease) error {
	lo, lu, la := leaseArgs(lease)
	data, err := json.Marshal(run)
	if err != nil {
		return err
	}
	meta, err := metaText(run)
	if err != nil {
		return err
	}
	mdata, err := marshalMessages("run create", run.ThreadID, messages)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM runs WHERE thread_id = threads.id AND `+activeRun+`)
FROM threads WHERE id = ? AND project_id = ?`, run.ThreadID, projectID)
		if err != nil {
			return err
		}
		var active bool
		if err := row.Scan(&active); err != nil {
			return mapErr(err)
		}
		if active {
			return store.ErrActiveRun
		}
		for i, m := range messages {
			if _, err := tx.exec(insertMessage, m.ID, projectID, run.ThreadID, m.RunID, m.CreatedAt, mdata[i]); err != nil {
				return err
			}
		}
		_, err = tx.exec(insertRun, run.ID, projectID, run.ThreadID, run.Status, run.CreatedAt, run.ExpiresAt, data, meta, lo, lu, la)
		return err
	})
}

// RunCreateWithThread inserts t, its messages and run in one transaction.
// Each message's ThreadID and the run's must be t.ID.
func (s *Store) RunCreateWithThread(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message, run *schema.Run, lease *store.Lease) error {
	lo, lu, la := leaseArgs(lease)
	if run.ThreadID != t.ID {
		return fmt.Errorf("sqlite: run create with thread: run %s has thread_id %q, want %q", run.ID, run.ThreadID, t.ID)
	}
	tdata, err := json.Marshal(t)
	if err != nil {
		return err
	}
	data, err := json.Marshal(run)
	if err != nil {
		return err
	}
	meta, err := metaText(run)
	if err != nil {
		return err
	}
	mdata, err := marshalMessages("run create with thread", t.ID, messages)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO threads (id, project_id, created_at, data) VALUES (?, ?, ?, ?)`,
			t.ID, projectID, t.CreatedAt, tdata); err != nil {
			return err
		}
		for i, m := range messages {
			if _, err := tx.exec(insertMessage, m.ID, projectID, t.ID, m.RunID, m.CreatedAt, mdata[i]); err != nil {
				return err
			}
		}
		_, err := tx.exec(insertRun, run.ID, projectID, t.ID, run.Status, run.CreatedAt, run.ExpiresAt, data, meta, lo, lu, la)
		return err
	})
}

// RunGet reads one run of the thread.
func (s *Store) RunGet(ctx context.Context, projectID, threadID, id string) (*schema.Run, error) {
	var r schema.Run
	if err := s.getJSON(ctx, &r, `SELECT data FROM runs WHERE id = ? AND project_id = ? AND thread_id = ?`,
		id, projectID, threadID); err != nil {
		return nil, err
	}
	return &r, nil
}

// RunList pages through the thread's runs in creation order. A thread
// missing from the project is store.ErrNotFound.
func (s *Store) RunList(ctx context.Context, projectID, threadID string, p store.ListParams) (*store.Page[schema.Run], error) {
	page, err := listPage[schema.Run](ctx, s, listQuery{
		table:       "runs",
		where:       "thread_id = ? AND project_id = ?",
		args:        []any{threadID, projectID},
		cursorWhere: "thread_id = ? AND project_id = ?",
		cursorArgs:  []any{threadID, projectID},
	}, p)
	if err != nil {
		return nil, err
	}
	// Runs exist only in existing threads: only an empty page needs the
	// thread checked.
	if len(page.Data) == 0 {
		if err := s.exists(ctx, `SELECT 1 FROM threads WHERE id = ? AND project_id = ?`, threadID, projectID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// RunStepGet reads one step of the run.
func (s *Store) RunStepGet(ctx context.Context, projectID, threadID, runID, id string) (*schema.RunStep, error) {
	var st schema.RunStep
	if err := s.getJSON(ctx, &st, `SELECT data FROM run_steps WHERE id = ? AND project_id = ? AND thread_id = ? AND run_id = ?`,
		id, projectID, threadID, runID); err != nil {
		return nil, err
	}
	return &st, nil
}

// RunStepList pages through the run's steps in creation order. A run
// missing from the thread or project is store.ErrNotFound.
func (s *Store) RunStepList(ctx context.Context, projectID, threadID, runID string, p store.ListParams) (*store.Page[schema.RunStep], error) {
	where := "run_id = ? AND project_id = ? AND thread_id = ?"
	args := []any{runID, projectID, threadID}
	page, err := listPage[schema.RunStep](ctx, s, listQuery{
		table: "run_steps", where: where, args: args, cursorWhere: where, cursorArgs: args,
	}, p)
	if err != nil {
		return nil, err
	}
	if len(page.Data) == 0 {
		if err := s.exists(ctx, `SELECT 1 FROM runs WHERE id = ? AND project_id = ? AND thread_id = ?`, runID, projectID, threadID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// exists returns store.ErrNotFound unless query (a SELECT 1 ...) finds a
// row on the read pool.
func (s *Store) exists(ctx context.Context, query string, args ...any) error {
	row, err := s.queryRow(ctx, query, args...)
	if err != nil {
		return err
	}
	var one int
	return mapErr(row.Scan(&one))
}

// RunSave writes one run transition in one transaction: it checks the
// guards of p, writes the run unless p.RunUnchanged (releasing the lease
// unless the new status keeps it) and upserts p's steps and messages, which must belong to the
// run (steps) or its thread (messages). A step or message id taken by an
// object outside the run's thread is store.ErrConflict.
func (s *Store) RunSave(ctx context.Context, projectID string, p *store.RunSaveParams) error {
	r := p.Run
	var data []byte
	var meta string
	var err error
	if !p.RunUnchanged {
		if data, err = json.Marshal(r); err != nil {
			return err
		}
		if meta, err = metaText(r); err != nil {
			return err
		}
	}
	sdata := make([][]byte, len(p.Steps))
	for i, st := range p.Steps {
		if st.RunID != r.ID || st.ThreadID != r.ThreadID {
			return fmt.Errorf("sqlite: run save: step %s belongs to run %q of thread %q, want run %q of thread %q",
				st.ID, st.RunID, st.ThreadID, r.ID, r.ThreadID)
		}
		if sdata[i], err = json.Marshal(st); err != nil {
			return err
		}
	}
	mdata, err := marshalMessages("run save", r.ThreadID, p.Messages)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *wtx) error {
		if p.RunUnchanged {
			if err := runGuard(tx, projectID, p); err != nil {
				return err
			}
		} else if err := runUpdate(tx, projectID, p, data, meta); err != nil {
			return err
		}
		for i, st := range p.Steps {
			res, err := tx.exec(upsertStep, st.ID, projectID, r.ThreadID, r.ID, st.CreatedAt, sdata[i])
			if err != nil {
				return err
			}
			if err := affectedOne(res); err != nil {
				return fmt.Errorf("%w: step id %s is taken", store.ErrConflict, st.ID)
			}
		}
		for i, m := range p.Messages {
			res, err := tx.exec(upsertMessage, m.ID, projectID, r.ThreadID, m.RunID, m.CreatedAt, mdata[i])
			if err != nil {
				return err
			}
			if err := affectedOne(res); err != nil {
				return fmt.Errorf("%w: message id %s is taken", store.ErrConflict, m.ID)
			}
		}
		return nil
	})
}

// runUpdate rewrites p.Run, guarded by p's expectations, in one UPDATE; only
// when it changes nothing does a read (runGuard) say why. Keeping the
// metadata splices the stored one in only when it differs from the run's
// (see migration 005).
func runUpdate(tx *wtx, projectID string, p *store.RunSaveParams, data []byte, meta string) error {
	r := p.Run
	res, err := tx.exec(`UPDATE runs SET status = ?, created_at = ?, expires_at = ?,
    data = CASE WHEN NOT ? OR meta = ? THEN ? ELSE json_set(?, '$.metadata', json(COALESCE(meta, json_extract(data, '$.metadata')))) END,
    meta = CASE WHEN NOT ? THEN ? ELSE COALESCE(meta, json(json_extract(data, '$.metadata'))) END,
    lease_owner = CASE WHEN ? THEN lease_owner END,
    lease_expires_at = CASE WHEN ? THEN lease_expires_at END,
    attempts = CASE WHEN ? THEN attempts ELSE 0 END
WHERE id = ? AND project_id = ? AND thread_id = ? AND (? = '' OR lease_owner = ?) AND (? = '' OR status = ?)`,
		r.Status, r.CreatedAt, r.ExpiresAt, p.KeepMetadata, meta, data, data, p.KeepMetadata, meta,
		leased(r.Status), leased(r.Status), leased(r.Status),
		r.ID, projectID, r.ThreadID, p.Owner, p.Owner, p.ExpectStatus, p.ExpectStatus)
	if err != nil {
		return err
	}
	if affectedOne(res) != nil {
		if err := runGuard(tx, projectID, p); err != nil {
			return err
		}
		return fmt.Errorf("%w: run %s changed no row", store.ErrConflict, r.ID)
	}
	return nil
}

// runGuard checks p's expectations against the stored run: ErrNotFound,
// ErrLeaseLost or ErrConflict.
func runGuard(tx *wtx, projectID string, p *store.RunSaveParams) error {
	r := p.Run
	row, err := tx.queryRow(`SELECT status, lease_owner FROM runs WHERE id = ? AND project_id = ? AND thread_id = ?`,
		r.ID, projectID, r.ThreadID)
	if err != nil {
		return err
	}
	var status string
	var owner sql.NullString
	if err := row.Scan(&status, &owner); err != nil {
		return mapErr(err)
	}
	if p.Owner != "" && owner.String != p.Owner {
		return store.ErrLeaseLost
	}
	if p.ExpectStatus != "" && status != p.ExpectStatus {
		return fmt.Errorf("%w: run %s is %s, not %s", store.ErrConflict, r.ID, status, p.ExpectStatus)
	}
	return nil
}

// RunClaim leases the oldest claimable run (or only p.RunID) to p.Owner
// with one UPDATE ... RETURNING in a write transaction, so concurrent
// claimers (which queue on the single writer) never share a run.
func (s *Store) RunClaim(ctx context.Context, p store.RunClaimParams) (*store.ClaimedRun, error) {
	if p.Owner == "" || p.LeaseUntil.IsZero() {
		return nil, errors.New("sqlite: run claim: Owner and LeaseUntil are required")
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	pick := `SELECT seq FROM runs WHERE ` + claimableRun + ` ORDER BY seq LIMIT 1`
	args := []any{p.Owner, p.LeaseUntil.UnixNano(), now.UnixNano()}
	if p.RunID != "" {
		pick = `SELECT seq FROM runs WHERE id = ? AND ` + claimableRun
		args = []any{p.Owner, p.LeaseUntil.UnixNano(), p.RunID, now.UnixNano()}
	}
	var c store.ClaimedRun
	err := s.inTx(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`UPDATE runs SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
WHERE seq = (`+pick+`)
RETURNING project_id, attempts, data`, args...)
		if err != nil {
			return err
		}
		var data []byte
		if err := row.Scan(&c.ProjectID, &c.Attempts, &data); err != nil {
			return mapErr(err)
		}
		c.Run = new(schema.Run)
		return json.Unmarshal(data, c.Run)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// RunsClaimable lists the runs RunClaim could take at now.
func (s *Store) RunsClaimable(ctx context.Context, now time.Time, limit int) ([]store.ClaimedRun, error) {
	return s.runRows(ctx, `SELECT project_id, attempts, data FROM runs WHERE `+claimableRun+` ORDER BY seq LIMIT ?`, now.UnixNano(), limit)
}

// RunLeaseRenew moves the lease's expiry to until if owner still holds it.
func (s *Store) RunLeaseRenew(ctx context.Context, runID, owner string, until time.Time) error {
	res, err := s.exec(ctx, `UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?`,
		until.UnixNano(), runID, owner)
	if err != nil {
		return err
	}
	if err := affectedOne(res); err != nil {
		return store.ErrLeaseLost
	}
	return nil
}

// RunsDue returns up to limit queued or requires_action runs whose
// expires_at (Unix seconds) is before now, oldest (first created) first.
func (s *Store) RunsDue(ctx context.Context, now int64, limit int) ([]store.ClaimedRun, error) {
	return s.runRows(ctx, `SELECT project_id, attempts, data FROM runs
WHERE status IN ('queued', 'requires_action') AND expires_at IS NOT NULL AND expires_at < ?
ORDER BY seq LIMIT ?`, now, limit)
}

// runRows reads (project_id, attempts, data) rows of runs.
func (s *Store) runRows(ctx context.Context, query string, args ...any) ([]store.ClaimedRun, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ClaimedRun
	var data sql.RawBytes
	for rows.Next() {
		c := store.ClaimedRun{Run: new(schema.Run)}
		if err := rows.Scan(&c.ProjectID, &c.Attempts, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, c.Run); err != nil {
			return nil, fmt.Errorf("sqlite: decode runs row: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
