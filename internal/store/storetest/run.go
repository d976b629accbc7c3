package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// t0 is the clock the lease tests start from.
var t0 = time.Unix(1_700_000_000, 0)

// claim is RunClaim at now with a 30-second lease.
func claim(b *testBundle, owner string, now time.Time, runID string) (*store.ClaimedRun, error) {
	return b.s.RunClaim(b.ctx, store.RunClaimParams{Owner: owner, Now: now, LeaseUntil: now.Add(30 * time.Second), RunID: runID})
}

// runWithThread creates a thread of proj holding run (built by newRun in
// status) and returns the run.
func runWithThread(t *testing.T, b *testBundle, proj string, createdAt int64, status string) *schema.Run {
	t.Helper()
	th := newThread(createdAt)
	r := newRun(th.ID, createdAt, status)
	must(t, "RunCreateWithThread", b.s.RunCreateWithThread(b.ctx, proj, th, nil, r, nil))
	return r
}

// claimedRun creates a queued run on a new thread and claims it for owner.
func claimedRun(t *testing.T, b *testBundle, owner string) *schema.Run {
	t.Helper()
	r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
	_, err := claim(b, owner, t0, r.ID)
	must(t, "RunClaim", err)
	return r
}

// assertRun fails unless the stored run equals want.
func assertRun(t *testing.T, b *testBundle, proj string, want *schema.Run) {
	t.Helper()
	got, err := b.s.RunGet(b.ctx, proj, want.ThreadID, want.ID)
	must(t, "RunGet", err)
	assertJSONEqual(t, got, want)
}

// messageIDs returns the ids of the thread's messages (of runID when set),
// in order.
func messageIDs(t *testing.T, b *testBundle, proj, threadID, runID string) []string {
	t.Helper()
	page, err := b.s.MessageList(b.ctx, proj, threadID, store.MessageListParams{
		ListParams: store.ListParams{Limit: 100, Order: store.OrderAsc}, RunID: runID,
	})
	must(t, "MessageList", err)
	return ids(page.Data)
}

// stepIDs returns the ids of every step of the run, in order.
func stepIDs(t *testing.T, b *testBundle, proj string, r *schema.Run) []string {
	t.Helper()
	page, err := b.s.RunStepList(b.ctx, proj, r.ThreadID, r.ID, store.ListParams{Limit: 100, Order: store.OrderAsc})
	must(t, "RunStepList", err)
	return ids(page.Data)
}

