package engine

import (
	"context"
	"errors"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// Enqueuer queues the durable job of a run that needs an executor
// (internal/jobs).
type Enqueuer interface {
	EnqueueRun(ctx context.Context, projectID, threadID, runID string) error
}

// Enqueue queues the job of a run that needs an executor: created, given
// its tool outputs (both through queueJob), or cancelling. Call it after
// the commit. The job is the durability net of Start (it finds the run
// leased here and waits), so it is inserted in the background: a reply
// does not wait for it. A failure is logged; the queue's reconciliation
// re-queues the run.
func (e *Engine) Enqueue(ctx context.Context, projectID, threadID, runID string) {
	if e.cfg.Jobs == nil {
		return
	}
	insert := func() {
		// The request may be gone; the job must not.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.cfg.Jobs.EnqueueRun(ctx, projectID, threadID, runID); err != nil {
			e.cfg.Logger.Error("queueing a run job", "run_id", runID, "error", err)
		}
	}
	e.mu.Lock()
	running := e.ctx != nil && e.ctx.Err() == nil
	if running {
		e.wg.Add(1) // Run waits for it
	}
	e.mu.Unlock()
	if !running {
		insert()
		return
	}
	go func() {
		defer e.wg.Done()
		insert()
	}()
}

// maxWatch bounds WatchRun's answer (see jobs.WatchInterval).
const maxWatch = 5 * time.Second

// notStarted is WatchRun's answer before Run began (the job queue may start
// first).
const notStarted = 50 * time.Millisecond

// WatchRun is the run job's work: it claims run runID for this engine when
// the run needs an executor and nobody holds its lease, and says when to
// look again (0 once the run rests: terminal, requires_action or gone).
// The execution itself belongs to the engine, not to the job.
func (e *Engine) WatchRun(ctx context.Context, projectID, threadID, runID string) (time.Duration, error) {
	again := min(e.cfg.Lease/2, maxWatch)
	e.mu.Lock()
	started, stopped := e.ctx != nil, e.ctx != nil && e.ctx.Err() != nil
	e.mu.Unlock()
	switch {
	case !started:
		return notStarted, nil // Run is about to begin: soon
	case stopped:
		return again, nil // another replica, or this one restarted
	}
	now := e.cfg.Now()
	c, err := e.cfg.Store.RunClaim(ctx, store.RunClaimParams{Owner: e.cfg.Owner, Now: now, LeaseUntil: now.Add(e.cfg.Lease), RunID: runID})
	if err == nil {
		if !e.spawn(c, false) {
			e.release(c.Run.ID)
		}
		return again, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	run, err := e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil // deleted with its thread
	case err != nil:
		return 0, err
	case settled(run.Status):
		return 0, nil
	}
	// Leased by a live executor (maybe this one): look again later.
	return again, nil
}

// release gives up this engine's lease on a run it claimed but will not
// execute (shutting down), so that another takes it at once.
func (e *Engine) release(runID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.cfg.Store.RunLeaseRenew(ctx, runID, e.cfg.Owner, e.cfg.Now()); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		e.cfg.Logger.Warn("releasing run lease", "run_id", runID, "error", err)
	}
}

// expireBatch is how many due runs ExpireRuns reads at once.
const expireBatch = 100

// ExpireRuns moves runs that waited past expires_at (for tool outputs, or
// in the queue) to expired. The job queue runs it on its leader only.
func (e *Engine) ExpireRuns(ctx context.Context) error {
	for {
		due, err := e.cfg.Store.RunsDue(ctx, e.now(), expireBatch)
		if err != nil {
			return err
		}
		for _, d := range due {
			if err := e.expire(ctx, d); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if len(due) < expireBatch {
			return nil
		}
	}
}

// expire moves one due run to expired with its open steps; ErrConflict if
// it moved on meanwhile.
func (e *Engine) expire(ctx context.Context, d store.ClaimedRun) error {
	run := d.Run
	prev := run.Status
	steps, err := e.openSteps(ctx, d.ProjectID, run)
	if err != nil {
		return err
	}
	now := e.now()
	p := &store.RunSaveParams{Run: run, ExpectStatus: prev, KeepMetadata: true}
	var events []schema.Event
	for _, s := range steps {
		s.Status = schema.StepExpired
		s.ExpiredAt = &now
		p.Steps = append(p.Steps, s)
		events = append(events, schema.Event{Name: schema.EventStepExpired, Data: cloneStep(s)})
	}
	run.Status = schema.RunExpired
	run.RequiredAction = nil
	run.ExpiresAt = nil
	return e.commitThenPublish(run.ID, func() ([]schema.Event, error) {
		return append(events, schema.Event{Name: schema.EventRunExpired, Data: cloneRun(run)}), e.cfg.Store.RunSave(ctx, d.ProjectID, p)
	})
}
