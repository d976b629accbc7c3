package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// session is one key's sandbox: its host directory (/mnt/data) and, while
// alive, its Python process.
type session struct {
	m        *Manager
	key, dir string

	// Guarded by m.mu.
	busy     int
	lastUsed time.Time
	ended    bool

	// mu serializes executions and guards the fields below.
	mu      sync.Mutex
	seq     int
	copied  map[string]bool
	note    string // prepended to the next execution's output
	started bool   // a process was started before (the next one is a restart)

	pmu  sync.Mutex
	proc *process
}

const workspacePoll = 100 * time.Millisecond

func (s *session) exec(ctx context.Context, code string, files []InputFile) (*Result, error) {
	cfg := &s.m.cfg
	if s.m.isClosed() {
		return nil, ErrClosed
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	if err := s.copyInputs(files); err != nil {
		return nil, err
	}
	p := s.current()
	if p == nil {
		var err error
		p, err = s.start(ctx)
		if err != nil {
			return nil, err
		}
	}
	before, _, err := snapshot(s.dir)
	if err != nil {
		return nil, err
	}

	res := &Result{}
	var notes []string
	if s.note != "" {
		notes = append(notes, s.note)
		s.note = ""
	}

	s.seq++
	marker := "\x1e\x00assistd-end-" + randomHex(16) + "\x00"
	p.out.begin([]byte(marker))
	req, _ := json.Marshal(map[string]any{"id": s.seq, "code": code, "marker": marker})
	_ = p.reqW.SetWriteDeadline(time.Now().Add(cfg.ExecTimeout))
	if _, err := p.reqW.Write(append(req, '\n')); err != nil {
		s.stopProc()
		return nil, fmt.Errorf("sandbox: session did not take the code: %w", err)
	}

	timer := time.NewTimer(cfg.ExecTimeout)
	defer timer.Stop()
	poll := time.NewTicker(workspacePoll)
	defer poll.Stop()
	var resp *driverResponse
	var ctxErr error
	overflow := false
wait:
	for {
		select {
		case line, ok := <-p.resps:
			if !ok {
				break wait
			}
			var r driverResponse
			if json.Unmarshal(line, &r) != nil || r.ID != s.seq {
				continue // not an answer to this request (written by the code itself)
			}
			resp = &r
			break wait
		case <-timer.C:
			res.TimedOut = true
			break wait
		case <-ctx.Done():
			ctxErr = ctx.Err()
			break wait
		case <-poll.C:
			if used, _ := usage(s.dir, cfg.MaxWorkspaceFiles); used > cfg.MaxWorkspaceBytes {
				overflow = true
				break wait
			}
		}
	}

	if resp != nil {
		select {
		case <-p.out.found:
		case <-time.After(2 * time.Second):
		}
		res.Error = resp.Error
		for _, b := range resp.Images {
			if img, err := base64.StdEncoding.DecodeString(b); err == nil && len(res.Images) < cfg.MaxFigures {
				res.Images = append(res.Images, img)
			}
		}
		if used, _ := usage(s.dir, cfg.MaxWorkspaceFiles); used > cfg.MaxWorkspaceBytes {
			overflow = true
		}
	}
	if resp == nil || overflow {
		s.stopProc()
		res.Restarted = true
		s.note = "[Note: this is a new Python session: variables and imports from earlier executions are gone; files in /mnt/data were kept.]"
	}
	out, dropped := p.out.take()
	if resp != nil {
		dropped += resp.Dropped
	}
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n)
		b.WriteString("\n")
	}
	b.WriteString(out)
	if dropped > 0 {
		fmt.Fprintf(&b, "\n[Output truncated: %d more bytes were not shown (the limit is %d bytes).]", dropped, cfg.MaxOutputBytes)
	}
	switch {
	case ctxErr != nil:
		return nil, fmt.Errorf("sandbox: execution cancelled, session restarted: %w", ctxErr)
	case res.TimedOut:
		fmt.Fprintf(&b, "\n[Execution timed out after %s: the Python session was ended and will restart on the next execution (variables lost, files in /mnt/data kept).]", cfg.ExecTimeout)
	case overflow:
		removed := removeChanged(s.dir, before)
		fmt.Fprintf(&b, "\n[The files in /mnt/data exceeded the workspace limit of %d bytes: the Python session was ended and the %d files written by this execution were removed.]", cfg.MaxWorkspaceBytes, removed)
	case resp == nil:
		b.WriteString("\n[The Python session ended unexpectedly (it was killed, crashed, or exceeded a limit): it will restart on the next execution (variables lost, files in /mnt/data kept).]")
	}
	res.Output = b.String()
	if !overflow {
		res.Files, err = changedFiles(s.dir, before, cfg.MaxWorkspaceBytes)
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// driverResponse is the driver's answer to one execution.
type driverResponse struct {
	ID      int      `json:"id"`
	Error   bool     `json:"error"`
	Images  []string `json:"images"`
	Dropped int64    `json:"dropped"`
}

func (s *session) current() *process {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.proc
}

// kill kills the process without waiting (safe during an execution).
func (s *session) kill() {
	if p := s.current(); p != nil {
		p.kill()
	}
}

// stopProc kills the process and waits for it; s.mu is held.
func (s *session) stopProc() {
	s.pmu.Lock()
	p := s.proc
	s.proc = nil
	s.pmu.Unlock()
	if p != nil {
		p.stop(s.m.cfg.Logger)
	}
}

// shutdown ends the session for good: process and files.
func (s *session) shutdown() {
	s.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopProc()
	if err := os.RemoveAll(s.dir); err != nil {
		s.m.cfg.Logger.Warn("sandbox: removing session directory", "dir", s.dir, "err", err)
	}
}

func (s *session) ensureDir() error {
	if _, err := os.Lstat(s.dir); err == nil {
		return nil
	}
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: session directory: %w", err)
	}
	if uid, gid, ok := s.m.sandboxIDs(); ok {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return fmt.Errorf("sandbox: session directory: %w", err)
		}
	}
	return nil
}

