// Package storetest is the contract suite every store.Store backend must
// pass. A backend's tests call Run with a constructor for fresh, migrated
// stores:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
//	}
//
// Any change to the store contract must extend this suite. Assertions use
// the standard library only.
//
// The package also holds the benchmarks every backend runs (bench.go):
// BenchMessageCreateParallel, BenchMessageList20 and BenchRunClaim, each
// wrapped by a Benchmark function in the backend's bench_test.go.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// Run runs the whole contract suite. newStore must return a fresh, migrated
// store (empty, not shared with other calls) and arrange for its cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Project", func(t *testing.T) { testProject(t, newStore) })
	t.Run("APIKey", func(t *testing.T) { testAPIKey(t, newStore) })
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, newStore) })
	t.Run("Assistant", func(t *testing.T) { testAssistant(t, newStore) })
	t.Run("Thread", func(t *testing.T) { testThread(t, newStore) })
	t.Run("Message", func(t *testing.T) { testMessage(t, newStore) })
	t.Run("Run", func(t *testing.T) { testRun(t, newStore) })
	t.Run("File", func(t *testing.T) { testFile(t, newStore) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, newStore) })
	t.Run("VectorStore", func(t *testing.T) { testVectorStore(t, newStore) })
}

// testBundle is what most tests start from: a fresh store and two projects,
// proj (the caller's) and other (a foreign tenant).
type testBundle struct {
	ctx   context.Context
	s     store.Store
	proj  string
	other string
}

func setup(t *testing.T, newStore func(t *testing.T) store.Store) *testBundle {
	t.Helper()
	ctx := context.Background()
	s := newStore(t)
	b := &testBundle{ctx: ctx, s: s}
	for i, dst := range []*string{&b.proj, &b.other} {
		p, err := s.ProjectCreate(ctx, &store.ProjectCreateParams{
			ID: schema.NewID("proj_"), Name: fmt.Sprintf("project-%d", i), CreatedAt: time.Now().Unix(),
		})
		if err != nil {
			t.Fatalf("ProjectCreate: %v", err)
		}
		*dst = p.ID
	}
	return b
}

// errSentinel is what patch functions return to test aborted updates.
var errSentinel = errors.New("storetest: patch refused")

func ptr[T any](v T) *T { return &v }

// newAssistant returns a minimal assistant created at createdAt.
func newAssistant(createdAt int64) *schema.Assistant {
	return &schema.Assistant{
		ID:        schema.NewID(schema.PrefixAssistant),
		Object:    "assistant",
		CreatedAt: createdAt,
		Model:     "gpt-4o",
		Tools:     []schema.Tool{},
		Metadata:  schema.Metadata{},
	}
}

// newThread returns an empty thread created at createdAt.
func newThread(createdAt int64) *schema.Thread {
	return &schema.Thread{
		ID:        schema.NewID(schema.PrefixThread),
		Object:    "thread",
		CreatedAt: createdAt,
		Metadata:  schema.Metadata{},
	}
}

// newMessage returns a user text message of threadID.
func newMessage(threadID string, createdAt int64, text string) *schema.Message {
	return &schema.Message{
		ID:          schema.NewID(schema.PrefixMessage),
		Object:      "thread.message",
		CreatedAt:   createdAt,
		ThreadID:    threadID,
		Status:      schema.MessageStatusCompleted,
		CompletedAt: ptr(createdAt),
		Role:        "user",
		Content:     []schema.ContentPart{schema.TextPart(text)},
		Attachments: []schema.MessageAttachment{},
		Metadata:    schema.Metadata{},
	}
}

// newRun returns a run of threadID in status created at createdAt, due to
// expire ten minutes later.
func newRun(threadID string, createdAt int64, status string) *schema.Run {
	return &schema.Run{
		ID:                 schema.NewID(schema.PrefixRun),
		Object:             "thread.run",
		CreatedAt:          createdAt,
		ThreadID:           threadID,
		AssistantID:        "asst_1",
		Status:             status,
		ExpiresAt:          ptr(createdAt + 600),
		Model:              "gpt-4o",
		Instructions:       "Be brief.",
		Tools:              []schema.Tool{},
		Metadata:           schema.Metadata{},
		TruncationStrategy: schema.TruncationStrategy{Type: schema.TruncationAuto},
		ToolChoice:         schema.ToolChoice{Mode: schema.ToolChoiceAuto},
		ParallelToolCalls:  true,
		ResponseFormat:     schema.ResponseFormat{Type: schema.ResponseFormatAuto},
	}
}

// newStep returns an in-progress message_creation step of run.
func newStep(run *schema.Run, createdAt int64) *schema.RunStep {
	return &schema.RunStep{
		ID:          schema.NewID(schema.PrefixStep),
		Object:      "thread.run.step",
		CreatedAt:   createdAt,
		AssistantID: run.AssistantID,
		ThreadID:    run.ThreadID,
		RunID:       run.ID,
		Type:        schema.StepMessageCreation,
		Status:      schema.StepInProgress,
		StepDetails: schema.StepDetails{
			Type:            schema.StepMessageCreation,
			MessageCreation: &schema.MessageCreation{MessageID: schema.NewID(schema.PrefixMessage)},
		},
		Metadata: schema.Metadata{},
	}
}

// newFile returns a processed file of purpose, expiring at expiresAt when
// that is not nil.
func newFile(createdAt int64, purpose string, expiresAt *int64) *schema.File {
	return &schema.File{
		ID:        schema.NewID(schema.PrefixFile),
		Object:    "file",
		Bytes:     42,
		CreatedAt: createdAt,
		ExpiresAt: expiresAt,
		Filename:  "notes.txt",
		Purpose:   purpose,
		Status:    "processed",
	}
}

// assertJSONEqual fails unless got and want have the same JSON encoding,
// which is what the API serves (nil and empty metadata both encode as {}).
func assertJSONEqual(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal got: %v", err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("marshal want: %v", err)
	}
	if string(g) != string(w) {
		t.Fatalf("objects differ:\n got: %s\nwant: %s", g, w)
	}
}

// assertNotFound fails unless err is store.ErrNotFound.
func assertNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: got error %v, want store.ErrNotFound", what, err)
	}
}

// must fails the test on a non-nil error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
