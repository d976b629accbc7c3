package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// leasedStatuses is the SQL list of the statuses that keep an executor's
// lease (see leased); it is also the WHERE of the runs_claim index.
const leasedStatuses = `status IN ('queued', 'in_progress', 'cancelling')`

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

const insertRun = `INSERT INTO runs (id, project_id, thread_id, status, created_at, expires_at, data, lease_owner, lease_expires_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// leaseArgs are insertRun's last arguments: a created run's lease and claim
// count.
func leaseArgs(lease *store.Lease) (owner, until any, attempts int) {
	if lease == nil {
		return nil, nil, 0
	}
	return lease.Owner, lease.Until, 1
}

// upsertStep inserts a step or replaces one of the same run (keeping its
// seq, hence its list position). A step id taken in another run or project
// changes no row.
const upsertStep = `INSERT INTO run_steps (id, project_id, thread_id, run_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data
WHERE run_steps.project_id = excluded.project_id AND run_steps.thread_id = excluded.thread_id AND run_steps.run_id = excluded.run_id`

// upsertMessage inserts a message or replaces one of the same thread
// (keeping its seq). A message id taken in another thread or project
// changes no row.
const upsertMessage = `INSERT INTO messages (id, project_id, thread_id, run_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, created_at = excluded.created_at, data = excluded.data
WHERE messages.project_id = excluded.project_id AND messages.thread_id = excluded.thread_id`

// RunCreate locks the thread, checks that it has no active run, then
// inserts messages and run, all in one transaction. The lock (FOR UPDATE)
// makes concurrent RunCreate and MessageCreate calls on the thread wait
// for this one, so they see its run.
func (s *Store) RunCreate(ctx context.Context, projectID string, run *schema.Run, messages []*schema.Message, lease *store.Lease) error {
	lo, lu, la := leaseArgs(lease)
	data, err := json.Marshal(run)
	if err != nil {
		return err
	}
	mdata, err := marshalMessages("run create", run.ThreadID, messages)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM threads WHERE id = $1 AND project_id = $2 FOR UPDATE`,
			run.ThreadID, projectID).Scan(&one); err != nil {
			return mapErr(err)
		}
		var active bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE thread_id = $1 AND `+activeRun+`)`,
			run.ThreadID).Scan(&active); err != nil {
			return mapErr(err)
		}
		if active {
			return store.ErrActiveRun
		}
		b := &pgx.Batch{}
		queueMessages(b, projectID, run.ThreadID, messages, mdata)
		b.Queue(insertRun, run.ID, projectID, run.ThreadID, run.Status, run.CreatedAt, run.ExpiresAt, data, lo, lu, la)
		return runBatch(ctx, tx, b)
	})
}

// RunCreateWithThread inserts t, its messages and run in one transaction.
// Each message's ThreadID and the run's must be t.ID.
func (s *Store) RunCreateWithThread(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message, run *schema.Run, lease *store.Lease) error {
	lo, lu, la := leaseArgs(lease)
	if run.ThreadID != t.ID {
		return fmt.Errorf("postgres: run create with thread: run %s has thread_id %q, want %q", run.ID, run.ThreadID, t.ID)
	}
	tdata, err := json.Marshal(t)
	if err != nil {
		return err
	}
	data, err := json.Marshal(run)
	if err != nil {
		return err
	}
	mdata, err := marshalMessages("run create with thread", t.ID, messages)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(insertThread, t.ID, projectID, t.CreatedAt, tdata)
	queueMessages(b, projectID, t.ID, messages, mdata)
	b.Queue(insertRun, run.ID, projectID, t.ID, run.Status, run.CreatedAt, run.ExpiresAt, data, lo, lu, la)
	return s.inTx(ctx, func(tx pgx.Tx) error { return runBatch(ctx, tx, b) })
}

// RunGet reads one run of the thread.
func (s *Store) RunGet(ctx context.Context, projectID, threadID, id string) (*schema.Run, error) {
	var r schema.Run
	if err := s.getJSON(ctx, &r, `SELECT data FROM runs WHERE id = $1 AND project_id = $2 AND thread_id = $3`,
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
	if len(page.Data) == 0 {
		if err := s.exists(ctx, `SELECT 1 FROM threads WHERE id = $1 AND project_id = $2`, threadID, projectID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// RunStepGet reads one step of the run.
func (s *Store) RunStepGet(ctx context.Context, projectID, threadID, runID, id string) (*schema.RunStep, error) {
	var st schema.RunStep
	if err := s.getJSON(ctx, &st, `SELECT data FROM run_steps WHERE id = $1 AND project_id = $2 AND thread_id = $3 AND run_id = $4`,
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
		if err := s.exists(ctx, `SELECT 1 FROM runs WHERE id = $1 AND project_id = $2 AND thread_id = $3`, runID, projectID, threadID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// RunSave writes one run transition in one transaction: it locks the run's
// row, checks the guards of p, writes the run (releasing the lease unless
// the new status keeps it) and upserts p's steps and messages, which must
// belong to the run (steps) or its thread (messages). A step or message id
// taken by an object outside the run's thread is store.ErrConflict.
func (s *Store) RunSave(ctx context.Context, projectID string, p *store.RunSaveParams) error {
	r := p.Run
	sdata := make([][]byte, len(p.Steps))
	for i, st := range p.Steps {
		if st.RunID != r.ID || st.ThreadID != r.ThreadID {
			return fmt.Errorf("postgres: run save: step %s belongs to run %q of thread %q, want run %q of thread %q",
				st.ID, st.RunID, st.ThreadID, r.ID, r.ThreadID)
		}
		var err error
		if sdata[i], err = json.Marshal(st); err != nil {
			return err
		}
	}
	mdata, err := marshalMessages("run save", r.ThreadID, p.Messages)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The thread first, as ThreadDelete locks it before it cascades to
		// the run: locking the run first deadlocked with a delete, the
		// save's inserts waiting for the thread's key share.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM threads WHERE id = $1 AND project_id = $2 FOR KEY SHARE`,
			r.ThreadID, projectID).Scan(&one); err != nil {
			return mapErr(err)
		}
		var seq int64
		var status string
		var owner *string
		var metadata []byte
		// The stored metadata is read only when the run is rewritten keeping it.
		if err := tx.QueryRow(ctx, `SELECT seq, status, lease_owner, CASE WHEN $4 THEN data->'metadata' END FROM runs
WHERE id = $1 AND project_id = $2 AND thread_id = $3 FOR UPDATE`,
			r.ID, projectID, r.ThreadID, p.KeepMetadata && !p.RunUnchanged).Scan(&seq, &status, &owner, &metadata); err != nil {
			return mapErr(err)
		}
		if p.Owner != "" && (owner == nil || *owner != p.Owner) {
			return store.ErrLeaseLost
		}
		if p.ExpectStatus != "" && status != p.ExpectStatus {
			return fmt.Errorf("%w: run %s is %s, not %s", store.ErrConflict, r.ID, status, p.ExpectStatus)
		}
		b := &pgx.Batch{}
		if !p.RunUnchanged {
			w := r
			if p.KeepMetadata {
				kept := *r
				kept.Metadata = nil
				if len(metadata) > 0 {
					if err := json.Unmarshal(metadata, &kept.Metadata); err != nil {
						return fmt.Errorf("postgres: run save: stored metadata: %w", err)
					}
				}
				w = &kept
			}
			data, err := json.Marshal(w)
			if err != nil {
				return err
			}
			b.Queue(`UPDATE runs SET status = $1, created_at = $2, expires_at = $3, data = $4,
    lease_owner = CASE WHEN $5 THEN lease_owner END,
    lease_expires_at = CASE WHEN $5 THEN lease_expires_at END,
    attempts = CASE WHEN $5 THEN attempts ELSE 0 END
WHERE seq = $6`, r.Status, r.CreatedAt, r.ExpiresAt, data, leased(r.Status), seq)
		}
		for i, st := range p.Steps {
			b.Queue(upsertStep, st.ID, projectID, r.ThreadID, r.ID, st.CreatedAt, sdata[i]).Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() == 0 {
					return fmt.Errorf("%w: step id %s is taken", store.ErrConflict, st.ID)
				}
				return nil
			})
		}
		for i, m := range p.Messages {
			b.Queue(upsertMessage, m.ID, projectID, r.ThreadID, m.RunID, m.CreatedAt, mdata[i]).Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() == 0 {
					return fmt.Errorf("%w: message id %s is taken", store.ErrConflict, m.ID)
				}
				return nil
			})
		}
		return runBatch(ctx, tx, b)
	})
}