func testRun(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		first := newMessage(th.ID, 1, "first")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{first}))
		r := newRun(th.ID, 1700000000, schema.RunQueued)
		r.Tools = []schema.Tool{{Type: "code_interpreter"}}
		r.Metadata = schema.Metadata{"k": "v"}
		r.Temperature = ptr(0.5)
		r.MaxPromptTokens = ptr(1000)
		r.TruncationStrategy = schema.TruncationStrategy{Type: schema.TruncationLastMessages, LastMessages: ptr(3)}
		r.ToolChoice = schema.ToolChoice{Type: "function", Function: "f"}
		r.ResponseFormat = schema.ResponseFormat{Type: schema.ResponseFormatJSONObject}
		extra := []*schema.Message{newMessage(th.ID, 1700000000, "extra 1"), newMessage(th.ID, 1700000000, "extra 2")}
		must(t, "RunCreate", b.s.RunCreate(b.ctx, b.proj, r, extra, nil))
		assertRun(t, b, b.proj, r)
		if got, want := messageIDs(t, b, b.proj, th.ID, ""), []string{first.ID, extra[0].ID, extra[1].ID}; !slices.Equal(got, want) {
			t.Fatalf("thread messages after RunCreate = %v, want %v", got, want)
		}
		page, err := b.s.RunList(b.ctx, b.proj, th.ID, store.ListParams{Limit: 20, Order: store.OrderDesc})
		must(t, "RunList", err)
		if len(page.Data) != 1 || page.HasMore {
			t.Fatalf("RunList: %d runs (has_more %v), want 1", len(page.Data), page.HasMore)
		}
		assertJSONEqual(t, &page.Data[0], r)
		// A new run has no steps.
		if got := stepIDs(t, b, b.proj, r); len(got) != 0 {
			t.Fatalf("new run lists steps %v", got)
		}
	})
	t.Run("CreateIsAtomic", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		taken := newMessage(th.ID, 1, "taken")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{taken}))
		ok, dup := newMessage(th.ID, 2, "fine"), newMessage(th.ID, 2, "dup")
		dup.ID = taken.ID
		r := newRun(th.ID, 2, schema.RunQueued)
		if err := b.s.RunCreate(b.ctx, b.proj, r, []*schema.Message{ok, dup}, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunCreate with a duplicate message id: got %v, want store.ErrConflict", err)
		}
		_, err := b.s.RunGet(b.ctx, b.proj, th.ID, r.ID)
		assertNotFound(t, "RunGet after a failed create", err)
		if got := messageIDs(t, b, b.proj, th.ID, ""); !slices.Equal(got, []string{taken.ID}) {
			t.Fatalf("thread messages after a failed RunCreate = %v, want [%s]", got, taken.ID)
		}
		// The thread is still free for a run.
		must(t, "RunCreate", b.s.RunCreate(b.ctx, b.proj, r, []*schema.Message{ok}, nil))

		// A run id that is taken: neither message nor run is written.
		th2 := newThread(3)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th2, nil))
		again := newRun(th2.ID, 3, schema.RunQueued)
		again.ID = r.ID
		if err := b.s.RunCreate(b.ctx, b.proj, again, []*schema.Message{newMessage(th2.ID, 3, "x")}, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunCreate with a taken run id: got %v, want store.ErrConflict", err)
		}
		if got := messageIDs(t, b, b.proj, th2.ID, ""); len(got) != 0 {
			t.Fatalf("failed RunCreate left messages %v", got)
		}
	})
	t.Run("CreateWithThread", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		msgs := []*schema.Message{newMessage(th.ID, 1, "a"), newMessage(th.ID, 1, "b")}
		r := newRun(th.ID, 1, schema.RunQueued)
		must(t, "RunCreateWithThread", b.s.RunCreateWithThread(b.ctx, b.proj, th, msgs, r, nil))
		got, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		must(t, "ThreadGet", err)
		assertJSONEqual(t, got, th)
		if got, want := messageIDs(t, b, b.proj, th.ID, ""), []string{msgs[0].ID, msgs[1].ID}; !slices.Equal(got, want) {
			t.Fatalf("messages = %v, want %v", got, want)
		}
		assertRun(t, b, b.proj, r)
		// The run is active: the thread takes no more messages.
		if err := b.s.MessageCreate(b.ctx, b.proj, newMessage(th.ID, 2, "c")); !errors.Is(err, store.ErrActiveRun) {
			t.Fatalf("MessageCreate during the first run: got %v, want store.ErrActiveRun", err)
		}

		// Atomicity: a taken run id leaves neither thread nor messages.
		th2 := newThread(2)
		m2 := newMessage(th2.ID, 2, "x")
		r2 := newRun(th2.ID, 2, schema.RunQueued)
		r2.ID = r.ID
		if err := b.s.RunCreateWithThread(b.ctx, b.proj, th2, []*schema.Message{m2}, r2, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunCreateWithThread with a taken run id: got %v, want store.ErrConflict", err)
		}
		_, err = b.s.ThreadGet(b.ctx, b.proj, th2.ID)
		assertNotFound(t, "ThreadGet after a failed create", err)
		_, err = b.s.MessageGet(b.ctx, b.proj, th2.ID, m2.ID)
		assertNotFound(t, "MessageGet after a failed create", err)
		// And a taken message id leaves neither thread nor run.
		th3 := newThread(3)
		dup := newMessage(th3.ID, 3, "dup")
		dup.ID = msgs[0].ID
		r3 := newRun(th3.ID, 3, schema.RunQueued)
		if err := b.s.RunCreateWithThread(b.ctx, b.proj, th3, []*schema.Message{dup}, r3, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunCreateWithThread with a taken message id: got %v, want store.ErrConflict", err)
		}
		_, err = b.s.ThreadGet(b.ctx, b.proj, th3.ID)
		assertNotFound(t, "ThreadGet after a failed create", err)
		if _, err := claim(b, "w", t0, r3.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a run whose create failed: got %v, want store.ErrNotFound", err)
		}
	})
	t.Run("OneActiveRunPerThread", func(t *testing.T) {
		t.Parallel()
		for _, status := range []string{schema.RunQueued, schema.RunInProgress, schema.RunRequiresAction, schema.RunCancelling} {
			b := setup(t, newStore)
			th := newThread(1)
			before := newMessage(th.ID, 1, "before")
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{before}))
			r := newRun(th.ID, 1, schema.RunQueued)
			must(t, "RunCreate", b.s.RunCreate(b.ctx, b.proj, r, nil, nil))
			r.Status = status
			must(t, "RunSave to "+status, b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r}))

			next := newRun(th.ID, 2, schema.RunQueued)
			if err := b.s.RunCreate(b.ctx, b.proj, next, []*schema.Message{newMessage(th.ID, 2, "x")}, nil); !errors.Is(err, store.ErrActiveRun) {
				t.Fatalf("RunCreate beside a %s run: got %v, want store.ErrActiveRun", status, err)
			}
			if err := b.s.MessageCreate(b.ctx, b.proj, newMessage(th.ID, 2, "y")); !errors.Is(err, store.ErrActiveRun) {
				t.Fatalf("MessageCreate beside a %s run: got %v, want store.ErrActiveRun", status, err)
			}
			if got := messageIDs(t, b, b.proj, th.ID, ""); !slices.Equal(got, []string{before.ID}) {
				t.Fatalf("refused writes beside a %s run left messages %v", status, got)
			}
			_, err := b.s.RunGet(b.ctx, b.proj, th.ID, next.ID)
			assertNotFound(t, "RunGet of a refused run", err)
			// Other threads are not affected, and a missing thread is
			// still not found.
			other := newThread(1)
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, other, nil))
			must(t, "MessageCreate in another thread", b.s.MessageCreate(b.ctx, b.proj, newMessage(other.ID, 1, "z")))
			must(t, "RunCreate in another thread", b.s.RunCreate(b.ctx, b.proj, newRun(other.ID, 1, schema.RunQueued), nil, nil))
			assertNotFound(t, "MessageCreate into a missing thread",
				b.s.MessageCreate(b.ctx, b.proj, newMessage("thread_missing", 1, "x")))
			assertNotFound(t, "MessageCreate from the other project",
				b.s.MessageCreate(b.ctx, b.other, newMessage(th.ID, 1, "x")))

			// A finished run frees the thread.
			r.Status = schema.RunCancelled
			must(t, "RunSave to cancelled", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r}))
			after := newMessage(th.ID, 3, "after")
			must(t, "MessageCreate after the run", b.s.MessageCreate(b.ctx, b.proj, after))
			must(t, "RunCreate after the run", b.s.RunCreate(b.ctx, b.proj, next, nil, nil))
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunInProgress)
		st := newStep(r, 1)
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Steps: []*schema.RunStep{st}}))
		sibling := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, sibling, nil))
		foreign := runWithThread(t, b, b.other, 1, schema.RunQueued)

		assertNotFound(t, "RunCreate into a missing thread",
			b.s.RunCreate(b.ctx, b.proj, newRun("thread_missing", 1, schema.RunQueued), nil, nil))
		assertNotFound(t, "RunCreate into a foreign thread",
			b.s.RunCreate(b.ctx, b.proj, newRun(foreign.ThreadID, 1, schema.RunQueued), nil, nil))

		lp := store.ListParams{Limit: 20, Order: store.OrderDesc}
		for _, c := range []struct{ name, proj, thread, run string }{
			{"missing run", b.proj, r.ThreadID, "run_missing"},
			{"other project", b.other, r.ThreadID, r.ID},
			{"other thread", b.proj, sibling.ID, r.ID},
			{"missing thread", b.proj, "thread_missing", r.ID},
		} {
			_, err := b.s.RunGet(b.ctx, c.proj, c.thread, c.run)
			assertNotFound(t, "RunGet "+c.name, err)
			_, err = b.s.RunStepGet(b.ctx, c.proj, c.thread, c.run, st.ID)
			assertNotFound(t, "RunStepGet "+c.name, err)
			_, err = b.s.RunStepList(b.ctx, c.proj, c.thread, c.run, lp)
			assertNotFound(t, "RunStepList "+c.name, err)
			moved := *r
			moved.ID, moved.ThreadID, moved.Status = c.run, c.thread, schema.RunFailed
			assertNotFound(t, "RunSave "+c.name, b.s.RunSave(b.ctx, c.proj, &store.RunSaveParams{Run: &moved}))
		}
		_, err := b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, "step_missing")
		assertNotFound(t, "RunStepGet of a missing step", err)
		_, err = b.s.RunList(b.ctx, b.proj, "thread_missing", lp)
		assertNotFound(t, "RunList of a missing thread", err)
		_, err = b.s.RunList(b.ctx, b.other, r.ThreadID, lp)
		assertNotFound(t, "RunList of my thread from the other project", err)
		_, err = b.s.RunList(b.ctx, b.proj, foreign.ThreadID, lp)
		assertNotFound(t, "RunList of a foreign thread", err)
		// A thread without runs lists none.
		page, err := b.s.RunList(b.ctx, b.proj, sibling.ID, lp)
		must(t, "RunList of a thread without runs", err)
		if len(page.Data) != 0 || page.HasMore {
			t.Fatalf("thread without runs lists %d runs", len(page.Data))
		}
		if _, err := claim(b, "w", t0, "run_missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a missing run: got %v, want store.ErrNotFound", err)
		}
		// Nothing above changed the run or its step.
		assertRun(t, b, b.proj, r)
		got, err := b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, st.ID)
		must(t, "RunStepGet", err)
		assertJSONEqual(t, got, st)
	})
	t.Run("SaveStepsAndMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		user := newMessage(r.ThreadID, 1, "question")
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Messages: []*schema.Message{user}}))

		r.Status, r.StartedAt = schema.RunInProgress, ptr(int64(2))
		s1 := newStep(r, 2)
		m1 := newMessage(r.ThreadID, 2, "")
		m1.Role, m1.AssistantID, m1.RunID = "assistant", ptr(r.AssistantID), ptr(r.ID)
		m1.Status, m1.CompletedAt = schema.MessageStatusInProgress, nil
		s1.StepDetails.MessageCreation.MessageID = m1.ID
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: r, ExpectStatus: schema.RunQueued, Steps: []*schema.RunStep{s1}, Messages: []*schema.Message{m1},
		}))
		s2 := newStep(r, 3)
		s2.Type = schema.StepToolCalls
		s2.StepDetails = schema.StepDetails{Type: schema.StepToolCalls, ToolCalls: []schema.ToolCall{}}
		m2 := newMessage(r.ThreadID, 3, "later")
		m2.Role, m2.RunID = "assistant", ptr(r.ID)
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: r, ExpectStatus: schema.RunInProgress, Steps: []*schema.RunStep{s2}, Messages: []*schema.Message{m2},
		}))

		// Replacing the first step and message keeps their positions.
		s1.Status, s1.CompletedAt = schema.StepCompleted, ptr(int64(4))
		s1.Usage = &schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}
		m1.Content = []schema.ContentPart{schema.TextPart("answer")}
		m1.Status, m1.CompletedAt = schema.MessageStatusCompleted, ptr(int64(4))
		r.Status, r.CompletedAt = schema.RunCompleted, ptr(int64(4))
		r.Usage = &schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: r, ExpectStatus: schema.RunInProgress, Steps: []*schema.RunStep{s1}, Messages: []*schema.Message{m1},
		}))
		assertRun(t, b, b.proj, r)
		if got, want := stepIDs(t, b, b.proj, r), []string{s1.ID, s2.ID}; !slices.Equal(got, want) {
			t.Fatalf("steps = %v, want %v", got, want)
		}
		gotStep, err := b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, s1.ID)
		must(t, "RunStepGet", err)
		assertJSONEqual(t, gotStep, s1)
		gotStep, err = b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, s2.ID)
		must(t, "RunStepGet", err)
		assertJSONEqual(t, gotStep, s2)
		if got, want := messageIDs(t, b, b.proj, r.ThreadID, ""), []string{user.ID, m1.ID, m2.ID}; !slices.Equal(got, want) {
			t.Fatalf("messages = %v, want %v", got, want)
		}
		if got, want := messageIDs(t, b, b.proj, r.ThreadID, r.ID), []string{m1.ID, m2.ID}; !slices.Equal(got, want) {
			t.Fatalf("messages of the run = %v, want %v", got, want)
		}
		gotMsg, err := b.s.MessageGet(b.ctx, b.proj, r.ThreadID, m1.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, gotMsg, m1)

		// Steps and messages must be the run's; ids taken elsewhere are
		// conflicts; a refused save writes nothing.
		other := runWithThread(t, b, b.proj, 5, schema.RunInProgress)
		saved := *other
		otherStep, otherMsg := newStep(other, 5), newMessage(other.ThreadID, 5, "other")
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: other, Steps: []*schema.RunStep{otherStep}, Messages: []*schema.Message{otherMsg},
		}))
		changed := *other
		changed.Status = schema.RunFailed
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &changed, Steps: []*schema.RunStep{newStep(r, 6)}}); err == nil {
			t.Fatalf("RunSave accepted a step of another run")
		}
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &changed, Messages: []*schema.Message{newMessage(r.ThreadID, 6, "x")}}); err == nil {
			t.Fatalf("RunSave accepted a message of another thread")
		}
		stolenStep := newStep(other, 6)
		stolenStep.ID = s1.ID
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &changed, Steps: []*schema.RunStep{stolenStep}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunSave with a step id of another run: got %v, want store.ErrConflict", err)
		}
		stolenMsg := newMessage(other.ThreadID, 6, "stolen")
		stolenMsg.ID = m1.ID
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &changed, Messages: []*schema.Message{stolenMsg}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunSave with a message id of another thread: got %v, want store.ErrConflict", err)
		}
		assertRun(t, b, b.proj, &saved)
		gotStep, err = b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, s1.ID)
		must(t, "RunStepGet", err)
		assertJSONEqual(t, gotStep, s1)
		gotMsg, err = b.s.MessageGet(b.ctx, b.proj, r.ThreadID, m1.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, gotMsg, m1)
		if got := stepIDs(t, b, b.proj, other); !slices.Equal(got, []string{otherStep.ID}) {
			t.Fatalf("refused saves changed the other run's steps: %v", got)
		}
	})
	t.Run("SaveGuards", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		c, err := claim(b, "worker-a", t0, r.ID)
		must(t, "RunClaim", err)
		assertJSONEqual(t, c.Run, r)
		saved := *r

		// ExpectStatus mismatch: ErrConflict, nothing written.
		next := *r
		next.Status = schema.RunInProgress
		st, m := newStep(&next, 2), newMessage(r.ThreadID, 2, "x")
		m.RunID = ptr(r.ID)
		err = b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: &next, ExpectStatus: schema.RunCancelling, Owner: "worker-a",
			Steps: []*schema.RunStep{st}, Messages: []*schema.Message{m},
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunSave with a stale ExpectStatus: got %v, want store.ErrConflict", err)
		}
		// Wrong owner: ErrLeaseLost, nothing written.
		err = b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: &next, ExpectStatus: schema.RunQueued, Owner: "worker-b",
			Steps: []*schema.RunStep{st}, Messages: []*schema.Message{m},
		})
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunSave by a non-owner: got %v, want store.ErrLeaseLost", err)
		}
		assertRun(t, b, b.proj, &saved)
		if got := stepIDs(t, b, b.proj, r); len(got) != 0 {
			t.Fatalf("refused saves wrote steps %v", got)
		}
		if got := messageIDs(t, b, b.proj, r.ThreadID, ""); len(got) != 0 {
			t.Fatalf("refused saves wrote messages %v", got)
		}
		// The owner with the right status succeeds, and keeps the lease.
		must(t, "RunSave by the owner", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: &next, ExpectStatus: schema.RunQueued, Owner: "worker-a",
			Steps: []*schema.RunStep{st}, Messages: []*schema.Message{m},
		}))
		assertRun(t, b, b.proj, &next)
		if _, err := claim(b, "worker-b", t0.Add(time.Second), r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a run leased to another owner: got %v, want store.ErrNotFound", err)
		}
		must(t, "RunLeaseRenew", b.s.RunLeaseRenew(b.ctx, r.ID, "worker-a", t0.Add(time.Minute)))
		// Saving without an owner (an API cancel) is not guarded.
		cancelling := next
		cancelling.Status = schema.RunCancelling
		must(t, "RunSave without owner", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{
			Run: &cancelling, ExpectStatus: schema.RunInProgress,
		}))
		// The executor's stale transition now conflicts.
		done := next
		done.Status = schema.RunCompleted
		err = b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &done, ExpectStatus: schema.RunInProgress, Owner: "worker-a"})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunSave after a cancel: got %v, want store.ErrConflict", err)
		}
		assertRun(t, b, b.proj, &cancelling)
	})
	t.Run("SaveRunUnchanged", func(t *testing.T) {
		t.Parallel()
		// An executor opening a message or tool step saves only those, with
		// every guard still checked.
		b := setup(t, newStore)
		r := claimedRun(t, b, "worker-a")
		r.Status = schema.RunInProgress
		must(t, "RunSave in_progress", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, ExpectStatus: schema.RunQueued, Owner: "worker-a"}))
		st, m := newStep(r, 2), newMessage(r.ThreadID, 2, "")
		m.Role, m.RunID = "assistant", ptr(r.ID)
		// The run passed is not written: its change must not show.
		unwritten := *r
		unwritten.Instructions = "not written"
		open := func(owner, expect string) error {
			return b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &unwritten, RunUnchanged: true, Owner: owner, ExpectStatus: expect,
				Steps: []*schema.RunStep{st}, Messages: []*schema.Message{m}})
		}
		if err := open("worker-b", schema.RunInProgress); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunUnchanged save by a non-owner: got %v, want store.ErrLeaseLost", err)
		}
		if err := open("worker-a", schema.RunQueued); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RunUnchanged save with a stale ExpectStatus: got %v, want store.ErrConflict", err)
		}
		if got := stepIDs(t, b, b.proj, r); len(got) != 0 {
			t.Fatalf("refused saves wrote steps %v", got)
		}
		if got := messageIDs(t, b, b.proj, r.ThreadID, ""); len(got) != 0 {
			t.Fatalf("refused saves wrote messages %v", got)
		}
		must(t, "RunUnchanged save by the owner", open("worker-a", schema.RunInProgress))
		assertRun(t, b, b.proj, r)
		if got := stepIDs(t, b, b.proj, r); !slices.Equal(got, []string{st.ID}) {
			t.Fatalf("steps = %v, want [%s]", got, st.ID)
		}
		gotMsg, err := b.s.MessageGet(b.ctx, b.proj, r.ThreadID, m.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, gotMsg, m)
		// A run that is gone is not found.
		gone := *r
		gone.ID = schema.NewID(schema.PrefixRun)
		err = b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &gone, RunUnchanged: true, Owner: "worker-a"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunUnchanged save of a missing run: got %v, want store.ErrNotFound", err)
		}
	})
	t.Run("SaveKeepMetadata", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		// The API updates the metadata...
		updated := *r
		updated.Metadata = schema.Metadata{"tier": "gold"}
		must(t, "RunSave metadata", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &updated, ExpectStatus: schema.RunQueued}))
		// ...and an executor holding the old copy moves the run on.
		stale := *r
		stale.Status = schema.RunInProgress
		must(t, "RunSave KeepMetadata", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &stale, ExpectStatus: schema.RunQueued, KeepMetadata: true}))
		want := stale
		want.Metadata = updated.Metadata
		assertRun(t, b, b.proj, &want)
		// Without KeepMetadata the run is written whole.
		stale.Status = schema.RunCompleted
		must(t, "RunSave whole", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &stale}))
		assertRun(t, b, b.proj, &stale)
	})
	t.Run("ThreadDeleteWhileSaving", func(t *testing.T) {
		t.Parallel()
		// An executor keeps saving steps and messages while the client
		// deletes the thread: the delete succeeds and the executor's next
		// save says the run is gone — never another error (no deadlock
		// surfaces, whatever the backend's locking).
		b := setup(t, newStore)
		for i := range 6 {
			r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
			_, err := claim(b, "worker", t0, r.ID)
			must(t, "RunClaim", err)
			running := *r
			running.Status = schema.RunInProgress
			saved := make(chan error, 1)
			go func() {
				expect := schema.RunQueued
				for n := int64(2); ; n++ {
					m := newMessage(r.ThreadID, n, "x")
					m.RunID = ptr(r.ID)
					err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: &running, ExpectStatus: expect, Owner: "worker",
						Steps: []*schema.RunStep{newStep(&running, n)}, Messages: []*schema.Message{m}})
					if err != nil {
						saved <- err
						return
					}
					expect = schema.RunInProgress
				}
			}()
			time.Sleep(time.Duration(i) * time.Millisecond)
			if err := b.s.ThreadDelete(b.ctx, b.proj, r.ThreadID); err != nil {
				t.Fatalf("ThreadDelete while the run saves: %v", err)
			}
			if err := <-saved; !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("RunSave after the thread was deleted: got %v, want store.ErrNotFound or store.ErrLeaseLost", err)
			}
		}
	})
	t.Run("LeaseRelease", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := claimedRun(t, b, "worker-a")
		r.Status = schema.RunRequiresAction
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Owner: "worker-a"}))
		// Waiting for the client releases the lease.
		if err := b.s.RunLeaseRenew(b.ctx, r.ID, "worker-a", t0.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew after requires_action: got %v, want store.ErrLeaseLost", err)
		}
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Owner: "worker-a"}); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunSave by the former owner: got %v, want store.ErrLeaseLost", err)
		}
		// A requires_action run is not claimable, even with time passing.
		if _, err := claim(b, "worker-b", t0, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a requires_action run: got %v, want store.ErrNotFound", err)
		}
		// Tool outputs queue it again: claimable at once. Its attempts
		// count again from 1: they bound the interruptions of one stretch
		// of execution, and waiting for the client was none.
		r.Status = schema.RunQueued
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, ExpectStatus: schema.RunRequiresAction}))
		c, err := claim(b, "worker-b", t0, "")
		must(t, "RunClaim after submit", err)
		if c.Run.ID != r.ID || c.Attempts != 1 {
			t.Fatalf("RunClaim after submit = %s attempt %d, want %s attempt 1", c.Run.ID, c.Attempts, r.ID)
		}
		// A terminal status releases it too, for good.
		r.Status = schema.RunCompleted
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Owner: "worker-b"}))
		if err := b.s.RunLeaseRenew(b.ctx, r.ID, "worker-b", t0.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew after completion: got %v, want store.ErrLeaseLost", err)
		}
		if _, err := claim(b, "worker-c", t0.Add(time.Hour), ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a completed run: got %v, want store.ErrNotFound", err)
		}
	})
	t.Run("Claim", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		if _, err := claim(b, "w", t0, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of an empty store: got %v, want store.ErrNotFound", err)
		}
		// Runs that are never claimable.
		for _, status := range []string{schema.RunRequiresAction, schema.RunCompleted, schema.RunFailed, schema.RunCancelled, schema.RunExpired, schema.RunIncomplete} {
			runWithThread(t, b, b.proj, 1, status)
		}
		if _, err := claim(b, "w", t0, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim with nothing claimable: got %v, want store.ErrNotFound", err)
		}
		// Claimable runs, oldest first, across projects.
		r1 := runWithThread(t, b, b.proj, 2, schema.RunQueued)
		r2 := runWithThread(t, b, b.other, 2, schema.RunInProgress)
		r3 := runWithThread(t, b, b.proj, 2, schema.RunCancelling)
		r4 := runWithThread(t, b, b.proj, 2, schema.RunQueued)

		// The RunID filter takes that run only, out of order.
		c, err := claim(b, "worker-a", t0, r4.ID)
		must(t, "RunClaim by id", err)
		if c.Run.ID != r4.ID || c.ProjectID != b.proj || c.Attempts != 1 {
			t.Fatalf("RunClaim by id = %s of %s attempt %d, want %s of %s attempt 1", c.Run.ID, c.ProjectID, c.Attempts, r4.ID, b.proj)
		}
		assertJSONEqual(t, c.Run, r4)
		if _, err := claim(b, "worker-b", t0, r4.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim by id of a leased run: got %v, want store.ErrNotFound", err)
		}
		for _, want := range []struct {
			run  *schema.Run
			proj string
		}{{r1, b.proj}, {r2, b.other}, {r3, b.proj}} {
			c, err := claim(b, "worker-a", t0, "")
			must(t, "RunClaim", err)
			if c.Run.ID != want.run.ID || c.ProjectID != want.proj || c.Attempts != 1 {
				t.Fatalf("RunClaim = %s of %s attempt %d, want %s of %s attempt 1", c.Run.ID, c.ProjectID, c.Attempts, want.run.ID, want.proj)
			}
			assertJSONEqual(t, c.Run, want.run)
		}
		// Everything is leased until t0+30s.
		if _, err := claim(b, "worker-b", t0.Add(29*time.Second), ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim with every run leased: got %v, want store.ErrNotFound", err)
		}
		// worker-a renews r1 only, then dies: worker-b takes over the
		// others once their leases lapse, oldest first.
		must(t, "RunLeaseRenew", b.s.RunLeaseRenew(b.ctx, r1.ID, "worker-a", t0.Add(time.Hour)))
		later := t0.Add(31 * time.Second)
		for _, want := range []*schema.Run{r2, r3, r4} {
			c, err := claim(b, "worker-b", later, "")
			must(t, "RunClaim of a lapsed lease", err)
			if c.Run.ID != want.ID || c.Attempts != 2 {
				t.Fatalf("takeover claimed %s attempt %d, want %s attempt 2", c.Run.ID, c.Attempts, want.ID)
			}
		}
		if _, err := claim(b, "worker-b", later, r1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a renewed lease: got %v, want store.ErrNotFound", err)
		}
		// The dead owner's writes are refused; the new owner's are not.
		r4.Status = schema.RunInProgress
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r4, Owner: "worker-a"}); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunSave by the previous owner: got %v, want store.ErrLeaseLost", err)
		}
		if err := b.s.RunLeaseRenew(b.ctx, r4.ID, "worker-a", later.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew by the previous owner: got %v, want store.ErrLeaseLost", err)
		}
		must(t, "RunSave by the new owner", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r4, Owner: "worker-b"}))
		// A third takeover counts a third attempt.
		c, err = claim(b, "worker-c", later.Add(time.Minute), r4.ID)
		must(t, "RunClaim", err)
		if c.Attempts != 3 {
			t.Fatalf("third claim counts attempt %d, want 3", c.Attempts)
		}
		assertJSONEqual(t, c.Run, r4)
	})
	t.Run("CreateLeased", func(t *testing.T) {
		t.Parallel()
		// A run created with a lease is its owner's first claim: nobody
		// else claims it before the lease lapses, its owner's saves pass,
		// and a takeover counts the second attempt.
		b := setup(t, newStore)
		lease := &store.Lease{Owner: "creator", Until: t0.Add(30 * time.Second)}
		th := newThread(1)
		r1 := newRun(th.ID, 1, schema.RunQueued)
		must(t, "RunCreateWithThread leased", b.s.RunCreateWithThread(b.ctx, b.proj, th, nil, r1, lease))
		th2 := newThread(2)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th2, nil))
		r2 := newRun(th2.ID, 2, schema.RunQueued)
		must(t, "RunCreate leased", b.s.RunCreate(b.ctx, b.proj, r2, nil, lease))
		if _, err := claim(b, "other", t0.Add(29*time.Second), ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of runs created leased: got %v, want store.ErrNotFound", err)
		}
		if runs, err := b.s.RunsClaimable(b.ctx, t0.Add(29*time.Second), 10); err != nil || len(runs) != 0 {
			t.Fatalf("RunsClaimable within the lease = %d runs, %v; want none", len(runs), err)
		}
		r1.Status = schema.RunInProgress
		must(t, "RunSave by the creator", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r1, Owner: "creator"}))
		if err := b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r2, Owner: "other"}); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunSave by another owner: got %v, want store.ErrLeaseLost", err)
		}
		for _, want := range []*schema.Run{r1, r2} {
			c, err := claim(b, "other", t0.Add(31*time.Second), "")
			must(t, "RunClaim after the lease lapsed", err)
			if c.Run.ID != want.ID || c.Attempts != 2 {
				t.Fatalf("takeover claimed %s attempt %d, want %s attempt 2", c.Run.ID, c.Attempts, want.ID)
			}
		}
	})
	t.Run("ClaimConcurrent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		const claimers = 8
		for round := range 3 {
			// round 0: one run, 8 claimers. Rounds 1-2: 3 runs.
			n := 1 + 2*min(round, 1)
			want := make(map[string]*schema.Run)
			for range n {
				r := runWithThread(t, b, b.proj, int64(round), schema.RunQueued)
				want[r.ID] = r
			}
			now := t0.Add(time.Duration(round) * time.Hour)
			var (
				mu  sync.Mutex
				won = make(map[string]int)
				wg  sync.WaitGroup
			)
			for i := range claimers {
				wg.Go(func() {
					c, err := claim(b, string(rune('a'+i)), now, "")
					if errors.Is(err, store.ErrNotFound) {
						return
					}
					if err != nil {
						t.Errorf("RunClaim: %v", err)
						return
					}
					mu.Lock()
					won[c.Run.ID]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(won) != n {
				t.Fatalf("round %d: %d claimers won runs %v, want each of %d runs claimed once", round, len(won), won, n)
			}
			for id, k := range won {
				if want[id] == nil || k != 1 {
					t.Fatalf("round %d: run %s claimed %d times (known %v)", round, id, k, want[id] != nil)
				}
			}
			// Finish them so the next round starts clean.
			for _, r := range want {
				r.Status = schema.RunCompleted
				must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r}))
			}
		}
	})
	t.Run("LeaseRenew", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		if err := b.s.RunLeaseRenew(b.ctx, r.ID, "worker-a", t0.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew of an unleased run: got %v, want store.ErrLeaseLost", err)
		}
		if err := b.s.RunLeaseRenew(b.ctx, "run_missing", "worker-a", t0.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew of a missing run: got %v, want store.ErrLeaseLost", err)
		}
		_, err := claim(b, "worker-a", t0, "") // leased until t0+30s
		must(t, "RunClaim", err)
		if err := b.s.RunLeaseRenew(b.ctx, r.ID, "worker-b", t0.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunLeaseRenew by a non-owner: got %v, want store.ErrLeaseLost", err)
		}
		must(t, "RunLeaseRenew", b.s.RunLeaseRenew(b.ctx, r.ID, "worker-a", t0.Add(90*time.Second)))
		if _, err := claim(b, "worker-b", t0.Add(89*time.Second), ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim before the renewed lease lapses: got %v, want store.ErrNotFound", err)
		}
		c, err := claim(b, "worker-b", t0.Add(91*time.Second), "")
		must(t, "RunClaim after the renewed lease lapsed", err)
		if c.Run.ID != r.ID || c.Attempts != 2 {
			t.Fatalf("takeover = %s attempt %d, want %s attempt 2", c.Run.ID, c.Attempts, r.ID)
		}
		// A lapsed lease nobody took over is still its owner's to renew.
		r2 := runWithThread(t, b, b.proj, 2, schema.RunQueued)
		_, err = claim(b, "worker-c", t0, r2.ID)
		must(t, "RunClaim", err)
		must(t, "RunLeaseRenew of a lapsed lease", b.s.RunLeaseRenew(b.ctx, r2.ID, "worker-c", t0.Add(2*time.Hour)))
		if _, err := claim(b, "worker-d", t0.Add(time.Hour), r2.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim of a renewed lease: got %v, want store.ErrNotFound", err)
		}
	})
	t.Run("Due", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		// newRun sets expires_at = created_at + 600.
		mk := func(proj string, createdAt int64, status string) *schema.Run {
			return runWithThread(t, b, proj, createdAt, status)
		}
		q1 := mk(b.proj, 100, schema.RunQueued)          // expires 700
		ra := mk(b.other, 200, schema.RunRequiresAction) // expires 800
		mk(b.proj, 100, schema.RunInProgress)            // executing: not due
		mk(b.proj, 100, schema.RunCancelling)            // not due
		mk(b.proj, 100, schema.RunCompleted)             // final: not due
		mk(b.proj, 100, schema.RunExpired)               // final: not due
		q2 := mk(b.proj, 300, schema.RunQueued)          // expires 900
		noDeadline := mk(b.proj, 100, schema.RunQueued)
		noDeadline.ExpiresAt = nil
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: noDeadline}))

		due := func(now int64, limit int) []string {
			t.Helper()
			runs, err := b.s.RunsDue(b.ctx, now, limit)
			must(t, "RunsDue", err)
			var out []string
			for _, c := range runs {
				out = append(out, c.Run.ID)
				want := b.proj
				if c.Run.ID == ra.ID {
					want = b.other
				}
				if c.ProjectID != want {
					t.Fatalf("RunsDue: run %s of project %s, want %s", c.Run.ID, c.ProjectID, want)
				}
			}
			return out
		}
		if got := due(700, 10); len(got) != 0 {
			t.Fatalf("RunsDue(700) = %v, want none (expires_at must be before now)", got)
		}
		if got, want := due(701, 10), []string{q1.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsDue(701) = %v, want %v", got, want)
		}
		if got, want := due(10_000, 10), []string{q1.ID, ra.ID, q2.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsDue(10000) = %v, want %v", got, want)
		}
		if got, want := due(10_000, 2), []string{q1.ID, ra.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsDue(10000, limit 2) = %v, want %v", got, want)
		}
		// Expiring one takes it off the list.
		q1.Status, q1.ExpiresAt = schema.RunExpired, ptr(int64(700))
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: q1, ExpectStatus: schema.RunQueued}))
		if got, want := due(10_000, 10), []string{ra.ID, q2.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsDue after expiring %s = %v, want %v", q1.ID, got, want)
		}
	})
	t.Run("Claimable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		q := runWithThread(t, b, b.proj, 100, schema.RunQueued)
		ip := runWithThread(t, b, b.other, 100, schema.RunInProgress)
		cl := runWithThread(t, b, b.proj, 100, schema.RunCancelling)
		runWithThread(t, b, b.proj, 100, schema.RunRequiresAction) // waits for the client
		runWithThread(t, b, b.proj, 100, schema.RunCompleted)      // final
		claimable := func(now time.Time, limit int) []string {
			t.Helper()
			runs, err := b.s.RunsClaimable(b.ctx, now, limit)
			must(t, "RunsClaimable", err)
			var out []string
			for _, c := range runs {
				out = append(out, c.Run.ID)
				if want := map[bool]string{true: b.other, false: b.proj}[c.Run.ID == ip.ID]; c.ProjectID != want {
					t.Fatalf("RunsClaimable: run %s of project %s, want %s", c.Run.ID, c.ProjectID, want)
				}
			}
			return out
		}
		if got, want := claimable(t0, 10), []string{q.ID, ip.ID, cl.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsClaimable = %v, want %v", got, want)
		}
		if got, want := claimable(t0, 1), []string{q.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsClaimable(limit 1) = %v, want %v", got, want)
		}
		// A live lease hides a run until it lapses.
		_, err := b.s.RunClaim(b.ctx, store.RunClaimParams{Owner: "w", Now: t0, LeaseUntil: t0.Add(time.Minute), RunID: ip.ID})
		must(t, "RunClaim", err)
		if got, want := claimable(t0.Add(59*time.Second), 10), []string{q.ID, cl.ID}; !slices.Equal(got, want) {
			t.Fatalf("RunsClaimable with a live lease = %v, want %v", got, want)
		}
		runs, err := b.s.RunsClaimable(b.ctx, t0.Add(61*time.Second), 10)
		must(t, "RunsClaimable", err)
		if len(runs) != 3 || runs[1].Run.ID != ip.ID || runs[1].Attempts != 1 {
			t.Fatalf("RunsClaimable after the lease lapsed: %+v", runs)
		}
	})
	t.Run("ThreadDeleteRemovesRuns", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		r := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		st := newStep(r, 1)
		m := newMessage(r.ThreadID, 1, "m")
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Steps: []*schema.RunStep{st}, Messages: []*schema.Message{m}}))
		kept := runWithThread(t, b, b.proj, 1, schema.RunQueued)
		keptStep := newStep(kept, 1)
		must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: kept, Steps: []*schema.RunStep{keptStep}}))

		assertNotFound(t, "ThreadDelete from the other project", b.s.ThreadDelete(b.ctx, b.other, r.ThreadID))
		must(t, "ThreadDelete", b.s.ThreadDelete(b.ctx, b.proj, r.ThreadID))
		_, err := b.s.RunGet(b.ctx, b.proj, r.ThreadID, r.ID)
		assertNotFound(t, "RunGet after ThreadDelete", err)
		_, err = b.s.RunStepGet(b.ctx, b.proj, r.ThreadID, r.ID, st.ID)
		assertNotFound(t, "RunStepGet after ThreadDelete", err)
		_, err = b.s.RunStepList(b.ctx, b.proj, r.ThreadID, r.ID, store.ListParams{Limit: 20})
		assertNotFound(t, "RunStepList after ThreadDelete", err)
		if _, err := claim(b, "w", t0, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RunClaim after ThreadDelete: got %v, want store.ErrNotFound", err)
		}
		runs, err := b.s.RunsDue(b.ctx, 1<<40, 10)
		must(t, "RunsDue", err)
		if len(runs) != 1 || runs[0].Run.ID != kept.ID {
			t.Fatalf("RunsDue after ThreadDelete lists %d runs, want only %s", len(runs), kept.ID)
		}
		// The ids are free again: nothing of the deleted thread remains.
		th := newThread(2)
		again := newRun(th.ID, 2, schema.RunQueued)
		again.ID = r.ID
		must(t, "RunCreateWithThread reusing the deleted ids", b.s.RunCreateWithThread(b.ctx, b.proj, th, nil, again, nil))
		st.ThreadID = th.ID
		must(t, "RunSave reusing the deleted step id", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: again, Steps: []*schema.RunStep{st}}))
		// The other thread's run is untouched.
		assertRun(t, b, b.proj, kept)
		if got := stepIDs(t, b, b.proj, kept); !slices.Equal(got, []string{keptStep.ID}) {
			t.Fatalf("other run's steps = %v, want [%s]", got, keptStep.ID)
		}
	})
}
