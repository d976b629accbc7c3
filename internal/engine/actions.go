package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// ErrNotActive is returned by Cancel and SubmitToolOutputs when the run is
// not in a state that allows the action; the error text says why.
type ErrNotActive struct{ Message string }

func (e *ErrNotActive) Error() string { return e.Message }

// CreateRun commits a queued run (after its additional messages), publishes
// thread.run.created and thread.run.queued, starts it here and queues its
// job (see queueJob); streamed says the client follows the run's events.
// run stays as created (queued), the state the API answers with.
func (e *Engine) CreateRun(ctx context.Context, projectID string, run *schema.Run, messages []*schema.Message, streamed bool) error {
	lease := e.newLease()
	stored, events := e.creation(run, lease)
	err := e.commitThenPublish(run.ID, func() ([]schema.Event, error) {
		return events, e.cfg.Store.RunCreate(ctx, projectID, stored, messages, lease)
	})
	if err != nil {
		return err
	}
	e.queueJob(ctx, projectID, run.ThreadID, run.ID, e.startCreated(projectID, stored, lease), streamed)
	return nil
}

// creation is the run to commit for a new run and the events announcing
// it. A run created with this engine's lease is committed in_progress at
// once (its thread.run.in_progress follows thread.run.queued): its
// execution starts here, and a separate transition was one more database
// round trip before the model call.
func (e *Engine) creation(run *schema.Run, lease *store.Lease) (*schema.Run, []schema.Event) {
	events := []schema.Event{{Name: schema.EventRunCreated, Data: cloneRun(run)}, {Name: schema.EventRunQueued, Data: cloneRun(run)}}
	if lease == nil {
		return run, events
	}
	stored := cloneRun(run)
	stored.Status = schema.RunInProgress
	now := e.now()
	stored.StartedAt = &now
	return stored, append(events, schema.Event{Name: schema.EventRunInProgress, Data: cloneRun(stored)})
}

// CreateThreadAndRun commits a new thread, its messages and its run, then
// publishes thread.created, thread.run.created and thread.run.queued and
// starts the run here.
func (e *Engine) CreateThreadAndRun(ctx context.Context, projectID string, t *schema.Thread, messages []*schema.Message, run *schema.Run, streamed bool) error {
	th := *t
	lease := e.newLease()
	stored, events := e.creation(run, lease)
	err := e.commitThenPublish(run.ID, func() ([]schema.Event, error) {
		return append([]schema.Event{{Name: schema.EventThreadCreated, Data: &th}}, events...),
			e.cfg.Store.RunCreateWithThread(ctx, projectID, t, messages, stored, lease)
	})
	if err != nil {
		return err
	}
	e.queueJob(ctx, projectID, t.ID, run.ID, e.startCreated(projectID, stored, lease), streamed)
	return nil
}

// Cancel asks a run to stop. A queued or requires_action run (which no
// executor is working on) is cancelled at once; an in_progress run becomes
// cancelling and its executor finishes the cancellation.
func (e *Engine) Cancel(ctx context.Context, projectID, threadID, runID string) (*schema.Run, error) {
	for {
		run, err := e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
		if err != nil {
			return nil, err
		}
		prev := run.Status
		now := e.now()
		var events []schema.Event
		p := &store.RunSaveParams{Run: run, ExpectStatus: prev, KeepMetadata: true}
		switch prev {
		case schema.RunInProgress:
			run.Status = schema.RunCancelling
			events = append(events, schema.Event{Name: schema.EventRunCancelling, Data: cloneRun(run)})
		case schema.RunQueued, schema.RunRequiresAction:
			// Nobody executes these: cancel them here, with their steps.
			steps, err := e.openSteps(ctx, projectID, run)
			if err != nil {
				return nil, err
			}
			for _, s := range steps {
				s.Status = schema.StepCancelled
				s.CancelledAt = &now
				p.Steps = append(p.Steps, s)
				events = append(events, schema.Event{Name: schema.EventStepCancelled, Data: cloneStep(s)})
			}
			run.Status = schema.RunCancelled
			run.CancelledAt = &now
			run.ExpiresAt = nil
			run.RequiredAction = nil
			events = append([]schema.Event{{Name: schema.EventRunCancelling, Data: withStatus(run, schema.RunCancelling)}}, events...)
			events = append(events, schema.Event{Name: schema.EventRunCancelled, Data: cloneRun(run)})
		case schema.RunCancelling:
			return run, nil
		default:
			return nil, &ErrNotActive{Message: fmt.Sprintf("Cannot cancel run with status '%s'.", prev)}
		}
		p.Run = run
		err = e.commitThenPublish(run.ID, func() ([]schema.Event, error) { return events, e.cfg.Store.RunSave(ctx, projectID, p) })
		if errors.Is(err, store.ErrConflict) {
			continue // it moved on under us: look again
		}
		if err != nil {
			return nil, err
		}
		if run.Status == schema.RunCancelling {
			e.interrupt(run.ID)
			// If its executor is elsewhere, it notices at its next lease
			// renewal; if gone, the run's job finishes the cancellation.
			return run, nil
		}
		// The API answers "cancelling" as OpenAI does; the committed state
		// is already cancelled.
		return withStatus(run, schema.RunCancelling), nil
	}
}