// RunClaim leases the oldest claimable run (or only p.RunID) to p.Owner.
// One UPDATE picks its row with FOR UPDATE SKIP LOCKED, so concurrent
// claimers in any process skip a run another one is taking instead of
// waiting for it or taking it too; a row whose lease another claimer has
// just committed is re-checked and passed over.
func (s *Store) RunClaim(ctx context.Context, p store.RunClaimParams) (*store.ClaimedRun, error) {
	if p.Owner == "" || p.LeaseUntil.IsZero() {
		return nil, errors.New("postgres: run claim: Owner and LeaseUntil are required")
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	claimable := leasedStatuses + ` AND (lease_expires_at IS NULL OR lease_expires_at < $3)`
	pick := `SELECT seq FROM runs WHERE ` + claimable + ` ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`
	args := []any{p.Owner, p.LeaseUntil, now}
	if p.RunID != "" {
		pick = `SELECT seq FROM runs WHERE id = $4 AND ` + claimable + ` FOR UPDATE SKIP LOCKED`
		args = append(args, p.RunID)
	}
	var c store.ClaimedRun
	var data []byte
	err := s.pool.QueryRow(ctx, `UPDATE runs SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
WHERE seq = (`+pick+`)
RETURNING project_id, attempts, data`, args...).Scan(&c.ProjectID, &c.Attempts, &data)
	if err != nil {
		return nil, mapErr(err)
	}
	c.Run = new(schema.Run)
	if err := json.Unmarshal(data, c.Run); err != nil {
		return nil, fmt.Errorf("postgres: decode runs row: %w", err)
	}
	return &c, nil
}

// RunLeaseRenew moves the lease's expiry to until if owner still holds it.
func (s *Store) RunLeaseRenew(ctx context.Context, runID, owner string, until time.Time) error {
	err := s.execOne(ctx, `UPDATE runs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3`,
		until, runID, owner)
	if errors.Is(err, store.ErrNotFound) {
		return store.ErrLeaseLost
	}
	return err
}

// RunsDue returns up to limit queued or requires_action runs whose
// expires_at (Unix seconds) is before now, oldest (first created) first.
func (s *Store) RunsDue(ctx context.Context, now int64, limit int) ([]store.ClaimedRun, error) {
	return s.runRows(ctx, `SELECT project_id, attempts, data FROM runs
WHERE status IN ('queued', 'requires_action') AND expires_at IS NOT NULL AND expires_at < $1
ORDER BY seq LIMIT $2`, now, limit)
}

// RunsClaimable lists the runs RunClaim could take at now.
func (s *Store) RunsClaimable(ctx context.Context, now time.Time, limit int) ([]store.ClaimedRun, error) {
	return s.runRows(ctx, `SELECT project_id, attempts, data FROM runs
WHERE `+leasedStatuses+` AND (lease_expires_at IS NULL OR lease_expires_at < $1) ORDER BY seq LIMIT $2`, now, limit)
}

// runRows reads (project_id, attempts, data) rows of runs.
func (s *Store) runRows(ctx context.Context, query string, args ...any) ([]store.ClaimedRun, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []store.ClaimedRun
	for rows.Next() {
		c := store.ClaimedRun{Run: new(schema.Run)}
		var data []byte
		if err := rows.Scan(&c.ProjectID, &c.Attempts, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, c.Run); err != nil {
			return nil, fmt.Errorf("postgres: decode runs row: %w", err)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err())
}
