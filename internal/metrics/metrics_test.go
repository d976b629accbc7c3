package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/metrics"
	"github.com/assistd/assistd/internal/sandbox"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestSandboxMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	live := 3
	m.WatchSandbox(func() int { return live })
	m.Executed(sandbox.OutcomeOK, 5*time.Millisecond)
	m.Executed(sandbox.OutcomeOK, 20*time.Millisecond)
	m.Executed(sandbox.OutcomeTimeout, 3*time.Second)
	m.SessionEvicted("project")
	body := scrape(t, m)
	for _, want := range []string{
		`assistd_sandbox_executions_total{outcome="ok"} 2`,
		`assistd_sandbox_executions_total{outcome="timeout"} 1`,
		`assistd_sandbox_executions_total{outcome="error"} 0`,
		`assistd_sandbox_executions_total{outcome="restarted"} 0`,
		`assistd_sandbox_execution_duration_seconds_count 3`,
		`assistd_sandbox_execution_duration_seconds_bucket{le="0.01"} 1`,
		`assistd_sandbox_session_evictions_total{limit="project"} 1`,
		`assistd_sandbox_session_evictions_total{limit="server"} 0`,
		"assistd_sandbox_sessions 3",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
}

// TestRegistriesAreSeparate: two servers in one process do not share
// counters (no default registry).
func TestRegistriesAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(), metrics.New()
	a.Executed(sandbox.OutcomeError, time.Millisecond)
	if body := scrape(t, b); !strings.Contains(body, `assistd_sandbox_executions_total{outcome="error"} 0`) {
		t.Fatalf("b saw a's execution:\n%s", body)
	}
}
