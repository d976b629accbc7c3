package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/api"
	"github.com/assistd/assistd/internal/store"
	"github.com/assistd/assistd/internal/store/postgres"
	"github.com/assistd/assistd/internal/store/postgres/pgtest"
	"github.com/assistd/assistd/internal/store/sqlite"
)

// probe GETs path from a server on st and returns the status and body.
func probe(t *testing.T, st store.Store, method, path string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Config{Store: st}))
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func wantProbe(t *testing.T, st store.Store, path string, code int, body string) {
	t.Helper()
	gotCode, gotBody := probe(t, st, http.MethodGet, path)
	if gotCode != code || !strings.Contains(gotBody, body) {
		t.Fatalf("GET %s = %d %s; want %d with %s", path, gotCode, gotBody, code, body)
	}
}

const (
	statusOK          = `"status":"ok"`
	statusUnavailable = `"status":"unavailable"`
)

// checkProbes walks a store through its life: not migrated (not ready),
// migrated (ready), closed (not ready); /healthz says ok throughout, with
// no API key.
func checkProbes(t *testing.T, st store.Store) {
	t.Helper()
	wantProbe(t, st, "/healthz", http.StatusOK, statusOK)
	wantProbe(t, st, "/readyz", http.StatusServiceUnavailable, "not migrated")
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantProbe(t, st, "/readyz", http.StatusOK, statusOK)
	st.Close()
	wantProbe(t, st, "/readyz", http.StatusServiceUnavailable, statusUnavailable)
	wantProbe(t, st, "/healthz", http.StatusOK, statusOK)
}

func TestProbesSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "assistd.db"))
	if err != nil {
		t.Fatal(err)
	}
	checkProbes(t, st)
	// The probes are GET only, and neighbours stay unknown routes.
	if code, _ := probe(t, st, http.MethodPost, "/healthz"); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz = %d, want 405", code)
	}
	if code, body := probe(t, st, http.MethodGet, "/healthzz"); code != http.StatusNotFound || !strings.Contains(body, "Invalid URL") {
		t.Fatalf("GET /healthzz = %d %s, want the unknown-route 404", code, body)
	}
}

func TestProbesPostgres(t *testing.T) {
	t.Parallel()
	u, schema := pgtest.NewSchema(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkProbes(t, st)

	// A schema that lost a migration (an older database under a newer
	// binary) is not ready either.
	st2, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	wantProbe(t, st2, "/readyz", http.StatusOK, statusOK)
	if _, err := st2.Pool().Exec(ctx, `DELETE FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+` WHERE version = (SELECT max(version) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+`)`); err != nil {
		t.Fatal(err)
	}
	wantProbe(t, st2, "/readyz", http.StatusServiceUnavailable, "not migrated")
}

// TestProbesPostgresUnreachable serves from a store that reaches the
// database through a TCP proxy, then cuts the proxy: with the database
// unreachable the server is not ready, and it is again once the way back
// is open.
func TestProbesPostgresUnreachable(t *testing.T) {
	t.Parallel()
	u, _ := pgtest.NewSchema(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, pu.Host)
	pu.Host = p.addr
	ctx := context.Background()
	st, err := postgres.Open(ctx, pu.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wantProbe(t, st, "/readyz", http.StatusOK, statusOK)
	p.setDown(true)
	wantProbe(t, st, "/readyz", http.StatusServiceUnavailable, "database unreachable")
	wantProbe(t, st, "/healthz", http.StatusOK, statusOK)
	p.setDown(false)
	wantProbe(t, st, "/readyz", http.StatusOK, statusOK)
}

// proxy forwards TCP connections to a target; while down it drops every
// connection, open and new.
type proxy struct {
	addr   string
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &proxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { p.setDown(true) })
	return p
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		d.Close()
		return
	}
	p.conns[c], p.conns[d] = true, true
	p.mu.Unlock()
	go func() { io.Copy(d, c); d.Close() }()
	io.Copy(c, d)
	c.Close()
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
