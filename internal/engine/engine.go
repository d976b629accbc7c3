// Package engine executes runs: it claims them under a lease, drives the
// run state machine through model turns and tool calls, commits every
// transition before publishing it as a stream event, and takes over runs
// whose executor died.
//
// A replica that receives a request starts that run at once (no queue
// latency; a streamed run's events come from this process). Every run that
// needs an executor also has a job in the durable job queue (internal/jobs)
// whose worker, WatchRun, claims the run when nobody holds its lease: runs
// of dead executors and runs queued elsewhere. The queue's leader expires
// runs that waited too long (ExpireRuns). The run's lease stays the fencing
// token of every write.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// TokenCounter counts prompt tokens the way the model's tokenizer does.
type TokenCounter interface {
	CountMessages(model string, msgs []llm.Message, tools []llm.Tool) int
}

// Config wires an engine.
type Config struct {
	Store  store.Store
	Blobs  blob.Store
	Models llm.Provider
	// ContextWindow returns a model's context size in tokens (for the auto
	// truncation strategy); nil means 128,000 for every model.
	ContextWindow func(model string) int
	Tokens        TokenCounter
	// Builtins executes built-in tools, by tool type ("file_search",
	// "code_interpreter"). A built-in tool with no executor is not offered
	// to the model.
	Builtins map[string]BuiltinTool
	Logger   *slog.Logger
	Now      func() time.Time
	// Owner names this executor in leases; unique per process.
	Owner string
	// Lease is how long a claim lasts without renewal; an executor that
	// dies loses its runs to another after at most this long.
	Lease time.Duration
	// Jobs queues the durable run jobs (see Enqueue); nil runs nothing in
	// the background: runs execute only where Start is called.
	Jobs Enqueuer
	// RequiresActionTimeout is how long a run waits for tool outputs.
	RequiresActionTimeout time.Duration
	// MaxAttempts bounds takeovers: a run claimed more often than this
	// fails with server_error instead of being retried forever.
	MaxAttempts int
	// MaxTurns bounds model turns in one run (tool loops).
	MaxTurns int
}

// Engine runs runs. Its zero value is not usable; see New.
type Engine struct {
	cfg Config
	bus *bus

	// gates order the publications of a run (see commitThenPublish), by
	// run id; an entry lives while someone holds or waits for it.
	gatesMu sync.Mutex
	gates   map[string]*runGate

	mu sync.Mutex
	// running maps run ids executing here to their executions.
	running map[string]*runningExec
	// ctx is the engine's lifetime, set by Run; executions derive from it.
	ctx context.Context
	wg  sync.WaitGroup
}

// New returns an engine; call Run before starting runs.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		cfg.Owner = schema.NewID("exec_")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.RequiresActionTimeout <= 0 {
		cfg.RequiresActionTimeout = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MaxTurns <= 0 {
		cfg.MaxTurns = 25
	}
	if cfg.ContextWindow == nil {
		cfg.ContextWindow = func(string) int { return 128000 }
	}
	return &Engine{cfg: cfg, bus: newBus(), running: make(map[string]*runningExec), gates: make(map[string]*runGate)}
}

// Run owns executions until ctx ends, then stops every execution, releases
// their leases so another replica (or this one, restarted) takes them over
// at once, and returns.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	<-ctx.Done()
	e.wg.Wait()
	return nil
}

// Subscribe returns the events of run runID published from now on.
func (e *Engine) Subscribe(runID string) *Subscription { return e.bus.subscribe(runID) }

// Start executes run runID in this process now, if it is claimable, and
// reports whether it does. The execution belongs to the engine, not to the
// caller's request: a client that goes away does not stop its run.
func (e *Engine) Start(runID string) bool {
	e.mu.Lock()
	ctx := e.ctx
	e.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return false // its job executes it elsewhere, or here after a restart
	}
	now := e.cfg.Now()
	c, err := e.cfg.Store.RunClaim(ctx, store.RunClaimParams{Owner: e.cfg.Owner, Now: now, LeaseUntil: now.Add(e.cfg.Lease), RunID: runID})
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.cfg.Logger.Error("claiming run", "run_id", runID, "error", err)
		}
		return false
	}
	if !e.spawn(c, false) {
		e.release(c.Run.ID)
		return false
	}
	return true
}

// newLease is the lease a run created here is committed with, so that
// this process executes it without claiming it in a second write; nil
// when the engine is not running (the run's job executes it).
func (e *Engine) newLease() *store.Lease {
	if e.shuttingDown() {
		return nil
	}
	return &store.Lease{Owner: e.cfg.Owner, Until: e.cfg.Now().Add(e.cfg.Lease)}
}

