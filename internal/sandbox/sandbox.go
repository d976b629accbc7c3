// Package sandbox runs the code_interpreter's Python code: one long-lived
// python3 process per session (per project and thread) inside a bubblewrap
// sandbox, so that variables, imports and files persist between executions.
//
// Isolation: bwrap unshares every namespace (the network namespace has only
// loopback), binds /usr read-only with a few files of /etc that Python and
// matplotlib need, mounts a private /proc, a minimal /dev, a size-capped tmpfs
// on /tmp and the session's own host directory on /mnt/data, and clears the
// environment. When the server runs as root, the sandbox runs as an
// unprivileged host uid (SandboxUID, nobody by default), because the kernel
// exempts root from RLIMIT_NPROC. The driver inside sets hard rlimits on
// address space, processes, file size and open files before it runs any code,
// and reports them; a session whose limits are not the configured ones is
// refused. Where cgroups are available (v1 memory and pids hierarchies, or
// v2 with those controllers, writable: normally as root), each session's
// process also runs in a cgroup of its own, made under the server's cgroup,
// that caps the memory of the whole session (SessionMemoryBytes, without
// swap) and its number of processes; bwrap is started behind a gate that
// opens only once it is in the cgroup, so nothing of the sandbox runs
// outside it, and the cgroup is removed when the process is gone.
// CPU time is limited per execution with a soft RLIMIT_CPU. The
// server adds a wall-clock timeout per execution, a cap on captured output,
// and a cap on the workspace size (checked while code runs; a session over it
// is ended and the files written by that execution are removed).
//
// Code is never run without the sandbox: when bwrap is missing or fails, Exec
// and Check return an error.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxSessions       = 32
	DefaultIdleTimeout       = time.Hour
	DefaultExecTimeout       = 60 * time.Second
	DefaultStartTimeout      = 10 * time.Second
	DefaultMemoryBytes       = 2 << 30
	DefaultSessionMemory     = 2 << 30
	DefaultCPUSeconds        = 60
	DefaultMaxProcs          = 64
	DefaultMaxFileBytes      = 256 << 20
	DefaultMaxOpenFiles      = 256
	DefaultMaxOutputBytes    = 1 << 20
	DefaultMaxWorkspaceBytes = 1 << 30
	DefaultMaxWorkspaceFiles = 10000
	DefaultTmpBytes          = 64 << 20
	DefaultMaxFigures        = 10
	DefaultSandboxUID        = 65534
	DefaultPython            = "/usr/bin/python3"
	DefaultBwrap             = "bwrap"
)

// ErrClosed is returned by Exec after Close.
var ErrClosed = errors.New("sandbox: manager closed")

// ErrBusy is returned when MaxSessions sessions are all executing code.
var ErrBusy = errors.New("sandbox: too many concurrent sessions")

// ErrProjectBusy is returned (wrapped, naming the project) when a project's
// MaxSessionsPerProject sessions are all executing code.
var ErrProjectBusy = errors.New("sandbox: too many concurrent sessions in the project")

// Outcome classifies one execution for metrics.
type Outcome string

// The outcomes of an execution.
const (
	// OutcomeOK: the code ran to its end without raising.
	OutcomeOK Outcome = "ok"
	// OutcomeError: the code raised an exception (a traceback for the model).
	OutcomeError Outcome = "error"
	// OutcomeTimeout: the execution hit the wall-clock timeout.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeRestarted: the interpreter ended during the execution (crash,
	// kill, limit, workspace overflow) and the session restarts.
	OutcomeRestarted Outcome = "restarted"
	// OutcomeFailed: Exec returned an error (no session to be had, the
	// session did not start, cancelled, bad input files).
	OutcomeFailed Outcome = "failed"
)

// Observer receives measurements from a Manager (internal/metrics
// implements it). Its methods must be safe for concurrent use and fast.
type Observer interface {
	// Executed reports one execution through Exec: its outcome and its
	// wall time, including the start of the session when it had none.
	Executed(outcome Outcome, d time.Duration)
	// SessionEvicted reports a live idle session ended to make room for a
	// new one: reason is "server" (MaxSessions) or "project"
	// (MaxSessionsPerProject).
	SessionEvicted(reason string)
}

