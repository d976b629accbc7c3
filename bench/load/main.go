// Command load is assistd's load benchmark. It builds the real binary,
// starts `assistd serve` on a free loopback port with a fresh data directory,
// and measures:
//
//   - message creates per second (POST /v1/threads/{id}/messages) at a fixed
//     concurrency for a fixed duration, spread over several threads;
//   - the latency of GET /v1/threads/{id}/messages?limit=20 at concurrency 1
//     on a thread with at least 100 messages (p50/p90/p99);
//   - the server's peak resident memory (VmHWM from /proc/PID/status).
//
// Usage, from the repository root:
//
//	go run ./bench/load [-duration 10s] [-concurrency 16] [-list-requests 5000]
//
// Every request loop is bounded in both count and time, and only loopback is
// used.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Targets the numbers are compared with.
const (
	targetCreatesPerSec = 5000
	targetListP50       = time.Millisecond
)

type options struct {
	bin          string
	duration     time.Duration
	concurrency  int
	threads      int
	listMessages int
	listWarmup   int
	listRequests int
	keep         bool
	check        bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long the message-create phase runs")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients in the message-create phase")
	flag.IntVar(&o.threads, "threads", 16, "threads the message creates are spread over")
	flag.IntVar(&o.listMessages, "list-messages", 120, "messages in the thread the list phase reads (>= 100)")
	flag.IntVar(&o.listWarmup, "list-warmup", 500, "list requests before measuring")
	flag.IntVar(&o.listRequests, "list-requests", 5000, "measured list requests (sequential)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.Parse()
	if o.concurrency < 1 || o.threads < 1 || o.duration <= 0 || o.listRequests < 1 || o.listMessages < 20 {
		fmt.Fprintln(os.Stderr, "load: -concurrency, -threads, -duration and -list-requests must be positive, -list-messages >= 20")
		os.Exit(2)
	}
	code, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(o options) (int, error) {
	tmp, err := os.MkdirTemp("", "assistd-bench-")
	if err != nil {
		return 1, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "assistd")
		fmt.Fprintln(os.Stderr, "building assistd ...")
		build := exec.Command("go", "build", "-o", bin, "github.com/assistd/assistd/cmd/assistd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return 1, fmt.Errorf("go build: %w", err)
		}
	}
	data := filepath.Join(tmp, "data")

	key, err := createKey(bin, data)
	if err != nil {
		return 1, err
	}
	srv, err := startServer(bin, data)
	if err != nil {
		return 1, err
	}
	defer srv.stop()
	fmt.Fprintf(os.Stderr, "server pid %d on %s\n", srv.cmd.Process.Pid, srv.addr)

	c := &client{
		base: "http://" + srv.addr,
		key:  key,
		http: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        4 * o.concurrency,
				MaxIdleConnsPerHost: 4 * o.concurrency,
				IdleConnTimeout:     time.Minute,
				DisableCompression:  true,
			},
		},
	}

	creates, err := benchCreates(c, o)
	if err != nil {
		return 1, fmt.Errorf("message creates: %w", err)
	}
	list, err := benchList(c, o)
	if err != nil {
		return 1, fmt.Errorf("message list: %w", err)
	}
	hwm, err := peakRSS(srv.cmd.Process.Pid)
	if err != nil {
		return 1, err
	}

	okCreates := creates.perSec >= targetCreatesPerSec
	okList := list.p50 <= targetListP50
	fmt.Printf("\nassistd load benchmark (SQLite, %s)\n\n", srv.addr)
	fmt.Printf("%-46s %-10s %-22s %s\n", "measure", "target", "measured", "")
	row := func(name, target, measured string, ok *bool) {
		verdict := ""
		if ok != nil {
			verdict = "MISS"
			if *ok {
				verdict = "ok"
			}
		}
		fmt.Printf("%-46s %-10s %-22s %s\n", name, target, measured, verdict)
	}
	row(fmt.Sprintf("message creates/s (c=%d, %d threads, %s)", o.concurrency, o.threads, o.duration),
		fmt.Sprintf(">= %d", targetCreatesPerSec), fmt.Sprintf("%.0f", creates.perSec), &okCreates)
	row("  create latency p50 / p99", "", fmt.Sprintf("%s / %s", ms(creates.p50), ms(creates.p99)), nil)
	row("  creates ok / failed", "", fmt.Sprintf("%d / %d", creates.ok, creates.failed), nil)
	row(fmt.Sprintf("list messages limit=20 p50 (c=1, n=%d)", list.n), "<= 1 ms", ms(list.p50), &okList)
	row("list messages limit=20 p90", "", ms(list.p90), nil)
	row("list messages limit=20 p99", "", ms(list.p99), nil)
	row("peak RSS of the server (VmHWM)", "", fmt.Sprintf("%.1f MiB", float64(hwm)/(1<<20)), nil)
	fmt.Println()

	if o.check && !(okCreates && okList) {
		return 1, nil
	}
	return 0, nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + " ms"
}

