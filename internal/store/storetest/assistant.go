package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// fullAssistant sets every kind of field, nested pointers included, so that
// the round trip through the store is checked for fidelity.
func fullAssistant() *schema.Assistant {
	a := newAssistant(1700000123)
	a.Name = ptr("Math tutor")
	a.Description = ptr("") // set but empty: must not become nil
	a.Instructions = ptr("Answer with \"care\" — and unicode: 数学 🧮")
	a.Tools = []schema.Tool{
		{Type: schema.ToolCodeInterpreter},
		{Type: schema.ToolFileSearch, FileSearch: &schema.FileSearchConfig{
			MaxNumResults:  ptr(7),
			RankingOptions: &schema.RankingOptions{Ranker: "default_2024_08_21", ScoreThreshold: ptr(0.0)},
		}},
		{Type: schema.ToolFunction, Function: &schema.FunctionDef{
			Name:        "get_weather",
			Description: ptr("Weather for a city"),
			Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
			Strict:      ptr(false),
		}},
	}
	a.ToolResources = schema.ToolResources{
		CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{"file-abc", "file-def"}},
		FileSearch:      &schema.FileSearchResources{VectorStoreIDs: []string{}},
	}
	a.Metadata = schema.Metadata{"k": "v", "empty": ""}
	a.Temperature = ptr(0.0) // set to zero: must not become nil
	a.TopP = nil
	a.ResponseFormat = &schema.ResponseFormat{Type: schema.ResponseFormatJSONSchema, JSONSchema: &schema.JSONSchemaFormat{
		Name:   "answer",
		Schema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`),
		Strict: ptr(true),
	}}
	a.ReasoningEffort = ptr("low")
	return a
}

func testAssistant(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for _, want := range []*schema.Assistant{fullAssistant(), newAssistant(5)} {
			must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, want))
			got, err := b.s.AssistantGet(b.ctx, b.proj, want.ID)
			must(t, "AssistantGet", err)
			assertJSONEqual(t, got, want)
			// Pointer fields keep nil versus set-to-zero apart.
			if (got.Description == nil) != (want.Description == nil) || (got.Temperature == nil) != (want.Temperature == nil) ||
				(got.TopP == nil) != (want.TopP == nil) || (got.ResponseFormat == nil) != (want.ResponseFormat == nil) {
				t.Fatalf("nil/set pointer fields changed: got %+v, want %+v", got, want)
			}
			if !reflect.DeepEqual(got.Tools, want.Tools) {
				t.Fatalf("tools differ:\n got %+v\nwant %+v", got.Tools, want.Tools)
			}
		}
	})
	t.Run("ResponseFormatAuto", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		want := newAssistant(1)
		want.ResponseFormat = &schema.ResponseFormat{Type: schema.ResponseFormatAuto}
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, want))
		got, err := b.s.AssistantGet(b.ctx, b.proj, want.ID)
		must(t, "AssistantGet", err)
		if !reflect.DeepEqual(got.ResponseFormat, want.ResponseFormat) {
			t.Fatalf("response_format = %+v, want %+v", got.ResponseFormat, want.ResponseFormat)
		}
	})
	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a := newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		if err := b.s.AssistantCreate(b.ctx, b.other, a); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want store.ErrConflict", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a := newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		for _, c := range []struct{ name, proj, id string }{
			{"missing id", b.proj, "asst_missing"},
			{"other project", b.other, a.ID},
		} {
			_, err := b.s.AssistantGet(b.ctx, c.proj, c.id)
			assertNotFound(t, "AssistantGet "+c.name, err)
			_, err = b.s.AssistantUpdate(b.ctx, c.proj, c.id, func(a *schema.Assistant) error {
				t.Errorf("patch called for %s", c.name)
				return nil
			})
			assertNotFound(t, "AssistantUpdate "+c.name, err)
			assertNotFound(t, "AssistantDelete "+c.name, b.s.AssistantDelete(b.ctx, c.proj, c.id))
		}
		page, err := b.s.AssistantList(b.ctx, b.other, store.ListParams{Limit: 20, Order: store.OrderDesc})
		must(t, "AssistantList", err)
		if len(page.Data) != 0 {
			t.Fatalf("other project lists %d assistants, want 0", len(page.Data))
		}
		// The foreign attempts changed nothing.
		_, err = b.s.AssistantGet(b.ctx, b.proj, a.ID)
		must(t, "AssistantGet", err)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a := fullAssistant()
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		got, err := b.s.AssistantUpdate(b.ctx, b.proj, a.ID, func(x *schema.Assistant) error {
			assertJSONEqual(t, x, a) // patch sees the stored object
			x.Name = nil
			x.Model = "gpt-4.1"
			x.Tools = x.Tools[:1]
			x.Metadata = schema.Metadata{"new": "1"}
			return nil
		})
		must(t, "AssistantUpdate", err)
		want := *a
		want.Name = nil
		want.Model = "gpt-4.1"
		want.Tools = a.Tools[:1]
		want.Metadata = schema.Metadata{"new": "1"}
		assertJSONEqual(t, got, &want)
		stored, err := b.s.AssistantGet(b.ctx, b.proj, a.ID)
		must(t, "AssistantGet", err)
		assertJSONEqual(t, stored, &want)
	})
	t.Run("UpdatePatchErrorAborts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a := newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		got, err := b.s.AssistantUpdate(b.ctx, b.proj, a.ID, func(x *schema.Assistant) error {
			x.Model = "changed"
			return errSentinel
		})
		if err != errSentinel {
			t.Fatalf("AssistantUpdate error = %v, want the patch's error unchanged", err)
		}
		if got != nil {
			t.Fatalf("AssistantUpdate returned %+v with an error", got)
		}
		stored, err := b.s.AssistantGet(b.ctx, b.proj, a.ID)
		must(t, "AssistantGet", err)
		assertJSONEqual(t, stored, a)
	})
	t.Run("ConcurrentUpdatesAreSerialized", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a := newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := b.s.AssistantUpdate(b.ctx, b.proj, a.ID, func(x *schema.Assistant) error {
					if x.Metadata == nil {
						x.Metadata = schema.Metadata{}
					}
					x.Metadata[fmt.Sprintf("k%02d", i)] = "x"
					return nil
				})
				if err != nil {
					t.Errorf("AssistantUpdate: %v", err)
				}
			})
		}
		wg.Wait()
		stored, err := b.s.AssistantGet(b.ctx, b.proj, a.ID)
		must(t, "AssistantGet", err)
		if len(stored.Metadata) != n {
			t.Fatalf("after %d concurrent updates metadata has %d keys (lost updates): %v", n, len(stored.Metadata), stored.Metadata)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a, keep := newAssistant(1), newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, keep))
		must(t, "AssistantDelete", b.s.AssistantDelete(b.ctx, b.proj, a.ID))
		_, err := b.s.AssistantGet(b.ctx, b.proj, a.ID)
		assertNotFound(t, "AssistantGet after delete", err)
		assertNotFound(t, "AssistantDelete twice", b.s.AssistantDelete(b.ctx, b.proj, a.ID))
		page, err := b.s.AssistantList(b.ctx, b.proj, store.ListParams{Limit: 20, Order: store.OrderAsc})
		must(t, "AssistantList", err)
		if len(page.Data) != 1 || page.Data[0].ID != keep.ID {
			t.Fatalf("after delete the list holds %v, want only %s", ids(page.Data), keep.ID)
		}
	})
}
