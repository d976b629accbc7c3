package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CreateKey runs `assistd keys create` (project "bench") on the data
// directory data with the environment env (nil: this process's) and the
// extra arguments args (e.g. --database URL), and returns the key it prints.
func CreateKey(bin, data string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"keys", "create", "--data", data, "--project", "bench"}, args...)...)
	cmd.Stderr = &stderr
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("keys create: %w\n%s", err, stderr.String())
	}
	key := strings.TrimSpace(string(out))
	if !strings.HasPrefix(key, "sk-") {
		return "", fmt.Errorf("keys create printed %q", out)
	}
	return key, nil
}

// Server is a running `assistd serve`.
type Server struct {
	Cmd    *exec.Cmd
	Addr   string // host:port it listens on
	exited chan struct{}
}

var readyAddr = regexp.MustCompile(`msg=ready addr=(\S+)`)

// StartServer starts `assistd serve` on a free loopback port with the data
// directory data, the environment env and the extra arguments args (e.g.
// --database URL), and waits (up to 30 s) for its "ready" log line. Its log
// is drained for as long as it runs.
func StartServer(bin, data string, env []string, args ...string) (*Server, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data}, args...)...)
	cmd.Env = env
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() { // keep draining so the server never blocks on stderr
			mu.Lock()
			if logs.Len() < 64<<10 {
				logs.WriteString(sc.Text() + "\n")
			}
			mu.Unlock()
			if m := readyAddr.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.Addr = <-ready:
		return s, nil
	case <-s.exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-s.exited
	}
	mu.Lock()
	defer mu.Unlock()
	return nil, fmt.Errorf("server did not become ready:\n%s", logs.String())
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Stop sends SIGTERM and waits (bounded) for the exit.
func (s *Server) Stop() { Terminate(s.Cmd.Process, s.exited) }

// Terminate sends p SIGTERM and waits for exited to be closed; after 15 s
// it kills p and waits again.
func Terminate(p *os.Process, exited <-chan struct{}) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		p.Kill()
		<-exited
	}
}
