package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func testThread(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateWithMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1700000000)
		th.Metadata = schema.Metadata{"topic": "math"}
		th.ToolResources = schema.ToolResources{FileSearch: &schema.FileSearchResources{VectorStoreIDs: []string{"vs_1"}}}
		msgs := []*schema.Message{
			newMessage(th.ID, th.CreatedAt, "one"),
			newMessage(th.ID, th.CreatedAt, "two"),
			newMessage(th.ID, th.CreatedAt, "three"),
		}
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, msgs))
		got, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		must(t, "ThreadGet", err)
		assertJSONEqual(t, got, th)
		page, err := b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderAsc}})
		must(t, "MessageList", err)
		if len(page.Data) != len(msgs) || page.HasMore {
			t.Fatalf("MessageList: %d messages (has_more %v), want %d", len(page.Data), page.HasMore, len(msgs))
		}
		for i := range msgs {
			assertJSONEqual(t, &page.Data[i], msgs[i])
		}
	})
	t.Run("CreateWithoutMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		page, err := b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderDesc}})
		must(t, "MessageList", err)
		if len(page.Data) != 0 || page.HasMore {
			t.Fatalf("empty thread lists %d messages (has_more %v)", len(page.Data), page.HasMore)
		}
	})
	t.Run("CreateIsAtomic", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := newThread(1)
		taken := newMessage(first.ID, 1, "taken")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, first, []*schema.Message{taken}))

		// The second message reuses an existing id, so the whole create
		// must fail and leave neither the thread nor its first message.
		th := newThread(2)
		ok := newMessage(th.ID, 2, "fine")
		dup := newMessage(th.ID, 2, "dup")
		dup.ID = taken.ID
		err := b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{ok, dup})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("ThreadCreate with a duplicate message id: got %v, want store.ErrConflict", err)
		}
		_, err = b.s.ThreadGet(b.ctx, b.proj, th.ID)
		assertNotFound(t, "ThreadGet after a failed create", err)
		_, err = b.s.MessageGet(b.ctx, b.proj, th.ID, ok.ID)
		assertNotFound(t, "MessageGet after a failed create", err)
		// The existing thread is untouched.
		_, err = b.s.MessageGet(b.ctx, b.proj, first.ID, taken.ID)
		must(t, "MessageGet of the earlier thread", err)
	})
	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		if err := b.s.ThreadCreate(b.ctx, b.other, th, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want store.ErrConflict", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		m := newMessage(th.ID, 1, "hi")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m}))
		for _, c := range []struct{ name, proj, id string }{
			{"missing id", b.proj, "thread_missing"},
			{"other project", b.other, th.ID},
		} {
			_, err := b.s.ThreadGet(b.ctx, c.proj, c.id)
			assertNotFound(t, "ThreadGet "+c.name, err)
			_, err = b.s.ThreadUpdate(b.ctx, c.proj, c.id, func(*schema.Thread) error {
				t.Errorf("patch called for %s", c.name)
				return nil
			})
			assertNotFound(t, "ThreadUpdate "+c.name, err)
			assertNotFound(t, "ThreadDelete "+c.name, b.s.ThreadDelete(b.ctx, c.proj, c.id))
		}
		// The foreign delete removed nothing.
		_, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		must(t, "ThreadGet", err)
		_, err = b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
		must(t, "MessageGet", err)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		got, err := b.s.ThreadUpdate(b.ctx, b.proj, th.ID, func(x *schema.Thread) error {
			x.Metadata = schema.Metadata{"a": "b"}
			x.ToolResources = schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{"file-1"}}}
			return nil
		})
		must(t, "ThreadUpdate", err)
		want := *th
		want.Metadata = schema.Metadata{"a": "b"}
		want.ToolResources = schema.ToolResources{CodeInterpreter: &schema.CodeInterpreterResources{FileIDs: []string{"file-1"}}}
		assertJSONEqual(t, got, &want)
		stored, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		must(t, "ThreadGet", err)
		assertJSONEqual(t, stored, &want)
	})
	t.Run("UpdatePatchErrorAborts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th := newThread(1)
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
		_, err := b.s.ThreadUpdate(b.ctx, b.proj, th.ID, func(x *schema.Thread) error {
			x.Metadata = schema.Metadata{"lost": "yes"}
			return errSentinel
		})
		if err != errSentinel {
			t.Fatalf("ThreadUpdate error = %v, want the patch's error unchanged", err)
		}
		stored, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		must(t, "ThreadGet", err)
		assertJSONEqual(t, stored, th)
	})
	t.Run("DeleteRemovesMessages", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		th, keep := newThread(1), newThread(1)
		m1, m2 := newMessage(th.ID, 1, "a"), newMessage(th.ID, 1, "b")
		k := newMessage(keep.ID, 1, "kept")
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, []*schema.Message{m1}))
		must(t, "MessageCreate", b.s.MessageCreate(b.ctx, b.proj, m2))
		must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, keep, []*schema.Message{k}))

		must(t, "ThreadDelete", b.s.ThreadDelete(b.ctx, b.proj, th.ID))
		_, err := b.s.ThreadGet(b.ctx, b.proj, th.ID)
		assertNotFound(t, "ThreadGet after delete", err)
		for _, m := range []*schema.Message{m1, m2} {
			_, err := b.s.MessageGet(b.ctx, b.proj, th.ID, m.ID)
			assertNotFound(t, "MessageGet after thread delete", err)
		}
		_, err = b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20}})
		assertNotFound(t, "MessageList after thread delete", err)
		assertNotFound(t, "ThreadDelete twice", b.s.ThreadDelete(b.ctx, b.proj, th.ID))
		// The other thread keeps its messages.
		page, err := b.s.MessageList(b.ctx, b.proj, keep.ID, store.MessageListParams{ListParams: store.ListParams{Limit: 20}})
		must(t, "MessageList of the kept thread", err)
		if got := ids(page.Data); !slices.Equal(got, []string{k.ID}) {
			t.Fatalf("kept thread lists %v, want [%s]", got, k.ID)
		}
	})
}