// startCreated executes a run that was just created with lease (see
// newLease) and reports whether it does.
func (e *Engine) startCreated(projectID string, run *schema.Run, lease *store.Lease) bool {
	if lease == nil {
		return false
	}
	if !e.spawn(&store.ClaimedRun{ProjectID: projectID, Run: cloneRun(run), Attempts: 1}, true) {
		e.release(run.ID)
		return false
	}
	return true
}

// queueJob queues the durable job of a run just committed as queued,
// except for a streamed run that started here: its client follows it on
// this process, which queues a job when it shuts down mid-run (see
// execute); should it die instead, the queue's reconciliation gives the
// run a job once its lease lapses. Under a burst of streamed
// runs the job (insert, fetch, look, snooze) was most of the store's
// writes.
func (e *Engine) queueJob(ctx context.Context, projectID, threadID, runID string, started, streamed bool) {
	if started && streamed {
		return
	}
	e.Enqueue(ctx, projectID, threadID, runID)
}

// runningExec is one execution of this process.
type runningExec struct {
	cancel context.CancelFunc
	x      *execution
}

// spawn executes a claimed run in the background; false when the engine is
// stopping and did not. unstarted says the run was just created (it has no
// steps yet).
func (e *Engine) spawn(c *store.ClaimedRun, unstarted bool) bool {
	e.mu.Lock()
	parent := e.ctx
	if parent == nil || parent.Err() != nil {
		e.mu.Unlock()
		return false
	}
	ctx, cancel := context.WithCancel(parent)
	re := &runningExec{cancel: cancel, x: &execution{e: e, project: c.ProjectID, run: c.Run, attempts: c.Attempts, unstarted: unstarted}}
	e.running[c.Run.ID] = re
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		// Keep the run's gate for the whole execution: every delta locks it.
		g := e.acquireGate(c.Run.ID)
		defer e.releaseGate(c.Run.ID, g)
		defer func() {
			e.mu.Lock()
			// A newer execution of the run (after submit_tool_outputs) may
			// already have replaced this one: leave it in place.
			if e.running[c.Run.ID] == re {
				delete(e.running, c.Run.ID)
			}
			e.mu.Unlock()
			cancel()
		}()
		re.x.execute(ctx)
	}()
	return true
}

// interrupt stops this process's execution of runID, if any, so that it
// notices a cancel at once instead of at its next commit.
func (e *Engine) interrupt(runID string) {
	e.mu.Lock()
	re := e.running[runID]
	e.mu.Unlock()
	if re != nil {
		re.cancel()
	}
}

// publish announces events of a run after the state they describe was
// committed. It waits for any commitThenPublish of the same run in flight,
// so that an executor reacting to an action's commit cannot announce its
// own transition before the action's events.
func (e *Engine) publish(runID string, events ...schema.Event) {
	g := e.acquireGate(runID)
	defer e.releaseGate(runID, g)
	g.Lock()
	defer g.Unlock()
	e.bus.publish(runID, events...)
}

// commitThenPublish commits (commit returns the events its success
// announces) and publishes the events while holding the run's gate: the
// commit makes the run visible to executors, whose own events must follow.
func (e *Engine) commitThenPublish(runID string, commit func() ([]schema.Event, error)) error {
	g := e.acquireGate(runID)
	defer e.releaseGate(runID, g)
	g.Lock()
	defer g.Unlock()
	events, err := commit()
	if err != nil {
		return err
	}
	e.bus.publish(runID, events...)
	return nil
}

// runGate is the lock ordering one run's publications.
type runGate struct {
	sync.Mutex
	holders int // acquired and not released; guarded by Engine.gatesMu
}

// acquireGate returns runID's gate, counted as held until releaseGate. One
// gate per run: a commit holds it for as long as the database takes, and
// runs sharing a lock (it was striped) waited for each other's commits and
// deltas.
func (e *Engine) acquireGate(runID string) *runGate {
	e.gatesMu.Lock()
	defer e.gatesMu.Unlock()
	g := e.gates[runID]
	if g == nil {
		g = &runGate{}
		e.gates[runID] = g
	}
	g.holders++
	return g
}

// releaseGate forgets runID's gate once nobody holds it.
func (e *Engine) releaseGate(runID string, g *runGate) {
	e.gatesMu.Lock()
	defer e.gatesMu.Unlock()
	if g.holders--; g.holders == 0 {
		delete(e.gates, runID)
	}
}

func (e *Engine) now() int64 { return e.cfg.Now().Unix() }
