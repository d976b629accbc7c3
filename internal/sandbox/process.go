package sandbox

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

//go:embed driver.py
var driverSource string

// maxResponse bounds one line from the driver (figures are base64 in it).
const maxResponse = 64 << 20

// process is a session's running bwrap + python3.
type process struct {
	cmd    *exec.Cmd
	reqW   *os.File
	resps  chan []byte
	out    *outputStream
	cg     *cgroup       // nil without cgroups; removed by stop
	exited chan struct{} // closed when the process has been waited for
	quit   chan struct{} // closed by kill
	once   sync.Once
}

// cgroupGate runs bwrap ("$0" "$@") once the server has moved this shell
// into the session's cgroup and says "go" on fd 5, which bwrap does not get.
// Every process of the sandbox then starts inside the cgroup.
const cgroupGate = `read -r go <&5 && [ "$go" = go ] || exit 125; exec "$0" "$@" 5<&-`

// sandboxIDs returns the host uid and gid the sandbox runs as when the
// server is root.
func (m *Manager) sandboxIDs() (uid, gid int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	return m.cfg.SandboxUID, m.cfg.SandboxGID, true
}

// limits are the hard rlimits the driver sets on itself before running code.
func (c *Config) limits() map[string]int64 {
	return map[string]int64{
		"RLIMIT_AS":     c.MemoryBytes,
		"RLIMIT_NPROC":  int64(c.MaxProcs),
		"RLIMIT_FSIZE":  c.MaxFileBytes,
		"RLIMIT_NOFILE": int64(c.MaxOpenFiles),
		"RLIMIT_CORE":   0,
	}
}

// bwrapArgs is the sandbox: only /usr (and the /lib-style links into it),
// a few files of /etc, and the session's directory.
func (c *Config) bwrapArgs(dir string, driverConfig []byte) []string {
	a := []string{
		"--unshare-all", "--unshare-user", "--disable-userns",
		"--uid", "1000", "--gid", "1000", "--hostname", "sandbox",
		"--die-with-parent", "--new-session",
		"--ro-bind", "/usr", "/usr",
	}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", target, d)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", d, d)
		}
	}
	etc := []string{"/etc/alternatives", "/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/matplotlibrc", "/etc/mime.types"}
	pyetc, _ := filepath.Glob("/etc/python3*")
	for _, p := range append(etc, pyetc...) {
		a = append(a, "--ro-bind-try", p, p)
	}
	a = append(a,
		"--proc", "/proc",
		"--dev", "/dev",
		"--size", strconv.FormatInt(c.TmpBytes, 10), "--tmpfs", "/tmp",
		"--remount-ro", "/dev",
		"--dir", "/mnt",
		"--bind", dir, "/mnt/data",
		"--remount-ro", "/",
		"--clearenv",
		"--setenv", "HOME", "/tmp",
		"--setenv", "TMPDIR", "/tmp",
		"--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
		"--setenv", "LANG", "C.UTF-8",
		"--setenv", "MPLBACKEND", "Agg",
		"--setenv", "MPLCONFIGDIR", "/tmp",
		"--setenv", "OPENBLAS_NUM_THREADS", "1",
		"--setenv", "OMP_NUM_THREADS", "1",
		"--setenv", "MKL_NUM_THREADS", "1",
		"--chdir", "/mnt/data",
		c.Python, "-I", "-B", "-c", driverSource, string(driverConfig),
	)
	return a
}