// Config configures a Manager. Zero fields take the Default values.
type Config struct {
	// Root is a directory owned by the manager: each session's /mnt/data is
	// a directory under it. Stale session directories are removed by
	// NewManager. When the server runs as root, its parents must be
	// traversable by SandboxUID.
	Root string
	// MaxSessions bounds live sessions; the least recently used idle one
	// ends when a new one is needed.
	MaxSessions int
	// MaxSessionsPerProject bounds the live sessions of one project (the
	// part of the session key before its first "/"): over it, the
	// project's least recently used idle session ends first, and when all
	// of them are executing code Exec fails with ErrProjectBusy. Zero (or
	// more than MaxSessions) means MaxSessions.
	MaxSessionsPerProject int
	// IdleTimeout ends a session (and removes its files) after this long
	// without an execution.
	IdleTimeout time.Duration
	// ExecTimeout is the wall-clock limit of one execution.
	ExecTimeout time.Duration
	// StartTimeout bounds the start of a session's process.
	StartTimeout time.Duration
	// MemoryBytes is RLIMIT_AS of each sandboxed process.
	MemoryBytes int64
	// SessionMemoryBytes limits the memory of a whole session (all its
	// processes, its /tmp included, no swap) through its cgroup, when
	// cgroups are available (see Manager.CgroupMode).
	SessionMemoryBytes int64
	// CPUSeconds is the CPU time of one execution (soft RLIMIT_CPU).
	CPUSeconds int
	// MaxProcs is RLIMIT_NPROC (processes and threads) inside a session,
	// and the pids limit of its cgroup (plus bubblewrap's own two).
	MaxProcs int
	// MaxFileBytes is RLIMIT_FSIZE: the largest file the code can write.
	MaxFileBytes int64
	// MaxOpenFiles is RLIMIT_NOFILE.
	MaxOpenFiles int
	// MaxOutputBytes caps the output of one execution; more is dropped
	// with a note.
	MaxOutputBytes int
	// MaxWorkspaceBytes caps the total size of a session's /mnt/data.
	MaxWorkspaceBytes int64
	// MaxWorkspaceFiles caps the number of entries in /mnt/data.
	MaxWorkspaceFiles int
	// TmpBytes is the size of the session's private /tmp (memory).
	TmpBytes int64
	// MaxFigures bounds the matplotlib figures returned by one execution.
	MaxFigures int
	// SandboxUID and SandboxGID are the host ids the sandbox runs as when
	// the server is root (default nobody); ignored otherwise.
	SandboxUID, SandboxGID int
	// Python is the interpreter inside the sandbox (Debian's, whose
	// packages live under /usr).
	Python string
	// Bwrap is the bubblewrap binary.
	Bwrap string
	// Logger receives session starts and ends; nil discards.
	Logger *slog.Logger
	// Observer, when set, receives execution outcomes and durations.
	Observer Observer
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxSessions, DefaultMaxSessions)
	if c.MaxSessionsPerProject <= 0 || c.MaxSessionsPerProject > c.MaxSessions {
		c.MaxSessionsPerProject = c.MaxSessions
	}
	defDur(&c.IdleTimeout, DefaultIdleTimeout)
	defDur(&c.ExecTimeout, DefaultExecTimeout)
	defDur(&c.StartTimeout, DefaultStartTimeout)
	def64(&c.MemoryBytes, DefaultMemoryBytes)
	def64(&c.SessionMemoryBytes, DefaultSessionMemory)
	def(&c.CPUSeconds, DefaultCPUSeconds)
	def(&c.MaxProcs, DefaultMaxProcs)
	def64(&c.MaxFileBytes, DefaultMaxFileBytes)
	def(&c.MaxOpenFiles, DefaultMaxOpenFiles)
	def(&c.MaxOutputBytes, DefaultMaxOutputBytes)
	def64(&c.MaxWorkspaceBytes, DefaultMaxWorkspaceBytes)
	def(&c.MaxWorkspaceFiles, DefaultMaxWorkspaceFiles)
	def64(&c.TmpBytes, DefaultTmpBytes)
	def(&c.MaxFigures, DefaultMaxFigures)
	def(&c.SandboxUID, DefaultSandboxUID)
	def(&c.SandboxGID, DefaultSandboxUID)
	if c.Python == "" {
		c.Python = DefaultPython
	}
	if c.Bwrap == "" {
		c.Bwrap = DefaultBwrap
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// InputFile is a file to put into /mnt/data before an execution.
type InputFile struct {
	// ID identifies the file's content (a file id): a session copies each
	// ID once, so the code's own changes to the copy are kept.
	ID string
	// Name is the file's name in /mnt/data (a base name).
	Name string
	// Open returns the content.
	Open func() (io.ReadCloser, error)
}

// OutputFile is a file the code created or changed under /mnt/data.
type OutputFile struct {
	// Path is the file's path inside the sandbox, /mnt/data/….
	Path string
	Data []byte
}

// Result is what one execution produced. Errors in the code (tracebacks),
// timeouts and crashes are results, not errors.
type Result struct {
	// Output is what the code printed (stdout and stderr interleaved), the
	// trailing expression's value, tracebacks, and notes from the sandbox.
	Output string
	// Images are the PNGs of the matplotlib figures open after the code.
	Images [][]byte
	// Files are the files the code created or changed under /mnt/data.
	Files []OutputFile
	// Error reports that the code raised an exception (its traceback is in
	// Output).
	Error bool
	// TimedOut reports that the execution hit the wall-clock timeout; the
	// session was restarted.
	TimedOut bool
	// Restarted reports that the session's interpreter ended during this
	// execution (timeout, crash, kill, limits) and variables are lost.
	Restarted bool
}

// Manager owns the sandbox sessions of one server.
type Manager struct {
	cfg Config
	cg  cgroups // found once by NewManager

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool

	stop chan struct{}
	done chan struct{}
}

// NewManager creates the root directory, removes stale session directories
// and starts the idle reaper; call Close to end every session.
func NewManager(cfg Config) (*Manager, error) {
	cfg.setDefaults()
	if cfg.Root == "" {
		return nil, errors.New("sandbox: Config.Root is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("sandbox: root: %w", err)
	}
	cfg.Root = root
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("sandbox: root: %w", err)
	}
	if err := os.Chmod(root, 0o711); err != nil {
		return nil, fmt.Errorf("sandbox: root: %w", err)
	}
	stale, _ := filepath.Glob(filepath.Join(root, "s-*"))
	for _, d := range stale {
		_ = os.RemoveAll(d)
	}
	m := &Manager{
		cfg:      cfg,
		cg:       findCgroups(),
		sessions: make(map[string]*session),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if m.cg.mode == CgroupNone {
		cfg.Logger.Info("sandbox: no cgroups, limits are per process (rlimits) only", "reason", m.cg.reason)
	} else {
		cfg.Logger.Debug("sandbox: per-session cgroups", "mode", m.cg.mode, "parent", m.cg.parent, "pids_parent", m.cg.pidsParent)
	}
	go m.reapIdle()
	return m, nil
}

// CgroupMode says how sessions are limited as a whole: "v1" or "v2" when
// each session has its own cgroup (SessionMemoryBytes, MaxProcs), "none"
// when cgroups are unavailable (not root, not mounted, not writable) and
// only the per-process rlimits apply.
func (m *Manager) CgroupMode() string {
	return m.cg.mode
}

// Check is the start-up self test: it runs print(1) in a fresh sandbox and
// returns an error saying what is wrong when that fails. The server must not
// offer code_interpreter when Check fails. On success it logs the cgroup
// mode (CgroupMode).
func (m *Manager) Check(ctx context.Context) error {
	if _, err := exec.LookPath(m.cfg.Bwrap); err != nil {
		return fmt.Errorf("sandbox: bubblewrap (%s) not found: install the bubblewrap package (scripts/setup.sh): %w", m.cfg.Bwrap, err)
	}
	if _, err := os.Stat(m.cfg.Python); err != nil {
		return fmt.Errorf("sandbox: python (%s): %w", m.cfg.Python, err)
	}
	key := "\x00check-" + randomHex(8)
	defer m.end(key)
	res, err := m.exec(ctx, key, "print(1)", nil)
	if err != nil {
		return err
	}
	if strings.TrimSpace(res.Output) != "1" {
		return fmt.Errorf("sandbox: self test printed %q, want 1", truncate(res.Output, 500))
	}
	m.cfg.Logger.Info("sandbox: self test passed", "cgroups", m.cg.mode)
	return nil
}

// Exec runs code in the session of sessionKey (a project and thread),
// starting the session when needed, after copying files into /mnt/data.
func (m *Manager) Exec(ctx context.Context, sessionKey, code string, files []InputFile) (*Result, error) {
	if m.cfg.Observer == nil {
		return m.exec(ctx, sessionKey, code, files)
	}
	start := time.Now()
	res, err := m.exec(ctx, sessionKey, code, files)
	m.cfg.Observer.Executed(outcomeOf(res, err), time.Since(start))
	return res, err
}

func outcomeOf(res *Result, err error) Outcome {
	switch {
	case err != nil:
		return OutcomeFailed
	case res.TimedOut:
		return OutcomeTimeout
	case res.Restarted:
		return OutcomeRestarted
	case res.Error:
		return OutcomeError
	}
	return OutcomeOK
}

// exec is Exec without the observer (the self test is not counted).
func (m *Manager) exec(ctx context.Context, sessionKey, code string, files []InputFile) (*Result, error) {
	s, err := m.acquire(sessionKey)
	if err != nil {
		return nil, err
	}
	defer m.release(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exec(ctx, code, files)
}

// Close ends every session (killing running code) and stops the reaper.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	all := make([]*session, 0, len(m.sessions))
	for k, s := range m.sessions {
		all = append(all, s)
		delete(m.sessions, k)
	}
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	for _, s := range all {
		s.kill() // unblocks a running execution
	}
	for _, s := range all {
		s.shutdown()
	}
	return nil
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Sessions returns the number of live sessions.
func (m *Manager) Sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Project is the project part of a session key: what comes before the
// first "/" (the whole key when it has none).
func Project(sessionKey string) string {
	project, _, _ := strings.Cut(sessionKey, "/")
	return project
}

func (m *Manager) acquire(key string) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	s := m.sessions[key]
	if s == nil {
		project := Project(key)
		n := 0
		for k := range m.sessions {
			if Project(k) == project {
				n++
			}
		}
		if n >= m.cfg.MaxSessionsPerProject {
			lru := m.lruIdle(project, true)
			if lru == nil {
				return nil, fmt.Errorf("%w %q: its %d sessions (the limit per project) are all executing code; try again when one finishes", ErrProjectBusy, project, n)
			}
			m.evict(lru, "project")
		}
		if len(m.sessions) >= m.cfg.MaxSessions {
			lru := m.lruIdle("", false)
			if lru == nil {
				return nil, ErrBusy
			}
			m.evict(lru, "server")
		}
		dir := filepath.Join(m.cfg.Root, "s-"+randomHex(12))
		s = &session{m: m, key: key, dir: dir, copied: make(map[string]bool)}
		m.sessions[key] = s
	}
	s.busy++
	s.lastUsed = time.Now()
	return s, nil
}

// lruIdle returns the least recently used session that is not executing
// code, of the project when inProject, or nil; m.mu is held.
func (m *Manager) lruIdle(project string, inProject bool) *session {
	var lru *session
	for k, c := range m.sessions {
		if inProject && Project(k) != project {
			continue
		}
		if c.busy == 0 && (lru == nil || c.lastUsed.Before(lru.lastUsed)) {
			lru = c
		}
	}
	return lru
}

// evict ends an idle session to make room; m.mu is held.
func (m *Manager) evict(s *session, reason string) {
	delete(m.sessions, s.key)
	s.ended = true
	m.cfg.Logger.Info("sandbox session evicted", "dir", s.dir, "limit", reason)
	if m.cfg.Observer != nil {
		m.cfg.Observer.SessionEvicted(reason)
	}
	go s.shutdown()
}

func (m *Manager) release(s *session) {
	m.mu.Lock()
	s.busy--
	s.lastUsed = time.Now()
	m.mu.Unlock()
}

// end ends the session of key if it is idle.
func (m *Manager) end(key string) {
	m.mu.Lock()
	s := m.sessions[key]
	if s == nil || s.busy > 0 {
		m.mu.Unlock()
		return
	}
	delete(m.sessions, key)
	s.ended = true
	m.mu.Unlock()
	s.shutdown()
}

func (m *Manager) reapIdle() {
	defer close(m.done)
	every := min(m.cfg.IdleTimeout/4, time.Minute)
	every = max(every, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		var idle []*session
		m.mu.Lock()
		for k, s := range m.sessions {
			if s.busy == 0 && time.Since(s.lastUsed) >= m.cfg.IdleTimeout {
				delete(m.sessions, k)
				s.ended = true
				idle = append(idle, s)
			}
		}
		m.mu.Unlock()
		for _, s := range idle {
			m.cfg.Logger.Info("sandbox session idle, ending", "dir", s.dir)
			s.shutdown()
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
