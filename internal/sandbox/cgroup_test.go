package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/sandbox"
)

// requireCgroups skips, loudly, when the manager has no cgroups here.
func requireCgroups(t *testing.T, m *sandbox.Manager) {
	t.Helper()
	if mode := m.CgroupMode(); mode == sandbox.CgroupNone {
		t.Skip("SKIPPED, CGROUPS UNAVAILABLE (sessions are limited by rlimits only): " + m.CgroupReason())
	}
}

// sessionCgroups checks that the session process of key is in its cgroup
// (as /proc/<pid>/cgroup says) and returns the cgroup's directories.
func sessionCgroups(t *testing.T, m *sandbox.Manager, key string) []string {
	t.Helper()
	pid := m.SessionPID(key)
	dirs := m.SessionCgroups(key)
	if pid == 0 || len(dirs) == 0 {
		t.Fatalf("session %q: pid %d, cgroups %v", key, pid, dirs)
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("the session's cgroup %s does not exist: %v", dir, err)
		}
		// bwrap, the sandbox's init and python: all of them, not only the
		// first process, since bwrap starts only once it is in the cgroup.
		if procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err != nil || len(strings.Fields(string(procs))) < 3 {
			t.Fatalf("the processes in %s: %q, %v; want bwrap, its init and python", dir, procs, err)
		}
		if !strings.Contains(string(data), "/"+filepath.Base(dir)+"\n") {
			t.Fatalf("the session process %d is not in %s: /proc/%d/cgroup is\n%s", pid, dir, pid, data)
		}
	}
	return dirs
}

func readInt(t *testing.T, dir string, names ...string) (int64, string) {
	t.Helper()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return -1, name
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s/%s: %q", dir, name, data)
		}
		return n, name
	}
	t.Fatalf("none of %v in %s", names, dir)
	return 0, ""
}

// TestSessionCgroupMemory: three processes of one session that each touch
// 300 MB (allowed by the per-process limit of 512 MB) cannot all live in
// a session capped at 600 MB; the server is unharmed, the next execution
// works, and the cgroup is gone after Close.
func TestSessionCgroupMemory(t *testing.T) {
	t.Parallel()
	const sessionMem = 600 << 20
	m, _ := newManager(t, func(c *sandbox.Config) {
		c.MemoryBytes = 512 << 20
		c.SessionMemoryBytes = sessionMem
		c.ExecTimeout = 20 * time.Second
	})
	requireCgroups(t, m)
	run(t, m, "p/mem", "x = 1")
	dirs := sessionCgroups(t, m, "p/mem")
	if got, name := readInt(t, dirs[0], "memory.max", "memory.limit_in_bytes"); got != sessionMem {
		t.Fatalf("%s is %d, want %d", name, got, sessionMem)
	}
	if got, name := readInt(t, dirs[len(dirs)-1], "pids.max"); got != 32+2 {
		t.Fatalf("%s is %d, want MaxProcs + 2", name, got)
	}

	code := `
import subprocess, sys
child = "import time\nb = bytearray(300 << 20)\nb[::4096] = b'\\x01' * len(range(0, len(b), 4096))\ntime.sleep(1.5)\nprint('alive')"
procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE) for _ in range(3)]
ok = sum(p.communicate()[0].strip() == b"alive" for p in procs)
print("survivors", ok)
`
	res := run(t, m, "p/mem", code)
	t.Logf("cgroup %s: %q", m.CgroupMode(), res.Output)
	if strings.Contains(res.Output, "survivors 3") {
		t.Fatalf("three processes of 300 MB each lived in a session of 600 MB: %q", res.Output)
	}
	if !strings.Contains(res.Output, "survivors") && !res.Restarted {
		t.Fatalf("neither a count nor a restart: %+v", res)
	}
	if peak, name := readInt(t, dirs[0], "memory.peak", "memory.max_usage_in_bytes"); peak > sessionMem {
		t.Fatalf("%s is %d, over the session's %d", name, peak, sessionMem)
	}
	if res := run(t, m, "p/mem", "print('next')"); !strings.HasSuffix(res.Output, "next\n") {
		t.Fatalf("the next execution: %q", res.Output) // after a restart note when the OOM killer chose the driver
	}
	after := sessionCgroups(t, m, "p/mem")
	m.Close()
	for _, dir := range append(dirs, after...) {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("cgroup %s still exists after Close: %v", dir, err)
		}
	}
}

// TestSessionCgroupPids: a session's cgroup never holds more processes
// than its pids limit, however hard the code forks.
func TestSessionCgroupPids(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) { c.MaxProcs = 16 })
	requireCgroups(t, m)
	run(t, m, "p/pids", "x = 1")
	dirs := sessionCgroups(t, m, "p/pids")
	pids := dirs[len(dirs)-1]
	limit, _ := readInt(t, pids, "pids.max")
	code := `
import os, time
n = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(1)
            os._exit(0)
        n += 1
    except OSError:
        pass
print("forked", n)
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := m.Exec(ctx, "p/pids", code, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%q", res.Output)
	if peak, name := readInt(t, pids, "pids.peak", "pids.current"); peak > limit {
		t.Fatalf("%s is %d, over pids.max %d", name, peak, limit)
	}
	wantOutput(t, run(t, m, "p/pids", "print('next')"), "next\n")
}