// createKey runs `assistd keys create`, which prints only the key.
func createKey(bin, data string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "keys", "create", "--data", data, "--project", "bench")
	cmd.Stderr = &stderr
	cmd.Env = benchEnv()
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

// benchEnv is the environment without ASSISTD_* settings, so the benchmark
// measures the defaults.
func benchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ASSISTD_") {
			env = append(env, kv)
		}
	}
	return env
}

type server struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

var readyAddr = regexp.MustCompile(`msg=ready addr=(\S+)`)

func startServer(bin, data string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = benchEnv()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
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
	case s.addr = <-ready:
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

// stop sends SIGTERM and waits (bounded) for the exit.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

type client struct {
	base string
	key  string
	http *http.Client
}

// do sends one request, drains the body and decodes it into out when out is
// non-nil. A status other than 200 is an error.
func (c *client) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *client) createThread() (string, error) {
	var t struct{ ID string }
	if err := c.do(http.MethodPost, "/v1/threads", []byte(`{}`), &t); err != nil {
		return "", err
	}
	if t.ID == "" {
		return "", errors.New("thread without id")
	}
	return t.ID, nil
}

func messageBody(i int) []byte {
	return []byte(`{"role":"user","content":"benchmark message ` + strconv.Itoa(i) + `: the quick brown fox jumps over the lazy dog"}`)
}

type createResult struct {
	perSec     float64
	ok, failed int64
	p50, p99   time.Duration
}

// maxCreatesPerWorker bounds the create loop by count as well as by time.
const maxCreatesPerWorker = 5_000_000

func benchCreates(c *client, o options) (createResult, error) {
	threads := make([]string, o.threads)
	for i := range threads {
		id, err := c.createThread()
		if err != nil {
			return createResult{}, err
		}
		threads[i] = id
	}
	// Warm the connection pool and the server.
	for i := range 2 * o.concurrency {
		if err := c.do(http.MethodPost, "/v1/threads/"+threads[i%len(threads)]+"/messages", messageBody(i), nil); err != nil {
			return createResult{}, err
		}
	}

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, o.concurrency)
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/v1/threads/" + threads[w%len(threads)] + "/messages"
			samples := make([]time.Duration, 0, 1<<14)
			for i := 0; i < maxCreatesPerWorker; i++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if err := c.do(http.MethodPost, path, messageBody(i), nil); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					if failed.Load() > 1000 {
						break
					}
					continue
				}
				samples = append(samples, time.Since(t0))
				ok.Add(1)
			}
			lat[w] = samples
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "first create error:", e)
	}
	if ok.Load() == 0 {
		return createResult{}, fmt.Errorf("no message was created: %v", firstErr.Load())
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return createResult{
		perSec: float64(ok.Load()) / elapsed.Seconds(),
		ok:     ok.Load(),
		failed: failed.Load(),
		p50:    percentile(all, 0.50),
		p99:    percentile(all, 0.99),
	}, nil
}

type listResult struct {
	n             int
	p50, p90, p99 time.Duration
}

// listPhaseTimeout bounds the whole list phase.
const listPhaseTimeout = 5 * time.Minute

func benchList(c *client, o options) (listResult, error) {
	thread, err := c.createThread()
	if err != nil {
		return listResult{}, err
	}
	for i := range o.listMessages {
		if err := c.do(http.MethodPost, "/v1/threads/"+thread+"/messages", messageBody(i), nil); err != nil {
			return listResult{}, err
		}
	}
	path := "/v1/threads/" + thread + "/messages?limit=20"
	var page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if err := c.do(http.MethodGet, path, nil, &page); err != nil {
		return listResult{}, err
	}
	if len(page.Data) != 20 || !page.HasMore {
		return listResult{}, fmt.Errorf("list returned %d messages (has_more=%v), want 20 and more", len(page.Data), page.HasMore)
	}

	deadline := time.Now().Add(listPhaseTimeout)
	for range o.listWarmup {
		if err := c.do(http.MethodGet, path, nil, nil); err != nil {
			return listResult{}, err
		}
	}
	lat := make([]time.Duration, 0, o.listRequests)
	for range o.listRequests {
		if time.Now().After(deadline) {
			break
		}
		t0 := time.Now()
		if err := c.do(http.MethodGet, path, nil, nil); err != nil {
			return listResult{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return listResult{
		n:   len(lat),
		p50: percentile(lat, 0.50),
		p90: percentile(lat, 0.90),
		p99: percentile(lat, 0.99),
	}, nil
}

// percentile returns the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// peakRSS reads the process's high-water resident set size in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc status")
}