// ModifyRun applies patch (which may change only the run's metadata) to the
// stored run and returns it. A run executing in this process takes the
// change into its later commits, which write the whole run.
func (e *Engine) ModifyRun(ctx context.Context, projectID, threadID, runID string, patch func(*schema.Run)) (*schema.Run, error) {
	for {
		e.mu.Lock()
		var x *execution
		if re := e.running[runID]; re != nil {
			x = re.x
		}
		e.mu.Unlock()
		run, err := e.modifyOnce(ctx, x, projectID, threadID, runID, patch)
		if errors.Is(err, store.ErrConflict) {
			continue // the run moved on meanwhile: apply to the new state
		}
		return run, err
	}
}

func (e *Engine) modifyOnce(ctx context.Context, x *execution, projectID, threadID, runID string, patch func(*schema.Run)) (*schema.Run, error) {
	if x != nil {
		x.mu.Lock()
		defer x.mu.Unlock()
	}
	run, err := e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
	if err != nil {
		return nil, err
	}
	patch(run)
	if err := e.cfg.Store.RunSave(ctx, projectID, &store.RunSaveParams{Run: run, ExpectStatus: run.Status}); err != nil {
		return nil, err
	}
	if x != nil && x.project == projectID {
		x.meta, x.metaSet = run.Metadata, true
	}
	return run, nil
}