// start starts the session's process and waits until the driver is ready
// with the configured limits in force.
func (s *session) start(ctx context.Context) (*process, error) {
	cfg := &s.m.cfg
	uid, gid, asOther := s.m.sandboxIDs()
	if asOther && uid == 0 {
		return nil, errors.New("sandbox: SandboxUID must not be 0 (root is exempt from RLIMIT_NPROC)")
	}
	driverConfig, _ := json.Marshal(map[string]any{
		"limits":      cfg.limits(),
		"cpu_seconds": cfg.CPUSeconds,
		"max_output":  cfg.MaxOutputBytes,
		"max_figures": cfg.MaxFigures,
	})
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		return nil, err
	}
	closePipes := func() {
		for _, f := range []*os.File{reqR, reqW, respR, respW, outR, outW} {
			f.Close()
		}
	}
	var cg *cgroup
	var gateR, gateW *os.File
	if s.m.cg.mode != CgroupNone {
		name := "assistd-" + filepath.Base(s.dir) + "-" + randomHex(4)
		if cg, err = s.m.cg.create(name, cfg.SessionMemoryBytes, cfg.MaxProcs+cgroupOverhead); err != nil {
			cfg.Logger.Warn("sandbox: session without a cgroup (rlimits only)", "dir", s.dir, "err", err)
		} else if gateR, gateW, err = os.Pipe(); err != nil {
			cg.remove()
			closePipes()
			return nil, err
		}
	}
	args := cfg.bwrapArgs(s.dir, driverConfig)
	var cmd *exec.Cmd
	if cg == nil {
		cmd = exec.Command(cfg.Bwrap, args...)
	} else {
		bwrap, err := exec.LookPath(cfg.Bwrap)
		if err != nil {
			cg.remove()
			gateR.Close()
			gateW.Close()
			closePipes()
			return nil, fmt.Errorf("sandbox: starting bubblewrap: %w", err)
		}
		cmd = exec.Command("/bin/sh", append([]string{"-c", cgroupGate, bwrap}, args...)...)
	}
	cmd.Env = []string{}
	cmd.Stdout = outW
	cmd.Stderr = outW
	cmd.ExtraFiles = []*os.File{reqR, respW}
	if gateR != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, gateR) // fd 5
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if asOther {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	began := time.Now()
	err = cmd.Start()
	reqR.Close()
	respW.Close()
	outW.Close()
	if gateR != nil {
		gateR.Close()
	}
	if err != nil {
		reqW.Close()
		respR.Close()
		outR.Close()
		if cg != nil {
			gateW.Close()
			cg.remove()
		}
		return nil, fmt.Errorf("sandbox: starting bubblewrap: %w", err)
	}
	if cg != nil {
		// The shell waits at the gate: nothing of the sandbox runs yet.
		if err := cg.enter(cmd.Process.Pid); err != nil {
			cfg.Logger.Warn("sandbox: session without a cgroup (rlimits only)", "dir", s.dir, "err", err)
			cg.remove()
			cg = nil
		}
		_, _ = gateW.Write([]byte("go\n"))
		gateW.Close()
	}
	p := &process{
		cg:     cg,
		cmd:    cmd,
		reqW:   reqW,
		resps:  make(chan []byte),
		out:    newOutputStream(cfg.MaxOutputBytes),
		exited: make(chan struct{}),
		quit:   make(chan struct{}),
	}
	go p.out.readFrom(outR)
	go p.readResponses(respR)
	go func() {
		_ = cmd.Wait()
		reqW.Close()
		close(p.exited)
	}()

	fail := func(err error) (*process, error) {
		p.stop(cfg.Logger)
		out, _ := p.out.take()
		if out != "" {
			return nil, fmt.Errorf("sandbox: session did not start: %w: %s", err, truncate(out, 2000))
		}
		return nil, fmt.Errorf("sandbox: session did not start: %w", err)
	}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	var ready struct {
		Ready  bool             `json:"ready"`
		Limits map[string]int64 `json:"limits"`
	}
	select {
	case line, ok := <-p.resps:
		if !ok {
			return fail(errors.New("the sandbox exited"))
		}
		if err := json.Unmarshal(line, &ready); err != nil || !ready.Ready {
			return fail(fmt.Errorf("bad handshake %q", truncate(string(line), 200)))
		}
	case <-timer.C:
		return fail(fmt.Errorf("no handshake within %s", cfg.StartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	for name, want := range cfg.limits() {
		if got, ok := ready.Limits[name]; !ok || got != want {
			return fail(fmt.Errorf("limit %s is %d inside the sandbox, want %d", name, got, want))
		}
	}
	if s.started {
		s.note = "[Note: this is a new Python session: variables and imports from earlier executions are gone; files in /mnt/data were kept.]"
	}
	s.started = true
	s.pmu.Lock()
	s.proc = p
	s.pmu.Unlock()
	cfg.Logger.Debug("sandbox session started", "dir", s.dir, "took", time.Since(began))
	return p, nil
}

func (p *process) readResponses(r *os.File) {
	defer close(p.resps)
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		var line []byte
		for {
			frag, err := br.ReadSlice('\n')
			line = append(line, frag...)
			if len(line) > maxResponse {
				p.kill()
				return
			}
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
		select {
		case p.resps <- line:
		case <-p.quit:
			return
		}
	}
}

// kill kills the sandbox's process group (bwrap; the sandbox's own init
// then dies with it, and the pid namespace with every process in it).
func (p *process) kill() {
	p.once.Do(func() {
		close(p.quit)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Process.Kill()
	})
}

// stop kills the process, waits for it and removes its cgroup.
func (p *process) stop(log *slog.Logger) {
	p.kill()
	p.wait()
	if err := p.cg.remove(); err != nil {
		log.Warn("sandbox: cgroup left behind", "err", err)
	}
}

// wait waits for the process to exit and its output to be read, bounded.
func (p *process) wait() {
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	select {
	case <-p.out.closed:
	case <-time.After(time.Second):
	}
}

// outputStream collects what the sandbox writes on its stdout and stderr,
// up to a cap, and spots the marker the driver writes after an execution.
type outputStream struct {
	limit  int
	closed chan struct{}

	mu      sync.Mutex
	buf     []byte
	dropped int64
	marker  []byte
	carry   []byte
	found   chan struct{}
}

func newOutputStream(limit int) *outputStream {
	return &outputStream{limit: limit, closed: make(chan struct{}), found: make(chan struct{})}
}

// begin starts waiting for marker.
func (o *outputStream) begin(marker []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.marker = marker
	o.found = make(chan struct{})
}

// take returns and clears what was collected, with the count of bytes
// dropped beyond the cap.
func (o *outputStream) take() (string, int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.marker == nil && len(o.carry) > 0 {
		o.appendLocked(o.carry)
		o.carry = nil
	}
	out, dropped := string(o.buf), o.dropped
	o.buf, o.dropped = nil, 0
	return out, dropped
}

func (o *outputStream) readFrom(r io.ReadCloser) {
	defer close(o.closed)
	defer r.Close()
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			o.feed(chunk[:n])
		}
		if err != nil {
			o.mu.Lock()
			o.appendLocked(o.carry)
			o.carry = nil
			o.mu.Unlock()
			return
		}
	}
}

func (o *outputStream) feed(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	data := append(o.carry, p...)
	o.carry = nil
	if o.marker == nil {
		o.appendLocked(data)
		return
	}
	if i := bytes.Index(data, o.marker); i >= 0 {
		o.appendLocked(data[:i])
		o.appendLocked(data[i+len(o.marker):])
		o.marker = nil
		close(o.found)
		return
	}
	keep := min(len(o.marker)-1, len(data))
	o.appendLocked(data[:len(data)-keep])
	o.carry = append([]byte(nil), data[len(data)-keep:]...)
}

func (o *outputStream) appendLocked(p []byte) {
	room := o.limit - len(o.buf)
	if room >= len(p) {
		o.buf = append(o.buf, p...)
		return
	}
	if room > 0 {
		o.buf = append(o.buf, p[:room]...)
	}
	o.dropped += int64(len(p) - max(room, 0))
}
