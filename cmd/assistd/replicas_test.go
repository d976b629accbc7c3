package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/store/postgres/pgtest"
)

// do sends method url with key (and an optional header pair) and returns
// the response's status, body and headers.
func do(t *testing.T, method, url, key string, body io.Reader, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// TestServePostgresReplicasShareFiles starts two serve processes with
// different data directories on one PostgreSQL schema: a file uploaded to
// one is downloaded, whole and by range, from the other, and deleted there
// for both. The bytes are in the database, not in either data directory.
func TestServePostgresReplicasShareFiles(t *testing.T) {
	t.Parallel()
	dbURL, _ := pgtest.NewSchema(t)
	dataA := filepath.Join(t.TempDir(), "a")
	dataB := filepath.Join(t.TempDir(), "b")
	a := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", dataA, "--database", dbURL)
	key := a.printedKey()
	if key == "" {
		t.Fatalf("first serve printed no key\n%s", a.logs())
	}
	b := startServer(t, nil, "--listen", "127.0.0.1:0", "--data", dataB, "--database", dbURL)
	baseA, baseB := "http://"+a.addr, "http://"+b.addr

	for _, base := range []string{baseA, baseB} {
		for _, probe := range []string{"/healthz", "/readyz"} {
			code, body, _ := do(t, http.MethodGet, base+probe, "", nil)
			if code != http.StatusOK || string(bytes.TrimSpace(body)) != `{"status":"ok"}` {
				t.Fatalf("GET %s%s = %d %s", base, probe, code, body)
			}
		}
	}

	// 2.5 MiB: several of pgblob's 1 MiB chunks, the last one short.
	content := make([]byte, 5<<19)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(r.Uint32())
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("purpose", "assistants")
	fw, err := mw.CreateFormFile("file", "data.bin")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	code, body, _ := do(t, http.MethodPost, baseA+"/v1/files", key, &form, "Content-Type", mw.FormDataContentType())
	if code != http.StatusOK {
		t.Fatalf("upload to A: %d %s", code, body)
	}
	var file struct {
		ID    string
		Bytes int
	}
	if err := json.Unmarshal(body, &file); err != nil || file.Bytes != len(content) {
		t.Fatalf("upload to A: %v, %s", err, body)
	}

	code, body, _ = do(t, http.MethodGet, baseB+"/v1/files/"+file.ID+"/content", key, nil)
	if code != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("download from B: %d, %d bytes, equal %v", code, len(body), bytes.Equal(body, content))
	}
	// A range across the first chunk boundary exercises Seek.
	lo, hi := 1<<20-10, 1<<20+9
	code, body, h := do(t, http.MethodGet, baseB+"/v1/files/"+file.ID+"/content", key, nil,
		"Range", fmt.Sprintf("bytes=%d-%d", lo, hi))
	if code != http.StatusPartialContent || !bytes.Equal(body, content[lo:hi+1]) {
		t.Fatalf("range from B: %d %q (Content-Range %s)", code, body, h.Get("Content-Range"))
	}

	for _, data := range []string{dataA, dataB} {
		filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/files/") {
				t.Errorf("file bytes on disk at %s; they belong in the database", p)
			}
			return nil
		})
	}

	code, body, _ = do(t, http.MethodDelete, baseB+"/v1/files/"+file.ID, key, nil)
	if code != http.StatusOK {
		t.Fatalf("delete on B: %d %s", code, body)
	}
	if code, body, _ := do(t, http.MethodGet, baseA+"/v1/files/"+file.ID+"/content", key, nil); code != http.StatusNotFound {
		t.Fatalf("download from A after delete on B: %d %s", code, body)
	}
	for _, s := range []*server{a, b} {
		if code := s.stop(10 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGTERM\n%s", code, s.logs())
		}
	}
}