// SubmitToolOutputs records the outputs of the function calls a
// requires_action run waits for, completes their step, queues the run,
// starts it here and queues its job (see queueJob).
func (e *Engine) SubmitToolOutputs(ctx context.Context, projectID, threadID, runID string, req *schema.SubmitToolOutputsRequest) (*schema.Run, error) {
	run, err := e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
	if err != nil {
		return nil, err
	}
	if run.Status != schema.RunRequiresAction || run.RequiredAction == nil {
		return nil, &ErrNotActive{Message: fmt.Sprintf("Runs in status \"%s\" do not accept tool outputs.", run.Status)}
	}
	pending := run.RequiredAction.SubmitToolOutputs.ToolCalls
	if err := req.Validate(pending); err != nil {
		return nil, err
	}
	outputs := make(map[string]string, len(req.ToolOutputs))
	for _, o := range req.ToolOutputs {
		out := ""
		if o.Output != nil {
			out = *o.Output
		}
		outputs[*o.ToolCallID] = out
	}
	steps, err := e.openSteps(ctx, projectID, run)
	if err != nil {
		return nil, err
	}
	now := e.now()
	p := &store.RunSaveParams{Run: run, ExpectStatus: schema.RunRequiresAction, KeepMetadata: true}
	var events []schema.Event
	for _, s := range steps {
		if s.Type != schema.StepToolCalls {
			continue
		}
		calls := make([]schema.ToolCall, len(s.StepDetails.ToolCalls))
		for i, c := range s.StepDetails.ToolCalls {
			if c.Function != nil {
				if out, ok := outputs[c.ID]; ok {
					f := *c.Function
					f.Output = &out
					c.Function = &f
				}
			}
			calls[i] = c
		}
		s.StepDetails.ToolCalls = calls
		s.Status = schema.StepCompleted
		s.CompletedAt = &now
		p.Steps = append(p.Steps, s)
		events = append(events, schema.Event{Name: schema.EventStepCompleted, Data: cloneStep(s)})
	}
	run.Status = schema.RunQueued
	run.RequiredAction = nil
	exp := now + int64(e.cfg.RequiresActionTimeout/time.Second)
	run.ExpiresAt = &exp
	err = e.commitThenPublish(run.ID, func() ([]schema.Event, error) {
		return append(events, schema.Event{Name: schema.EventRunQueued, Data: cloneRun(run)}), e.cfg.Store.RunSave(ctx, projectID, p)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, &ErrNotActive{Message: "The run is no longer waiting for tool outputs."}
	}
	if err != nil {
		return nil, err
	}
	e.queueJob(ctx, projectID, threadID, run.ID, e.Start(run.ID), req.Stream != nil && *req.Stream)
	return run, nil
}

// AwaitSettled waits until the run settles (a terminal status or
// requires_action: a run seen queued is held through in_progress) and
// returns it as it then is; after max, or when ctx ends, it returns the run
// as it is. Poll helpers use it so that a client
// polling a run hears of its completion at once. Besides this process's
// events it re-reads the run now and then, for runs executed by another
// replica.
func (e *Engine) AwaitSettled(ctx context.Context, projectID, threadID, runID string, max time.Duration) (*schema.Run, error) {
	sub := e.Subscribe(runID)
	defer sub.Close()
	run, err := e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
	if err != nil || settled(run.Status) {
		return run, err
	}
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	for wctx.Err() == nil {
		nctx, ncancel := context.WithTimeout(wctx, awaitRecheck)
		ev, err := sub.Next(nctx)
		ncancel()
		if err == nil {
			if r, ok := ev.Data.(*schema.Run); ok && settled(r.Status) {
				break
			}
			continue
		}
		if wctx.Err() != nil {
			break
		}
		// No event for a while: the run may be executing elsewhere.
		if r, err := e.cfg.Store.RunGet(wctx, projectID, threadID, runID); err == nil && settled(r.Status) {
			return r, nil
		}
	}
	return e.cfg.Store.RunGet(ctx, projectID, threadID, runID)
}

// awaitRecheck is how often AwaitSettled re-reads a run without events.
const awaitRecheck = 250 * time.Millisecond

// settled reports whether a run in status waits for nobody but the client.
func settled(status string) bool {
	return schema.RunIsTerminal(status) || status == schema.RunRequiresAction
}

// openSteps returns the run's steps that are still in progress.
func (e *Engine) openSteps(ctx context.Context, projectID string, run *schema.Run) ([]*schema.RunStep, error) {
	all, err := e.allSteps(ctx, projectID, run)
	if err != nil {
		return nil, err
	}
	var open []*schema.RunStep
	for _, s := range all {
		if s.Status == schema.StepInProgress {
			open = append(open, s)
		}
	}
	return open, nil
}

// allSteps returns every step of the run in creation order.
func (e *Engine) allSteps(ctx context.Context, projectID string, run *schema.Run) ([]*schema.RunStep, error) {
	return store.All(func(p store.ListParams) (*store.Page[schema.RunStep], error) {
		return e.cfg.Store.RunStepList(ctx, projectID, run.ThreadID, run.ID, p)
	}, func(s *schema.RunStep) string { return s.ID })
}

// cloneRun copies a run for publishing, so later changes by the executor do
// not race with the stream writing it.
func cloneRun(r *schema.Run) *schema.Run {
	c := *r
	return &c
}

func withStatus(r *schema.Run, status string) *schema.Run {
	c := *r
	c.Status = status
	return &c
}

func cloneStep(s *schema.RunStep) *schema.RunStep {
	c := *s
	if s.StepDetails.ToolCalls != nil {
		c.StepDetails.ToolCalls = append([]schema.ToolCall(nil), s.StepDetails.ToolCalls...)
	}
	return &c
}

func cloneMessage(m *schema.Message) *schema.Message {
	c := *m
	c.Content = append(make([]schema.ContentPart, 0, len(m.Content)), m.Content...)
	return &c
}
