package api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds /readyz's database check, so a hung database makes
// the probe fail rather than hang.
const readyTimeout = 2 * time.Second

// healthz answers GET /healthz: the process is alive and serving HTTP. It
// does not touch the database, so a database outage does not get the
// process restarted.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: 200 when the store answers a query and its
// schema has every migration of this binary, 503 otherwise (the database is
// unreachable or closed, or it needs `assistd migrate`), so a load balancer
// sends requests only to replicas that can serve them.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	ok, err := s.cfg.Store.SchemaUpToDate(ctx)
	switch {
	case err != nil:
		s.cfg.Logger.WarnContext(r.Context(), "readyz: database check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
	case !ok:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database schema is not migrated"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// getOnly answers other methods than GET and HEAD with 405. (A "GET /path"
// pattern would not: the root's catch-all "/" takes the other methods.)
func getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, &Error{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
				Message: "Not allowed to " + r.Method + " on " + r.URL.Path + ". (HINT: Perhaps you meant to use a different HTTP method?)"})
			return
		}
		h(w, r)
	})
}
