package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// uniqueStates makes a run or file job unique by its arguments while it is
// not finalized: an insert for work already queued or being looked at is a
// no-op, and a finished job does not stop a new one.
func uniqueStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}

// RunArgs is the run job: watch a run until it rests.
type RunArgs struct {
	ProjectID string `json:"project_id"`
	ThreadID  string `json:"thread_id"`
	RunID     string `json:"run_id"`
	// Claims and Pass are set by reconcile: the run's claim count and the
	// reconciliation pass (a 10-second period, or one process's start).
	// They set a re-queued job apart from one stuck running on a dead
	// replica, which would otherwise absorb it until River rescues it.
	Claims int    `json:"claims,omitempty"`
	Pass   string `json:"pass,omitempty"`
	// Action makes each API action's job its own: a run resumed (tool
	// outputs) while its earlier job is finishing needs a new job, which
	// uniqueness by args would otherwise absorb.
	Action string `json:"action,omitempty"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "run" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RunArgs) InsertOpts() river.InsertOpts {
	// Attempts count failures of the job itself (database errors), not
	// takeovers of the run, which the run's own claim count bounds.
	return river.InsertOpts{Queue: queueRuns, MaxAttempts: 100, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates()}}
}

// IngestArgs is the ingest job: ingest vector store files, one after the
// other. A job carries up to a few dozen files of one request rather than
// one: River's own cost per job (insert, fetch, completion: about 1 ms on
// SQLite) would otherwise double the ingestion time of small files.
type IngestArgs struct {
	ProjectID     string   `json:"project_id"`
	VectorStoreID string   `json:"vector_store_id"`
	FileIDs       []string `json:"file_ids"`
	// Claims and Pass are as in RunArgs, for the file (reconcile queues one
	// file per job).
	Claims int    `json:"claims,omitempty"`
	Pass   string `json:"pass,omitempty"`
	// Add makes each addition's job its own: a file added again while
	// its earlier job runs needs a new job (the running one finds its claim
	// gone), which uniqueness by args would otherwise absorb.
	Add string `json:"add,omitempty"`
}

// Kind implements river.JobArgs.
func (IngestArgs) Kind() string { return "ingest" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (IngestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueIngest, MaxAttempts: 100, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates()}}
}

// ExpireRunsArgs is the expire_runs sweep.
type ExpireRunsArgs struct{}

// Kind implements river.JobArgs.
func (ExpireRunsArgs) Kind() string { return "expire_runs" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ExpireRunsArgs) InsertOpts() river.InsertOpts {
	// One pending sweep at a time: a slow sweep does not pile up more.
	return river.InsertOpts{Queue: queueRuns, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: uniqueStates()}}
}

// ReconcileArgs is the reconcile sweep.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "reconcile" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueRuns, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: uniqueStates()}}
}

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	q *Queue
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	a := job.Args
	again, err := w.q.runs.WatchRun(ctx, a.ProjectID, a.ThreadID, a.RunID)
	return outcome(again, err)
}

type ingestWorker struct {
	river.WorkerDefaults[IngestArgs]
	q *Queue
}

// Work ingests the job's files. Files leased by a live ingester are looked
// at again after a wait (the whole job is, but files already finished only
// cost a claim that finds nothing).
func (w *ingestWorker) Work(ctx context.Context, job *river.Job[IngestArgs]) error {
	a := job.Args
	var again time.Duration
	for _, id := range a.FileIDs {
		if ctx.Err() != nil {
			break
		}
		d, err := w.q.ingest.IngestFile(ctx, a.ProjectID, a.VectorStoreID, id)
		if err != nil {
			return err
		}
		if d > 0 && (again == 0 || d < again) {
			again = d
		}
	}
	if ctx.Err() != nil {
		// Stopped mid-job: the file in hand went back to the queue; look
		// again at once when a worker is next up.
		return river.JobSnooze(0)
	}
	return outcome(again, nil)
}

// outcome maps a worker's answer to River's: look again later, fail (and
// retry), or done.
func outcome(again time.Duration, err error) error {
	switch {
	case err != nil:
		return err
	case again > 0:
		return river.JobSnooze(again)
	}
	return nil
}

type expireWorker struct {
	river.WorkerDefaults[ExpireRunsArgs]
	q *Queue
}

func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireRunsArgs]) error {
	return w.q.runs.ExpireRuns(ctx)
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	q *Queue
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	now := time.Now()
	return w.q.Reconcile(ctx, now.Add(-2*WatchInterval(w.q.cfg.Lease)), fmt.Sprintf("p%d", now.Unix()/reconcilePeriod))
}

// reconcilePeriod is, in seconds, how long reconcile's jobs for one piece
// of work are one job: an orphan whose job got stuck gets a new one after
// at most this long, and at most one per period otherwise.
const reconcilePeriod = 10

// reconcileLimit bounds the runs and the files one reconcile re-queues.
const reconcileLimit = 1000

// freshWork is how long work never claimed is left to the job its API
// request queued: re-inserting the (usually thousands of) files of a large
// batch on every sweep would only make River discard duplicates.
const freshWork = time.Minute

// freshRun is freshWork for runs: a run is one job, and one whose replica
// died between committing it and queueing its job must not wait a minute.
// A duplicate job is harmless (it finds the run leased or rested).
const freshRun = 5 * time.Second

// Reconcile queues a job for every run and every file that needs an
// executor and whose lease lapsed before leaseBefore (or that never had
// one, once older than freshRun or freshWork). pass names the reconciliation: jobs of
// the same pass for the same work and claim count absorb each other; a job
// stuck running on a dead replica, of another pass, does not.
func (q *Queue) Reconcile(ctx context.Context, leaseBefore time.Time, pass string) error {
	fresh := time.Now().Add(-freshWork).Unix()
	freshRuns := time.Now().Add(-freshRun).Unix()
	runs, err := q.cfg.Store.RunsClaimable(ctx, leaseBefore, reconcileLimit)
	if err != nil {
		return fmt.Errorf("jobs: reconcile runs: %w", err)
	}
	var args []river.JobArgs
	for _, r := range runs {
		if r.Attempts == 0 && r.Run.CreatedAt > freshRuns {
			continue
		}
		args = append(args, RunArgs{ProjectID: r.ProjectID, ThreadID: r.Run.ThreadID, RunID: r.Run.ID, Claims: r.Attempts, Pass: pass})
	}
	files, err := q.cfg.Store.IngestPending(ctx, leaseBefore, reconcileLimit)
	if err != nil {
		return fmt.Errorf("jobs: reconcile files: %w", err)
	}
	for _, f := range files {
		if f.Attempts == 0 && f.CreatedAt > fresh {
			continue
		}
		args = append(args, IngestArgs{ProjectID: f.ProjectID, VectorStoreID: f.VectorStoreID, FileIDs: []string{f.FileID}, Claims: f.Attempts, Pass: pass})
	}
	return q.insert(ctx, args...)
}
