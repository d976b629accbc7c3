// Package metrics holds the server's Prometheus metrics. A Metrics value owns
// its own registry (nothing is registered in the client library's default
// one), so that every server, and every test, has separate counters.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/assistd/assistd/internal/sandbox"
)

// Metrics is one server's registry and the instruments that feed it.
type Metrics struct {
	reg *prometheus.Registry

	execs     *prometheus.CounterVec
	execTime  prometheus.Histogram
	evictions *prometheus.CounterVec
}

// ExecBuckets are the bounds (seconds) of the execution duration histogram:
// from a warm print(1) (a few ms) to the default 60 s timeout.
var ExecBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// New returns metrics with a fresh registry holding the Go runtime and
// process collectors and the sandbox's instruments.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		execs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assistd_sandbox_executions_total",
			Help: "code_interpreter executions by outcome: ok, error (the code raised), timeout, restarted (the interpreter ended), failed (no execution: no session to be had, start failure, cancelled).",
		}, []string{"outcome"}),
		execTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "assistd_sandbox_execution_duration_seconds",
			Help:    "Wall time of code_interpreter executions, including a session start when the thread had none.",
			Buckets: ExecBuckets,
		}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assistd_sandbox_session_evictions_total",
			Help: "Idle sandbox sessions ended to make room, by the limit that was reached: server or project.",
		}, []string{"limit"}),
	}
	// Every outcome and limit is present from the start, at 0.
	for _, o := range []sandbox.Outcome{sandbox.OutcomeOK, sandbox.OutcomeError, sandbox.OutcomeTimeout, sandbox.OutcomeRestarted, sandbox.OutcomeFailed} {
		m.execs.WithLabelValues(string(o))
	}
	m.evictions.WithLabelValues("server")
	m.evictions.WithLabelValues("project")
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.execs, m.execTime, m.evictions,
	)
	return m
}

// Registry is the registry the metrics are in (to add more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Executed implements sandbox.Observer.
func (m *Metrics) Executed(outcome sandbox.Outcome, d time.Duration) {
	m.execs.WithLabelValues(string(outcome)).Inc()
	m.execTime.Observe(d.Seconds())
}

// SessionEvicted implements sandbox.Observer.
func (m *Metrics) SessionEvicted(reason string) {
	m.evictions.WithLabelValues(reason).Inc()
}

// WatchSandbox adds the gauge of live sandbox sessions, read from sessions
// at each scrape. Call it once.
func (m *Metrics) WatchSandbox(sessions func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "assistd_sandbox_sessions",
		Help: "Live code_interpreter sessions (Python processes with their workspaces).",
	}, func() float64 { return float64(sessions()) }))
}

var _ sandbox.Observer = (*Metrics)(nil)
