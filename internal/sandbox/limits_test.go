package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/sandbox"
)

func TestProject(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"proj/thread_1": "proj",
		"proj/a/b":      "proj",
		"solo":          "solo",
		"/x":            "",
	} {
		if got := sandbox.Project(key); got != want {
			t.Errorf("Project(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestProjectLimitEndsProjectsLeastRecentlyUsed: over a project's cap, that
// project's least recently used idle session ends, not another project's
// (even an older one).
func TestProjectLimitEndsProjectsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	obs := &recorder{}
	m, _ := newManager(t, func(c *sandbox.Config) {
		c.MaxSessions = 8
		c.MaxSessionsPerProject = 2
		c.Observer = obs
	})
	run(t, m, "q/old", "x = 'q'")
	run(t, m, "p/t1", "x = 1")
	run(t, m, "p/t2", "x = 2")
	run(t, m, "p/t1", "x")
	run(t, m, "p/t3", "x = 3") // p/t2 is p's least recently used
	if n := m.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	wantOutput(t, run(t, m, "q/old", "x"), "'q'\n")
	wantOutput(t, run(t, m, "p/t1", "x"), "1\n")
	if res := run(t, m, "p/t2", "x"); !strings.Contains(res.Output, "NameError") {
		t.Fatalf("p/t2 survived the project limit: %q", res.Output)
	}
	if got := obs.evicted("project"); got < 1 {
		t.Fatalf("project evictions observed: %d", got)
	}
}

// TestProjectLimitAllBusy: when every session of a project is executing,
// a new one of that project fails with ErrProjectBusy, while other projects
// still get sessions.
func TestProjectLimitAllBusy(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) {
		c.MaxSessions = 4
		c.MaxSessionsPerProject = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.Exec(ctx, "p/busy", "import time\ntime.sleep(2)", nil)
	}()
	for m.Sessions() == 0 { // the session is live (and busy) from acquire on
		time.Sleep(10 * time.Millisecond)
	}
	_, err := m.Exec(ctx, "p/other", "print(1)", nil)
	if !errors.Is(err, sandbox.ErrProjectBusy) || !strings.Contains(err.Error(), `"p"`) {
		t.Fatalf("Exec in a full project: %v, want ErrProjectBusy naming the project", err)
	}
	wantOutput(t, run(t, m, "q/t", "print('q')"), "q\n")
	wg.Wait()
	// Once idle, the busy session is the one that makes room.
	wantOutput(t, run(t, m, "p/other", "print(2)"), "2\n")
}

// TestServerLimitAllBusy: MaxSessions sessions all executing → ErrBusy.
func TestServerLimitAllBusy(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) { c.MaxSessions = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Exec(ctx, "p/a", "import time\ntime.sleep(2)", nil)
	}()
	for m.Sessions() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.Exec(ctx, "q/b", "print(1)", nil); !errors.Is(err, sandbox.ErrBusy) {
		t.Fatalf("Exec with every session busy: %v, want ErrBusy", err)
	}
	<-done
}

// TestObserverOutcomes: each execution is reported once with its outcome.
func TestObserverOutcomes(t *testing.T) {
	t.Parallel()
	obs := &recorder{}
	m, _ := newManager(t, func(c *sandbox.Config) {
		c.Observer = obs
		c.ExecTimeout = time.Second
	})
	if err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, m, "p/t", "print(1)")
	run(t, m, "p/t", "1/0")
	run(t, m, "p/t", "while True: pass")
	run(t, m, "p/t", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Exec(ctx, "p/t", "print(1)", nil); err == nil {
		t.Fatal("Exec with a cancelled context succeeded")
	}
	want := []sandbox.Outcome{sandbox.OutcomeOK, sandbox.OutcomeError, sandbox.OutcomeTimeout, sandbox.OutcomeRestarted, sandbox.OutcomeFailed}
	got := obs.outcomes()
	if len(got) != len(want) {
		t.Fatalf("outcomes %v, want %v (the self test is not counted)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
	}
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	execs []sandbox.Outcome
	evict map[string]int
}

func (r *recorder) Executed(o sandbox.Outcome, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.execs = append(r.execs, o)
}

func (r *recorder) SessionEvicted(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.evict == nil {
		r.evict = make(map[string]int)
	}
	r.evict[reason]++
}

func (r *recorder) outcomes() []sandbox.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sandbox.Outcome(nil), r.execs...)
}

func (r *recorder) evicted(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evict[reason]
}
