package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/assistd/assistd/internal/schema"
)

// bus fans a run's events out to the streams (and poll helpers) of this
// process. Events are published only after the state they describe is
// committed, so a subscriber that re-reads the database never sees the
// future.
type bus struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

func newBus() *bus {
	return &bus{subs: make(map[string]map[*Subscription]struct{})}
}

// Subscription receives the events of one run, in order. Its queue is
// unbounded so that a slow client never stalls the run; it holds at most one
// run's events.
type Subscription struct {
	bus    *bus
	runID  string
	mu     sync.Mutex
	queue  []schema.Event
	notify chan struct{}
	closed bool
	idle   *time.Timer // NextWithin's, reused: a stream waits once per token
}

func (b *bus) subscribe(runID string) *Subscription {
	s := &Subscription{bus: b, runID: runID, notify: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.subs[runID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		b.subs[runID] = m
	}
	m[s] = struct{}{}
	return s
}

func (b *bus) publish(runID string, events ...schema.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[runID] {
		s.mu.Lock()
		s.queue = append(s.queue, events...)
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// ErrIdle is returned by NextWithin when no event came in time.
var ErrIdle = errors.New("engine: no event in time")

// Next returns the next event, waiting for one until ctx ends.
func (s *Subscription) Next(ctx context.Context) (schema.Event, error) {
	return s.NextWithin(ctx, 0)
}

// NextWithin is Next giving up with ErrIdle after d without an event (d <= 0
// waits as long as ctx lasts). Next and NextWithin are for one goroutine.
func (s *Subscription) NextWithin(ctx context.Context, d time.Duration) (schema.Event, error) {
	var idle <-chan time.Time
	if d > 0 {
		if s.idle == nil {
			s.idle = time.NewTimer(d)
		} else {
			s.idle.Reset(d)
		}
		defer s.idle.Stop()
		idle = s.idle.C
	}
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue[0] = schema.Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return schema.Event{}, ctx.Err()
		case <-idle:
			return schema.Event{}, ErrIdle
		case <-s.notify:
		}
	}
}

// TryNext returns the next event if one is queued, without waiting.
func (s *Subscription) TryNext() (schema.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return schema.Event{}, false
	}
	ev := s.queue[0]
	s.queue[0] = schema.Event{}
	s.queue = s.queue[1:]
	return ev, true
}

// Close stops delivery; it is safe to call more than once, and on nil.
func (s *Subscription) Close() {
	if s == nil {
		return
	}
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if m := b.subs[s.runID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.subs, s.runID)
		}
	}
}
