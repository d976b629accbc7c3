// Command code is assistd's code_interpreter benchmark. It measures:
//
//	(a) warm execution overhead: print(1) round trips through one live
//	    sandbox session (sandbox.Manager.Exec), p50/p99;
//	(b) cold session start: print(1) in a new session each time (bwrap,
//	    python3, the driver's limits), p50/max;
//	(c) end to end through a run: it builds the binary, starts
//	    `assistd dev-model --script FILE` (a rule whose reply calls
//	    code_interpreter with pandas + matplotlib code, and a rule answering
//	    after the tool result) and `assistd serve` with OPENAI_BASE_URL
//	    pointing at it, uploads a generated CSV (10 MB by default, purpose
//	    assistants), creates an assistant with the code_interpreter tool and
//	    a thread with the file in tool_resources.code_interpreter.file_ids,
//	    and times run create -> completed; the run's tool step must have an
//	    image output. Each run is on a new thread (a cold session that copies
//	    the file and imports pandas).
//
// Usage, from the repository root (needs bwrap and the Python packages of
// scripts/setup.sh):
//
//	go run ./bench/code [-warm 200] [-cold 10] [-runs 3] [-csv-mb 10] [-check]
//
// Only loopback is used, and every loop is bounded in count and time.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/assistd/assistd/bench/internal/benchkit"
	"github.com/assistd/assistd/internal/sandbox"
)

// Targets (issue 5, Performance).
const (
	targetWarm = 20 * time.Millisecond
	targetCold = 300 * time.Millisecond
)

