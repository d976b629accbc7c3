package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/schema"
)

// streamIdle is how long a stream waits for an event before it looks at the
// run in the database: the run may be executing on another replica, or its
// executor may have stopped, and the stream must still end with the run.
const streamIdle = 2 * time.Second

// streamRun writes run's events as server-sent events until the run stops
// (a terminal status or requires_action), then "done". A client that
// disconnects only ends its stream: the run goes on.
func (s *Server) streamRun(w http.ResponseWriter, r *http.Request, sub *engine.Subscription, run *schema.Run, include bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	v1 := dialect(r) == DialectV1
	project := projectID(r)
	var enc eventEncoder
	for {
		ev, err := sub.NextWithin(r.Context(), streamIdle)
		if errors.Is(err, engine.ErrIdle) {
			cur, gerr := s.cfg.Store.RunGet(r.Context(), project, run.ThreadID, run.ID)
			if gerr != nil || !(schema.RunIsTerminal(cur.Status) || cur.Status == schema.RunRequiresAction) {
				continue
			}
			// The run stopped without this process hearing of it: events
			// published meanwhile come first, then the run as stored.
			var queued bool
			if ev, queued = sub.TryNext(); !queued {
				ev = schema.Event{Name: schema.RunEventName(cur.Status), Data: cur}
			}
			err = nil
		}
		if err != nil {
			return
		}
		// Write every event already queued before flushing: under load one
		// write carries many deltas instead of one syscall each.
		for {
			if err := enc.write(w, ev.Name, eventPayload(ev.Data, v1, include)); err != nil {
				return
			}
			if run, ok := ev.Data.(*schema.Run); ok && (schema.RunIsTerminal(run.Status) || run.Status == schema.RunRequiresAction) {
				_, _ = w.Write([]byte("event: done\ndata: [DONE]\n\n"))
				_ = rc.Flush()
				return
			}
			var more bool
			if ev, more = sub.TryNext(); !more {
				break
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// eventPayload renders an event's object in the request's dialect.
func eventPayload(data any, v1, include bool) any {
	switch d := data.(type) {
	case *schema.Run:
		d = d.Wire()
		if v1 {
			return d.V1()
		}
		return d
	case *schema.RunStep:
		d = d.Wire()
		if !include {
			d = d.WithoutFileSearchContent()
		}
		if v1 {
			return d.V1()
		}
		return d
	case *schema.Message:
		if v1 {
			return d.V1()
		}
	case *schema.Thread:
		if v1 {
			return d.V1()
		}
	}
	return data
}

// eventEncoder writes server-sent events through one buffer, reused for
// every event of a stream (a stream writes one per token).
type eventEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (e *eventEncoder) write(w io.Writer, name string, data any) error {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
	}
	e.buf.Reset()
	e.buf.WriteString("event: ")
	e.buf.WriteString(name)
	e.buf.WriteString("\ndata: ")
	if err := e.enc.Encode(data); err != nil { // JSON and a newline
		return err
	}
	e.buf.WriteByte('\n')
	_, err := w.Write(e.buf.Bytes())
	return err
}
