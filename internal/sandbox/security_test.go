package sandbox_test

// The security suite: real code in the real sandbox, each attack contained
// and the test process (the server) unharmed. Each test ends by checking that
// the host still works and that the session (or a fresh one) still runs code.

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/sandbox"
)

// hostUnharmed checks that the test process can still start processes and
// that the manager still runs code.
func hostUnharmed(t *testing.T, m *sandbox.Manager, key string) {
	t.Helper()
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatalf("the host cannot start a process any more: %v", err)
	}
	if res := run(t, m, key, "print(6 * 7)"); !strings.HasSuffix(res.Output, "42\n") {
		t.Fatalf("the session does not run code any more: %q", res.Output)
	}
}

func TestSecurityNoNetwork(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	res := run(t, m, "k", fmt.Sprintf(`import socket
print(socket.if_nameindex())
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", %d))
    print("CONNECTED")
except OSError as e:
    print("BLOCKED", type(e).__name__)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError as e:
    print("NO DNS")`, port))
	if res.Output != "[(1, 'lo')]\nBLOCKED ConnectionRefusedError\nNO DNS\n" {
		t.Fatalf("network: %q", res.Output)
	}
	select {
	case <-accepted:
		t.Fatal("the sandbox reached the host's loopback")
	case <-time.After(100 * time.Millisecond):
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityReadHostFiles(t *testing.T) {
	t.Parallel()
	m, root := newManager(t, nil)
	// The server's data dir: a sibling of the sessions root, with a secret.
	data := filepath.Join(filepath.Dir(root), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(data, "assistd.db")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, m, "k", fmt.Sprintf(`import os
for p in ["/etc/shadow", "/etc/passwd", %q, "/proc/1/root" + %q, "/root/.bashrc", "/home", "/var/lib", %q]:
    try:
        if os.path.isdir(p):
            print("LISTED", p, os.listdir(p))
        else:
            open(p).read(); print("READ", p)
    except OSError as e:
        print("BLOCKED", type(e).__name__)
print(sorted(os.listdir("/")), sorted(os.listdir("/etc")))`, secret, secret, filepath.Dir(root)))
	if strings.Contains(res.Output, "READ") || strings.Contains(res.Output, "LISTED") || strings.Contains(res.Output, "SECRET") ||
		strings.Count(res.Output, "BLOCKED FileNotFoundError") != 8 {
		t.Fatalf("host files: %q", res.Output)
	}
	if !strings.Contains(res.Output, "['bin', 'dev', 'etc', 'lib', 'lib64', 'mnt', 'proc', 'sbin', 'tmp', 'usr']") {
		t.Fatalf("root: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityOtherSession(t *testing.T) {
	t.Parallel()
	m, root := newManager(t, nil)
	run(t, m, "thread_a", "open('/mnt/data/secret.txt', 'w').write('A-SECRET')\nsecret = 'A-VAR'")
	dirs, _ := filepath.Glob(filepath.Join(root, "s-*"))
	if len(dirs) != 1 {
		t.Fatalf("session dirs: %v", dirs)
	}
	res := run(t, m, "thread_b", fmt.Sprintf(`import os
print(os.listdir("/mnt/data"))
for p in [%q, %q, "/proc/1/root/mnt/data/secret.txt"]:
    try:
        open(p).read(); print("READ", p)
    except OSError as e:
        print("BLOCKED", type(e).__name__)
print(sorted(n for n in os.listdir("/proc") if n.isdigit()))
print("secret" in globals())`, filepath.Join(dirs[0], "secret.txt"), filepath.Join(root)))
	if strings.Contains(res.Output, "READ") || strings.Contains(res.Output, "SECRET") || !strings.HasPrefix(res.Output, "[]\nBLOCKED") ||
		!strings.HasSuffix(res.Output, "False\n") || !strings.Contains(res.Output, "['1', '2']") {
		t.Fatalf("other session: %q", res.Output)
	}
	hostUnharmed(t, m, "thread_a")
}

func TestSecurityWriteOutsideWorkspace(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, nil)
	res := run(t, m, "k", `import os
for p in ["/x", "/usr/x", "/usr/lib/python3/dist-packages/x.py", "/etc/x", "/mnt/x", "/dev/x", "/proc/x", "/bin/x", "/home/x", "/root/x"]:
    try:
        open(p, "w").write("x"); print("WROTE", p)
    except OSError as e:
        print("BLOCKED")
for p in ["/tmp/x", "/mnt/data/x"]:
    open(p, "w").write("x"); print("ok", p)`)
	if strings.Contains(res.Output, "WROTE") || strings.Count(res.Output, "BLOCKED") != 10 || !strings.HasSuffix(res.Output, "ok /tmp/x\nok /mnt/data/x\n") {
		t.Fatalf("writes: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityForkBomb(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) { c.ExecTimeout = 2 * time.Second })
	res := run(t, m, "k", `import os, time
n = 0
for i in range(1000):
    try:
        pid = os.fork()
    except OSError as e:
        print("fork refused after", n, "children:", type(e).__name__)
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    n += 1`)
	var n int
	if _, err := fmt.Sscanf(res.Output, "fork refused after %d children", &n); err != nil || n >= 32 {
		t.Fatalf("fork limit: %q", res.Output)
	}
	// The real thing: every child forks forever. The timeout ends it.
	res = run(t, m, "k", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
	if !res.TimedOut {
		t.Fatalf("fork bomb: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityMemory(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, nil)
	res := run(t, m, "k", `try:
    b = bytearray(10 * 1024**3)
    print("ALLOCATED")
except MemoryError:
    print("MemoryError")
import numpy as np
try:
    a = np.ones(10 * 1024**3 // 8)
    print("ALLOCATED")
except MemoryError:
    print("MemoryError")
x = 1`)
	if res.Output != "MemoryError\nMemoryError\n" {
		t.Fatalf("memory: %q", res.Output)
	}
	wantOutput(t, run(t, m, "k", "x"), "1\n")
	hostUnharmed(t, m, "k")
}

func TestSecurityInfiniteLoop(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) { c.ExecTimeout = time.Second })
	run(t, m, "k", "x = 1")
	start := time.Now()
	res := run(t, m, "k", "print('spinning')\nwhile True:\n    pass")
	if d := time.Since(start); !res.TimedOut || !res.Restarted || d > 3*time.Second ||
		!strings.HasPrefix(res.Output, "spinning\n") || !strings.Contains(res.Output, "timed out") {
		t.Fatalf("loop (%s): %+v", d, res)
	}
	res = run(t, m, "k", "x")
	if !strings.Contains(res.Output, "new Python session") || !strings.Contains(res.Output, "NameError") {
		t.Fatalf("after timeout: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityHugeOutput(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, func(c *sandbox.Config) {
		c.MemoryBytes = 3 << 30
		c.ExecTimeout = 15 * time.Second // allocating the 1 GB string takes a while
	})
	const limit = 64 << 10
	for _, code := range []string{
		"print('x' * 1024**3)", // 1 GB in one print
		"import sys\nfor i in range(1024):\n    sys.stdout.write('y' * 1024**2)", // 1 GB in pieces
		"import os\nfor i in range(64):\n    os.write(1, b'z' * 1024**2)",        // 64 MB past Python's stdout
	} {
		start := time.Now()
		res := run(t, m, "k", code)
		if len(res.Output) > limit+200 || !strings.Contains(res.Output, "[Output truncated") {
			t.Fatalf("%q: %d bytes of output: %q", code, len(res.Output), res.Output[max(0, len(res.Output)-200):])
		}
		t.Logf("%q: %s", code, time.Since(start))
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityFillDisk(t *testing.T) {
	t.Parallel()
	m, root := newManager(t, nil) // 2 MB per file, 8 MB workspace, 8 MB /tmp
	run(t, m, "k", "open('keep.txt', 'w').write('kept')\nx = 1")
	res := run(t, m, "k", `for p in ["/mnt/data/big", "/tmp/big"]:
    try:
        with open(p, "wb") as f:
            for i in range(100):
                f.write(b"x" * 1024**2)
        print("WROTE", p)
    except OSError as e:
        print("STOPPED", e.strerror)
import os
os.remove("/mnt/data/big")
try:
    with open("/mnt/data/sparse", "wb") as f:
        f.truncate(1 << 40)
except OSError as e:
    print("STOPPED", e.strerror)
os.remove("/mnt/data/sparse")`)
	if res.Output != "STOPPED File too large\nSTOPPED File too large\nSTOPPED File too large\n" {
		t.Fatalf("file size: %q", res.Output)
	}
	// Many files, each under the file size limit, beyond the workspace limit.
	res = run(t, m, "k", "import time\nfor i in range(100):\n    open(f'/mnt/data/f{i}', 'wb').write(b'x' * 1024**2)\n    time.sleep(0.01)\nprint('DONE')")
	if strings.Contains(res.Output, "DONE") || !res.Restarted || !strings.Contains(res.Output, "exceeded the workspace limit") {
		t.Fatalf("workspace: %+v", res)
	}
	files, _ := filepath.Glob(filepath.Join(root, "s-*", "*"))
	if len(files) != 1 || filepath.Base(files[0]) != "keep.txt" {
		t.Fatalf("workspace after overflow: %v", files)
	}
	// Many empty files.
	res = run(t, m, "k", "import os\nfor i in range(2000):\n    open(f'/mnt/data/e{i}', 'w').close()\nimport time\ntime.sleep(1)\nprint('DONE')")
	if strings.Contains(res.Output, "DONE") || !strings.Contains(res.Output, "exceeded the workspace limit") {
		t.Fatalf("entries: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
	wantOutput(t, run(t, m, "k", "print(open('keep.txt').read())"), "kept\n")
}

func TestSecurityKillParent(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, nil)
	res := run(t, m, "k", fmt.Sprintf(`import os, signal
print(os.getpid(), os.getppid())
for pid in [%d, %d]:
    try:
        os.kill(pid, signal.SIGKILL); print("KILLED", pid)
    except OSError as e:
        print("BLOCKED", type(e).__name__)
os.kill(os.getppid(), signal.SIGKILL)  # the sandbox's init: immune
try:
    os.kill(-1, signal.SIGKILL)  # every process it may signal: none but itself
except OSError as e:
    print("BLOCKED", type(e).__name__)
print("ALIVE")`, os.Getpid(), os.Getppid()))
	if res.Restarted || res.Output != "2 1\nBLOCKED ProcessLookupError\nBLOCKED ProcessLookupError\nBLOCKED ProcessLookupError\nALIVE\n" {
		t.Fatalf("kill parent: %+v", res)
	}
	// Killing itself ends the session, which restarts.
	res = run(t, m, "k", "import os\nprint('bye')\nos.kill(os.getpid(), 9)")
	if !res.Restarted || !strings.HasPrefix(res.Output, "bye\n") || !strings.Contains(res.Output, "ended unexpectedly") {
		t.Fatalf("kill self: %+v", res)
	}
	hostUnharmed(t, m, "k")
}

func TestSecurityProcEscape(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t, nil)
	res := run(t, m, "k", fmt.Sprintf(`import os
print(sorted(os.listdir("/proc/1/root")))
print(sorted(os.listdir("/proc/self/root/../")))
print(sorted(os.listdir("/proc/self/root/../../..")))
print(sorted(n for n in os.listdir("/proc") if n.isdigit()))
for p in ["/proc/%d/environ", "/proc/1/root/etc/shadow", "/proc/self/root/../etc/shadow", "/proc/self/cwd/../../etc/shadow"]:
    try:
        open(p).read(); print("READ", p)
    except OSError as e:
        print("BLOCKED", type(e).__name__)
print(open("/proc/self/uid_map").read().split())
print(open("/proc/self/status").read().split("CapEff:")[1].split()[0])`, os.Getpid()))
	root := "['bin', 'dev', 'etc', 'lib', 'lib64', 'mnt', 'proc', 'sbin', 'tmp', 'usr']"
	want := root + "\n" + root + "\n" + root + "\n['1', '2']\n" + strings.Repeat("BLOCKED FileNotFoundError\n", 4)
	if !strings.HasPrefix(res.Output, want) || !strings.HasSuffix(res.Output, "0000000000000000\n") ||
		!strings.Contains(res.Output, "['1000',") {
		t.Fatalf("proc: %q", res.Output)
	}
	hostUnharmed(t, m, "k")
}

// TestSecuritySymlinksInWorkspace: the server reads the files the code
// writes; a symlink to a host file must not make it read the host file.
func TestSecuritySymlinksInWorkspace(t *testing.T) {
	t.Parallel()
	m, root := newManager(t, nil)
	secret := filepath.Join(filepath.Dir(root), "secret")
	if err := os.WriteFile(secret, []byte("HOST-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, m, "k", fmt.Sprintf(`import os
os.symlink(%q, "/mnt/data/link")
os.symlink("/etc/passwd", "/mnt/data/passwd")
os.makedirs("/mnt/data/d")
os.symlink("/", "/mnt/data/d/up")
try:
    os.link("/usr/bin/python3", "/mnt/data/hard")
    print("LINKED")
except OSError as e:
    print("BLOCKED", type(e).__name__)`, secret))
	if res.Output != "BLOCKED OSError\n" && !strings.HasPrefix(res.Output, "BLOCKED") {
		t.Fatalf("link: %q", res.Output)
	}
	for _, f := range res.Files {
		if strings.Contains(string(f.Data), "SECRET") || strings.Contains(string(f.Data), "root:") {
			t.Fatalf("the server read a host file through %s", f.Path)
		}
	}
	if len(res.Files) != 0 {
		t.Fatalf("files: %v", res.Files)
	}
	// An input file named like an existing symlink replaces the link.
	in := sandbox.InputFile{Name: "link", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("input")), nil }}
	wantOutput(t, run(t, m, "k", "print(os.path.islink('link'), open('link').read())", in), "False input\n")
	hostUnharmed(t, m, "k")
	if b, _ := os.ReadFile(secret); string(b) != "HOST-SECRET" {
		t.Fatal("host file changed")
	}
}