// copyInputs puts the files not yet copied into /mnt/data.
func (s *session) copyInputs(files []InputFile) error {
	var todo []InputFile
	for _, f := range files {
		if err := validName(f.Name); err != nil {
			return err
		}
		if f.ID != "" && s.copied[f.ID] {
			continue
		}
		todo = append(todo, f)
	}
	if len(todo) == 0 {
		return nil
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return fmt.Errorf("sandbox: workspace: %w", err)
	}
	defer root.Close()
	used, err := usage(s.dir, s.m.cfg.MaxWorkspaceFiles)
	if err != nil {
		return err
	}
	for _, f := range todo {
		if err := s.copyInput(root, f, &used); err != nil {
			return err
		}
		if f.ID != "" {
			s.copied[f.ID] = true
		}
	}
	return nil
}

func (s *session) copyInput(root *os.Root, f InputFile, used *int64) error {
	if f.Open == nil {
		return fmt.Errorf("sandbox: input file %q has no content", f.Name)
	}
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("sandbox: input file %q: %w", f.Name, err)
	}
	defer r.Close()
	if err := root.Remove(f.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sandbox: input file %q: %w", f.Name, err)
	}
	w, err := root.OpenFile(f.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("sandbox: input file %q: %w", f.Name, err)
	}
	room := s.m.cfg.MaxWorkspaceBytes - *used
	n, err := io.Copy(w, io.LimitReader(r, room+1))
	*used += n
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > room {
		err = fmt.Errorf("the files exceed the workspace limit of %d bytes", s.m.cfg.MaxWorkspaceBytes)
	}
	if err != nil {
		_ = root.Remove(f.Name)
		return fmt.Errorf("sandbox: input file %q: %w", f.Name, err)
	}
	if uid, gid, ok := s.m.sandboxIDs(); ok {
		if err := root.Chown(f.Name, uid, gid); err != nil {
			return fmt.Errorf("sandbox: input file %q: %w", f.Name, err)
		}
	}
	return nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("sandbox: invalid file name %q", name)
	}
	return nil
}