type options struct {
	bin       string
	warm      int
	cold      int
	runs      int
	csvMB     int
	runBudget time.Duration
	keep      bool
	check     bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.IntVar(&o.warm, "warm", 200, "warm print(1) executions for (a)")
	flag.IntVar(&o.cold, "cold", 10, "cold session starts for (b)")
	flag.IntVar(&o.runs, "runs", 3, "runs for (c); 0 skips (c)")
	flag.IntVar(&o.csvMB, "csv-mb", 10, "size of the CSV of (c) in MiB")
	flag.DurationVar(&o.runBudget, "run-timeout", 2*time.Minute, "bound of one run of (c)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.Parse()
	if o.warm < 1 || o.cold < 1 || o.runs < 0 || o.csvMB < 1 || o.runBudget <= 0 {
		fmt.Fprintln(os.Stderr, "code: -warm, -cold, -csv-mb and -run-timeout must be positive, -runs not negative")
		os.Exit(2)
	}
	benchkit.Main("code", func() (int, error) { return run(o) })
}

func run(o options) (int, error) {
	tmp, cleanup, err := benchkit.TempDir("assistd-bench-code-", o.keep)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	if err := os.Chmod(tmp, 0o711); err != nil { // the sandbox runs as nobody under root
		return 1, err
	}
	rep := benchkit.NewTable(58, 12, 30)
	load1 := benchkit.LoadAvg()

	warm, cold, err := sessions(o, filepath.Join(tmp, "sessions"))
	if err != nil {
		return 1, err
	}
	rep.Row(fmt.Sprintf("(a) warm print(1) round trip p50 (n=%d)", o.warm), "<= "+ms(targetWarm), ms(warm.P50), benchkit.OK(warm.P50 <= targetWarm))
	rep.Row("    p99 / max", "", fmt.Sprintf("%s / %s", ms(warm.P99), ms(warm.Max)), nil)
	rep.Row(fmt.Sprintf("(b) cold session start + print(1) p50 (n=%d)", o.cold), "<= "+ms(targetCold), ms(cold.P50), benchkit.OK(cold.P50 <= targetCold))
	rep.Row("    max", "", ms(cold.Max), nil)

	if o.runs > 0 {
		e, err := endToEnd(o, tmp)
		if err != nil {
			return 1, fmt.Errorf("(c) end to end: %w", err)
		}
		rep.Row(fmt.Sprintf("(c) %d MiB CSV -> pandas + matplotlib chart, run p50 (n=%d)", o.csvMB, o.runs), "", ms(e.run.P50), nil)
		rep.Row("    run create -> completed min / max", "", fmt.Sprintf("%s / %s", ms(e.run.Min), ms(e.run.Max)), nil)
		rep.Row("    upload of the CSV", "", ms(e.upload), nil)
		rep.Row("    image output in the step, PNG", "yes", "yes", benchkit.OK(true))
	}

	fmt.Printf("\nassistd code_interpreter benchmark (bubblewrap sandbox, %s)\n", sandbox.DefaultPython)
	fmt.Printf("machine: %d CPUs, load average %s at start, %s at end\n\n", runtime.NumCPU(), load1, benchkit.LoadAvg())
	rep.Print()
	return rep.ExitCode(o.check), nil
}

// sessions measures (a) and (b) on a Manager in this process.
func sessions(o options, root string) (warm, cold benchkit.Stats, err error) {
	m, err := sandbox.NewManager(sandbox.Config{Root: root, MaxSessions: 4})
	if err != nil {
		return benchkit.Stats{}, benchkit.Stats{}, err
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := m.Check(ctx); err != nil {
		return benchkit.Stats{}, benchkit.Stats{}, fmt.Errorf("the sandbox does not work here (run scripts/setup.sh as root): %w", err)
	}
	exec1 := func(key string) (time.Duration, error) {
		start := time.Now()
		res, err := m.Exec(ctx, key, "print(1)", nil)
		d := time.Since(start)
		if err == nil && res.Output != "1\n" {
			err = fmt.Errorf("print(1) printed %q", res.Output)
		}
		return d, err
	}
	if _, err := exec1("bench/warm"); err != nil { // starts the session
		return benchkit.Stats{}, benchkit.Stats{}, err
	}
	var ws []time.Duration
	for range o.warm {
		d, err := exec1("bench/warm")
		if err != nil {
			return benchkit.Stats{}, benchkit.Stats{}, err
		}
		ws = append(ws, d)
	}
	var cs []time.Duration
	for i := range o.cold {
		d, err := exec1("bench/cold-" + strconv.Itoa(i))
		if err != nil {
			return benchkit.Stats{}, benchkit.Stats{}, err
		}
		cs = append(cs, d)
	}
	return benchkit.Summarize(ws), benchkit.Summarize(cs), nil
}

type e2e struct {
	run    benchkit.Stats
	upload time.Duration
}

// chartCode is the code the scripted model sends.
const chartCode = `import pandas as pd
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
df = pd.read_csv('/mnt/data/data.csv')
daily = df.groupby('day')['value'].mean()
fig, ax = plt.subplots(figsize=(8, 4))
daily.plot(ax=ax)
ax.set_title('mean value by day')
print(len(df), 'rows;', len(daily), 'days')`

func endToEnd(o options, tmp string) (*e2e, error) {
	bin, err := benchkit.Build(o.bin, tmp)
	if err != nil {
		return nil, err
	}
	args, _ := json.Marshal(map[string]string{"code": chartCode})
	script := map[string]any{"rules": []any{
		map[string]any{"match": map[string]any{"last_role": "tool"}, "reply": map[string]any{"text": "Done: {{last_tool_result}}"}},
		map[string]any{"match": map[string]any{"tool_available": "code_interpreter"},
			"reply": map[string]any{"tool_calls": []any{map[string]any{"name": "code_interpreter", "arguments": json.RawMessage(args)}}}},
	}}
	scriptPath := filepath.Join(tmp, "script.json")
	b, _ := json.Marshal(script)
	if err := os.WriteFile(scriptPath, b, 0o644); err != nil {
		return nil, err
	}

	modelAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	model, err := startProc(bin, nil, "dev-model", "--listen", modelAddr, "--script", scriptPath, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	defer model.stop()
	if err := waitHTTP("http://"+modelAddr+"/v1/models", 0); err != nil {
		return nil, fmt.Errorf("dev-model: %w\n%s", err, model.logs.String())
	}

	data := filepath.Join(tmp, "data")
	key, err := benchkit.CreateKey(bin, data, nil)
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := []string{"OPENAI_BASE_URL=http://" + modelAddr + "/v1", "OPENAI_API_KEY=bench"}
	srv, err := startProc(bin, env, "serve", "--listen", addr, "--data", data, "--sandbox-dir", filepath.Join(tmp, "serve-sandbox"), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := waitHTTP("http://"+addr+"/v1/assistants", 200, "Authorization", "Bearer "+key); err != nil {
		return nil, fmt.Errorf("serve: %w\n%s", err, srv.logs.String())
	}
	if strings.Contains(srv.logs.String(), "code_interpreter unavailable") {
		return nil, fmt.Errorf("serve: the sandbox is unavailable:\n%s", srv.logs.String())
	}
	c := &client{benchkit.Client{Base: "http://" + addr, Key: key, HTTP: &http.Client{Timeout: 5 * time.Minute}}}

	csv := makeCSV(o.csvMB << 20)
	start := time.Now()
	var file struct{ ID string }
	if err := c.upload("data.csv", csv, &file); err != nil {
		return nil, err
	}
	res := &e2e{upload: time.Since(start)}
	var asst struct{ ID string }
	if err := c.Do("POST", "/v1/assistants", map[string]any{"model": "gpt-4o", "tools": []any{map[string]string{"type": "code_interpreter"}}}, &asst); err != nil {
		return nil, err
	}
	var runs []time.Duration
	for range o.runs {
		var th struct{ ID string }
		if err := c.Do("POST", "/v1/threads", map[string]any{
			"messages":       []any{map[string]string{"role": "user", "content": "chart the mean value by day"}},
			"tool_resources": map[string]any{"code_interpreter": map[string]any{"file_ids": []string{file.ID}}},
		}, &th); err != nil {
			return nil, err
		}
		var r struct{ ID, Status string }
		start := time.Now()
		if err := c.Do("POST", "/v1/threads/"+th.ID+"/runs", map[string]any{"assistant_id": asst.ID}, &r); err != nil {
			return nil, err
		}
		deadline := start.Add(o.runBudget)
		for r.Status == "queued" || r.Status == "in_progress" {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("run %s still %s after %s", r.ID, r.Status, o.runBudget)
			}
			time.Sleep(5 * time.Millisecond)
			if err := c.Do("GET", "/v1/threads/"+th.ID+"/runs/"+r.ID, nil, &r); err != nil {
				return nil, err
			}
		}
		d := time.Since(start)
		if r.Status != "completed" {
			return nil, fmt.Errorf("run %s ended %s\n%s", r.ID, r.Status, srv.logs.String())
		}
		if err := checkSteps(c, th.ID, r.ID); err != nil {
			return nil, err
		}
		runs = append(runs, d)
	}
	res.run = benchkit.Summarize(runs)
	return res, nil
}

// checkSteps verifies the tool step's image output (a PNG file).
func checkSteps(c *client, thread, run string) error {
	var list struct {
		Data []struct {
			Type        string
			StepDetails struct {
				ToolCalls []struct {
					CodeInterpreter struct {
						Outputs []struct {
							Type  string
							Logs  string
							Image struct {
								FileID string `json:"file_id"`
							}
						}
					} `json:"code_interpreter"`
				} `json:"tool_calls"`
			} `json:"step_details"`
		}
	}
	if err := c.Do("GET", "/v1/threads/"+thread+"/runs/"+run+"/steps?order=asc", nil, &list); err != nil {
		return err
	}
	for _, s := range list.Data {
		if s.Type != "tool_calls" || len(s.StepDetails.ToolCalls) == 0 {
			continue
		}
		var logs string
		for _, out := range s.StepDetails.ToolCalls[0].CodeInterpreter.Outputs {
			if out.Type == "logs" {
				logs = out.Logs
			}
			if out.Type == "image" {
				png, err := c.raw("GET", "/v1/files/"+out.Image.FileID+"/content")
				if err != nil {
					return err
				}
				if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
					return fmt.Errorf("image %s is not a PNG", out.Image.FileID)
				}
				return nil
			}
		}
		return fmt.Errorf("the tool step has no image output; logs: %s", logs)
	}
	return errors.New("the run has no tool_calls step")
}

// makeCSV generates about n bytes of day,category,value rows.
func makeCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 64)
	b.WriteString("day,category,value\n")
	x := uint64(88172645463325252)
	for i := 0; b.Len() < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%d,c%d,%.4f\n", i%365, x%17, float64(x%1000000)/1000)
	}
	return b.Bytes()
}

// client is the API client with a raw GET and a file upload.
type client struct{ benchkit.Client }

func (c *client) raw(method, path string) ([]byte, error) {
	req, err := http.NewRequest(method, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, err
}

func (c *client) upload(name string, data []byte, out any) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("purpose", "assistants")
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		return err
	}
	fw.Write(data)
	w.Close()
	req, err := http.NewRequest("POST", c.Base+"/v1/files", &b)
	if err != nil {
		return err
	}
	c.Header(req)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Send(req, out)
}

// proc is a child process with its combined output.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func startProc(bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) stop() { benchkit.Terminate(p.cmd.Process, p.done) }

// syncBuffer is a bytes.Buffer safe for a child's output and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers want (any status when want is 0),
// for up to 30 s; header is name, value pairs.
func waitHTTP(url string, want int, header ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if want == 0 || resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 30s (last: %s)", url, last)
}

func ms(d time.Duration) string { return benchkit.Millis(d, 2) }
