package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func testMessage(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		m := newMessage(th.ID, 1700000000, "look at this")
		m.Role = "assistant"
		m.AssistantID = ptr("asst_1")
		m.RunID = ptr("run_1")
		m.Status = schema.MessageStatusIncomplete
		m.IncompleteDetails = &schema.IncompleteDetails{Reason: "max_tokens"}
		m.CompletedAt = nil
		m.IncompleteAt = ptr(int64(1700000001))
		m.Content = append(m.Content,
			schema.ContentPart{Type: schema.ContentImageFile, ImageFile: &schema.ImageFile{FileID: "file-img", Detail: "high"}},
			schema.ContentPart{Type: schema.ContentText, Text: &schema.Text{Value: "see [1]", Annotations: []schema.Annotation{{
				Type: "file_citation", Text: "[1]", FileCitation: &schema.FileCitation{FileID: "file-doc"}, StartIndex: 4, EndIndex: 7,
			}}}},
		)
		m.Attachments = []schema.MessageAttachment{{FileID: "file-doc", Tools: []schema.AttachmentTool{{Type: "file_search"}}}}
		m.Metadata = schema.Metadata{"x": "y"}
		must(t, "MessageCreate", b.s.MessageCreate(b.ctx, b.proj, m))
		got, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, got, m)
	})
	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		m := newMessage(th.ID, 1, "x")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m}))
		if err := b.s.MessageCreate(b.ctx, b.proj, m); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want store.ErrConflict", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th, sibling, foreign := newThread(1), newThread(1), newThread(1)
		m := newMessage(th.ID, 1, "mine")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m}))
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, sibling, nil))
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.other, foreign, nil))

		// Creating into a missing or foreign thread.
		assertNotFound(t, "MessageCreate into a missing thread",
			b.s.MessageCreate(b.ctx, b.proj, newMessage("thread_missing", 1, "x")))
		assertNotFound(t, "MessageCreate into a foreign thread",
			b.s.MessageCreate(b.ctx, b.proj, newMessage(foreign.ID, 1, "x")))
		assertNotFound(t, "MessageCreate from the other project into my thread",
			b.s.MessageCreate(b.ctx, b.other, newMessage(th.ID, 1, "x")))
		page, err := b.s.MessageList(b.ctx, b.other, foreign.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20}})
		must(t, "MessageList of the foreign thread by its owner", err)
		if len(page.Data) != 0 {
			t.Fatalf("refused creates left %d messages in the foreign thread", len(page.Data))
		}

		// Listing a missing or foreign thread.
		lp := store.MessageListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderDesc}}
		_, err = b.s.MessageList(b.ctx, b.proj, "thread_missing", lp)
		assertNotFound(t, "MessageList of a missing thread", err)
		_, err = b.s.MessageList(b.ctx, b.proj, foreign.ID, lp)
		assertNotFound(t, "MessageList of a foreign thread", err)
		_, err = b.s.MessageList(b.ctx, b.other, th.ID, lp)
		assertNotFound(t, "MessageList of my thread from the other project", err)

		// Get/update/delete of a message through the wrong project, the
		// wrong thread, or a missing id.
		for _, c := range []struct{ name, proj, thread, id string }{
			{"missing id", b.proj, th.ID, "msg_missing"},
			{"other project", b.other, th.ID, m.ID},
			{"other thread", b.proj, sibling.ID, m.ID},
			{"missing thread", b.proj, "thread_missing", m.ID},
		} {
			_, err := b.s.MessageGet(b.ctx, c.proj, c.thread, c.id)
			assertNotFound(t, "MessageGet "+c.name, err)
			_, err = b.s.MessageUpdate(b.ctx, c.proj, c.thread, c.id, func(*schema.Message) error {
				t.Errorf("patch called for %s", c.name)
				return nil
			})
			assertNotFound(t, "MessageUpdate "+c.name, err)
			assertNotFound(t, "MessageDelete "+c.name, b.s.MessageDelete(b.ctx, c.proj, c.thread, c.id))
		}
		got, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, got, m)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		m := newMessage(th.ID, 1, "draft")
		m.Status = schema.MessageStatusInProgress
		m.CompletedAt = nil
		m.RunID = ptr("run_a")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m}))
		got, err := b.s.MessageUpdate(b.ctx, b.proj, th.ID, m.ID, func(x *schema.Message) error {
			x.Status = schema.MessageStatusCompleted
			x.CompletedAt = ptr(int64(5))
			x.Content[0].Text.Value = "final"
			x.Metadata = schema.Metadata{"edited": "true"}
			return nil
		})
		must(t, "MessageUpdate", err)
		want := *m
		want.Status = schema.MessageStatusCompleted
		want.CompletedAt = ptr(int64(5))
		want.Content = []schema.ContentPart{schema.TextPart("final")}
		want.Metadata = schema.Metadata{"edited": "true"}
		assertJSONEqual(t, got, &want)
		stored, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, stored, &want)
		// The run filter still finds it.
		page, err := b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20}, RunID: "run_a"})
		must(t, "MessageList", err)
		if len(page.Data) != 1 {
			t.Fatalf("run filter after update found %d messages, want 1", len(page.Data))
		}
	})
	t.Run("UpdatePatchErrorAborts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		m := newMessage(th.ID, 1, "keep me")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m}))
		_, err := b.s.MessageUpdate(b.ctx, b.proj, th.ID, m.ID, func(x *schema.Message) error {
			x.Content[0].Text.Value = "lost"
			return errSentinel
		})
		if err != errSentinel {
			t.Fatalf("MessageUpdate error = %v, want the patch's error unchanged", err)
		}
		stored, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
		must(t, "MessageGet", err)
		assertJSONEqual(t, stored, m)
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		m1, m2 := newMessage(th.ID, 1, "a"), newMessage(th.ID, 1, "b")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m1, m2}))
		must(t, "MessageDelete", b.s.MessageDelete(b.ctx, b.proj, th.ID, m1.ID))
		_, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m1.ID)
		assertNotFound(t, "MessageGet after delete", err)
		assertNotFound(t, "MessageDelete twice", b.s.MessageDelete(b.ctx, b.proj, th.ID, m1.ID))
		page, err := b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderAsc}})
		must(t, "MessageList", err)
		if got := ids(page.Data); !slices.Equal(got, []string{m2.ID}) {
			t.Fatalf("after delete the thread lists %v, want [%s]", got, m2.ID)
		}
	})
	t.Run("RunIDFilter", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		var fromA []string
		for i, run := range []string{"", "run_a", "run_b", "run_a", "", "run_a"} {
			m := newMessage(th.ID, int64(i), "m")
			if run != "" {
				m.Role = "assistant"
				m.RunID = ptr(run)
			}
			if run == "run_a" {
				fromA = append(fromA, m.ID)
			}
			must(t, "MessageCreate", b.s.MessageCreate(b.ctx, b.proj, m))
		}
		lp := func(limit int, order, after string) store.MessageListParams {
			return store.MessageListParams{ListParams: store.ListParams{Limit: limit, Order: order, After: after}, RunID: "run_a"}
		}
		page, err := b.s.MessageList(b.ctx, b.proj, th.ID, lp(20, store.OrderAsc, ""))
		must(t, "MessageList", err)
		if got := ids(page.Data); !slices.Equal(got, fromA) || page.HasMore {
			t.Fatalf("run_a messages = %v (has_more %v), want %v", got, page.HasMore, fromA)
		}
		// Paging within the filter.
		page, err = b.s.MessageList(b.ctx, b.proj, th.ID, lp(1, store.OrderAsc, fromA[0]))
		must(t, "MessageList", err)
		if got := ids(page.Data); !slices.Equal(got, fromA[1:2]) || !page.HasMore {
			t.Fatalf("run_a page after %s = %v (has_more %v), want %v with more", fromA[0], got, page.HasMore, fromA[1:2])
		}
		// A run with no messages in an existing thread is an empty page.
		page, err = b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20}, RunID: "run_none"})
		must(t, "MessageList of an unknown run", err)
		if len(page.Data) != 0 || page.HasMore {
			t.Fatalf("unknown run lists %d messages", len(page.Data))
		}
	})
}
