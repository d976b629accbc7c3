package storetest

// Benchmarks shared by every store.Store backend. A backend's bench_test.go
// wraps each with a constructor for fresh, migrated stores, keeping the
// benchmark names per package:
//
//	func BenchmarkMessageList20(b *testing.B) {
//		storetest.BenchMessageList20(b, func(b *testing.B) store.Store { return openTest(b) })
//	}

import (
	"context"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// benchMessage returns a typical short user message.
func benchMessage(threadID string) *schema.Message {
	return &schema.Message{
		ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: time.Now().Unix(),
		ThreadID: threadID, Status: schema.MessageStatusCompleted, Role: "user",
		Content:     []schema.ContentPart{schema.TextPart("What is the weather like in Paris today? Please answer briefly.")},
		Attachments: []schema.MessageAttachment{}, Metadata: schema.Metadata{},
	}
}

// BenchMessageCreateParallel creates messages from 16 goroutines (the
// target is >= 5,000/s on 2 cores), spread over 16 threads, and reports
// msgs/s. newStore must return a fresh, migrated store and arrange for its
// cleanup.
func BenchMessageCreateParallel(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx := context.Background()
	s := newStore(b)
	const concurrency = 16
	threads := make([]string, concurrency)
	for i := range threads {
		th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
		if err := s.ThreadCreate(ctx, "proj_1", th, nil); err != nil {
			b.Fatal(err)
		}
		threads[i] = th.ID
	}
	rate := parallel(b, concurrency, func(worker int, pb *testing.PB) {
		thread := threads[worker%concurrency]
		for pb.Next() {
			if err := s.MessageCreate(ctx, "proj_1", benchMessage(thread)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(rate, "msgs/s")
}

// parallel runs body from about concurrency goroutines, each given its
// number from 0, after resetting the timer, and returns operations per
// second.
func parallel(b *testing.B, concurrency int, body func(worker int, pb *testing.PB)) float64 {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((concurrency + procs - 1) / procs)
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) { body(int(next.Add(1)-1), pb) })
	return float64(b.N) / time.Since(start).Seconds()
}

// BenchMessageList20 lists the newest 20 messages of a 1,000-message
// thread (the target is p50 <= 1 ms) and reports the p50 and p99 latency
// (p50-µs, p99-µs). newStore is as for BenchMessageCreateParallel.
func BenchMessageList20(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx := context.Background()
	s := newStore(b)
	th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
	msgs := make([]*schema.Message, 1000)
	for i := range msgs {
		msgs[i] = benchMessage(th.ID)
	}
	if err := s.ThreadCreate(ctx, "proj_1", th, msgs); err != nil {
		b.Fatal(err)
	}
	p := store.MessageListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderDesc, After: msgs[500].ID}}
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		page, err := s.MessageList(ctx, "proj_1", th.ID, p)
		lat = append(lat, time.Since(t0))
		if err != nil || len(page.Data) != 20 {
			b.Fatalf("MessageList: %d messages, %v", len(page.Data), err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchRunClaim claims runs among 100 claimable and 1,000 finished ones
// (the claim query must not scan finished runs). Each claim happens after
// the previous leases lapsed, so every iteration finds work. newStore is as
// for BenchMessageCreateParallel.
func BenchRunClaim(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx := context.Background()
	s := newStore(b)
	for i := range 1100 {
		th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
		status := schema.RunCompleted
		if i%11 == 0 {
			status = schema.RunQueued
		}
		r := &schema.Run{ID: schema.NewID(schema.PrefixRun), Object: "thread.run", CreatedAt: 1, ThreadID: th.ID,
			Status: status, Model: "gpt-4o", Tools: []schema.Tool{}, Metadata: schema.Metadata{},
			TruncationStrategy: schema.TruncationStrategy{Type: schema.TruncationAuto}}
		if err := s.RunCreateWithThread(ctx, "proj_1", th, nil, r, nil); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	for b.Loop() {
		now = now.Add(time.Minute)
		if _, err := s.RunClaim(ctx, store.RunClaimParams{Owner: "bench", Now: now, LeaseUntil: now.Add(30 * time.Second)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRunSaveParallel is the commit every streamed run makes at its first
// token (a message-creation step and its message, the run unchanged), from
// 256 goroutines each saving its own leased run, as a burst of concurrent
// runs does; it reports saves/s. Like the engine's, its context can be
// cancelled and its saves keep the run's metadata.
func BenchRunSaveParallel(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newStore(b)
	const concurrency = 256
	lease := &store.Lease{Owner: "bench", Until: time.Now().Add(time.Hour)}
	runs := make([]*schema.Run, concurrency)
	for i := range runs {
		th := &schema.Thread{ID: schema.NewID(schema.PrefixThread), Object: "thread", CreatedAt: 1}
		r := &schema.Run{ID: schema.NewID(schema.PrefixRun), Object: "thread.run", CreatedAt: 1, ThreadID: th.ID,
			Status: schema.RunInProgress, Model: "gpt-4o", Tools: []schema.Tool{}, Metadata: schema.Metadata{},
			TruncationStrategy: schema.TruncationStrategy{Type: schema.TruncationAuto}}
		if err := s.RunCreateWithThread(ctx, "proj_1", th, nil, r, lease); err != nil {
			b.Fatal(err)
		}
		runs[i] = r
	}
	rate := parallel(b, concurrency, func(worker int, pb *testing.PB) {
		r := runs[worker%concurrency]
		for pb.Next() {
			m := benchMessage(r.ThreadID)
			m.Role, m.Status, m.RunID = "assistant", schema.MessageStatusInProgress, &r.ID
			step := &schema.RunStep{ID: schema.NewID(schema.PrefixStep), Object: "thread.run.step", CreatedAt: 1,
				RunID: r.ID, ThreadID: r.ThreadID, Type: schema.StepMessageCreation, Status: schema.StepInProgress,
				StepDetails: schema.StepDetails{Type: schema.StepMessageCreation, MessageCreation: &schema.MessageCreation{MessageID: m.ID}}}
			if err := s.RunSave(ctx, "proj_1", &store.RunSaveParams{Run: r, ExpectStatus: schema.RunInProgress, Owner: "bench", KeepMetadata: true, RunUnchanged: true,
				Steps: []*schema.RunStep{step}, Messages: []*schema.Message{m}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(rate, "saves/s")
}
