package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDevModel(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "script.json")
	err := os.WriteFile(script, []byte(`{"rules": [
		{"match": {"user_contains": "ping"}, "reply": {"text": "pong"}},
		{"match": {"user_contains": "wait"}, "reply": {"hang": true}}]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }

	// A bad script is a usage error.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"rulez": []}`), 0o600)
	var errOut lockedBuffer
	if code := run(context.Background(), []string{"dev-model", "--script", bad}, noEnv, &bytes.Buffer{}, &errOut); code != exitUsage {
		t.Fatalf("bad script: exit %d, want %d; stderr %s", code, exitUsage, errOut.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"dev-model", "--listen", "127.0.0.1:0", "--script", script,
			"--latency", "1ms", "--tokens-per-second", "1000", "--log-level", "debug"}, noEnv, &bytes.Buffer{}, &stderr)
	}()
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, `msg="dev-model ready"`) {
				if m := textAddr.FindStringSubmatch(line); m != nil {
					addr = m[1]
				}
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("dev-model exited %d before ready:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev-model not ready:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	res, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"ping"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Message struct{ Content string } }
	}
	err = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if err != nil || len(out.Choices) != 1 || out.Choices[0].Message.Content != "pong" {
		t.Fatalf("reply %+v: %v", out, err)
	}

	// A hanging request must not hold up the shutdown.
	hung := make(chan struct{})
	go func() {
		defer close(hung)
		res, err := http.Post("http://"+addr+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"wait"}]}`))
		if err == nil {
			res.Body.Close()
		}
	}()
	for !strings.Contains(stderr.String(), "path=/v1/messages") { // the debug line of the hanging request
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("dev-model did not stop:\n%s", stderr.String())
	}
	<-hung
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Fatalf("no stopped line:\n%s", stderr.String())
	}
}
