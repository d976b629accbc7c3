package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// relayEnv, when set, makes this program the bare relay of (c)'s second
// control instead of the benchmark: an HTTP reverse proxy to the URL it
// holds that flushes every write at once, the least a per-token streaming
// server can do (one read from the model and one write to the client per
// token, no parsing, no state).
const relayEnv = "ASSISTD_BENCH_RELAY_UPSTREAM"

// serveRelay runs the relay until the process is killed; it prints the
// address it listens on as its first line.
func serveRelay(upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.FlushInterval = -1
	p.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return (&http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// relay is a running relay process.
type relay struct {
	cmd  *exec.Cmd
	base string // http://host:port
}

// startRelay starts this program again as a relay to upstream.
func startRelay(upstream string) (*relay, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), relayEnv+"="+upstream)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.Join(errors.New("relay did not start"), err)
	}
	return &relay{cmd: cmd, base: "http://" + strings.TrimSpace(line)}, nil
}

func (r *relay) pid() int { return r.cmd.Process.Pid }

func (r *relay) stop() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
}
