package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/store/postgres/pgtest"
)

// postJSON sends body to url with key and decodes the JSON answer into out.
func postJSON(t *testing.T, url, key string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("OpenAI-Beta", "assistants=v2")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("POST %s: %v in %s", url, err, data)
	}
}

// TestServePostgres runs migrate, keys create and serve against a fresh
// PostgreSQL schema (named in the URL's search_path), then creates an
// assistant, a thread and a message through HTTP and finds them in the
// database, not in a SQLite file.
func TestServePostgres(t *testing.T) {
	t.Parallel()
	dbURL, schema := pgtest.NewSchema(t)
	data := filepath.Join(t.TempDir(), "data")

	for range 2 { // idempotent
		r := runCmd(t, nil, "migrate", "--database", dbURL)
		if r.code != 0 {
			t.Fatalf("migrate --database: exit %d\n%s", r.code, r.stderr)
		}
	}
	// The environment variable works as well as the flag.
	r := runCmd(t, []string{"ASSISTD_DATABASE=" + dbURL}, "keys", "create", "--data", data, "--project", "pg")
	if r.code != 0 || !keyLine.MatchString(r.stdout) {
		t.Fatalf("keys create with ASSISTD_DATABASE: exit %d stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	key := strings.TrimSpace(r.stdout)

	s := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", data, "--database", dbURL)
	if k := s.printedKey(); k != "" {
		t.Fatalf("serve printed a new key although the database holds one\n%s", s.logs())
	}
	base := "http://" + s.addr
	var asst, thread, msg struct{ ID string }
	postJSON(t, base+"/v1/assistants", key, map[string]any{"model": "gpt-4o", "name": "on postgres"}, &asst)
	postJSON(t, base+"/v1/threads", key, map[string]any{}, &thread)
	postJSON(t, base+"/v1/threads/"+thread.ID+"/messages", key, map[string]any{"role": "user", "content": "hello from PostgreSQL"}, &msg)
	code, body := get(t, base+"/v1/threads/"+thread.ID+"/messages", key)
	if code != http.StatusOK || !strings.Contains(body, msg.ID) || !strings.Contains(body, "hello from PostgreSQL") {
		t.Fatalf("GET messages: %d %s", code, body)
	}
	if code := s.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, s.logs())
	}

	// The objects are rows of the schema.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+schema+`.assistants WHERE id = $1)
 + (SELECT count(*) FROM `+schema+`.messages WHERE id = $2 AND thread_id = $3)`, asst.ID, msg.ID, thread.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("found %d of the assistant and message in schema %s, want 2", n, schema)
	}
	if _, err := os.Stat(filepath.Join(data, "assistd.db")); err == nil {
		t.Fatal("a SQLite database was created although --database names PostgreSQL")
	}
}
