package storetest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func testFile(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetDelete", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		now := time.Now().Unix()
		f := newFile(now, "assistants", ptr(now+3600))
		f.StatusDetails = ptr("ok")
		plain := newFile(now, "vision", nil)
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, f))
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, plain))
		for _, want := range []*schema.File{f, plain} {
			got, err := b.s.FileGet(b.ctx, b.proj, want.ID)
			must(t, "FileGet", err)
			assertJSONEqual(t, got, want)
		}
		if err := b.s.FileCreate(b.ctx, b.other, f); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want store.ErrConflict", err)
		}
		must(t, "FileDelete", b.s.FileDelete(b.ctx, b.proj, f.ID))
		_, err := b.s.FileGet(b.ctx, b.proj, f.ID)
		assertNotFound(t, "FileGet after delete", err)
		assertNotFound(t, "FileDelete twice", b.s.FileDelete(b.ctx, b.proj, f.ID))
	})
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		f := newFile(1, "assistants", nil)
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, f))
		for _, c := range []struct{ name, proj, id string }{
			{"missing id", b.proj, "file-missing"},
			{"other project", b.other, f.ID},
		} {
			_, err := b.s.FileGet(b.ctx, c.proj, c.id)
			assertNotFound(t, "FileGet "+c.name, err)
			assertNotFound(t, "FileDelete "+c.name, b.s.FileDelete(b.ctx, c.proj, c.id))
		}
		page, err := b.s.FileList(b.ctx, b.other, store.FileListParams{ListParams: store.ListParams{Limit: 20}})
		must(t, "FileList", err)
		if len(page.Data) != 0 {
			t.Fatalf("other project lists %d files, want 0", len(page.Data))
		}
		_, err = b.s.FileGet(b.ctx, b.proj, f.ID)
		must(t, "FileGet", err)
	})
	t.Run("ExpiredHidden", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		now := time.Now().Unix()
		expired := newFile(now-7200, "assistants", ptr(now-10))
		live := newFile(now, "assistants", ptr(now+3600))
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, expired))
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, live))
		_, err := b.s.FileGet(b.ctx, b.proj, expired.ID)
		assertNotFound(t, "FileGet of an expired file", err)
		page, err := b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderAsc}})
		must(t, "FileList", err)
		if got := ids(page.Data); !slices.Equal(got, []string{live.ID}) {
			t.Fatalf("FileList = %v, want only the live file %s", got, live.ID)
		}
		// Now pins the clock: expiry is exclusive of expires_at itself.
		at := func(sec int64) []string {
			p, err := b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderAsc}, Now: time.Unix(sec, 0)})
			must(t, "FileList", err)
			return ids(p.Data)
		}
		if got := at(now - 11); !slices.Equal(got, []string{expired.ID, live.ID}) {
			t.Fatalf("FileList before expiry = %v, want both", got)
		}
		if got := at(now - 10); !slices.Equal(got, []string{live.ID}) {
			t.Fatalf("FileList at expires_at = %v, want only %s", got, live.ID)
		}
		if got := at(now + 3600); len(got) != 0 {
			t.Fatalf("FileList after every expiry = %v, want none", got)
		}
	})
	t.Run("PurposeFilter", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		var assistants []string
		for i, purpose := range []string{"assistants", "vision", "assistants", "batch", "assistants"} {
			f := newFile(int64(i), purpose, nil)
			must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, f))
			if purpose == "assistants" {
				assistants = append(assistants, f.ID)
			}
		}
		page, err := b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 20, Order: store.OrderAsc}, Purpose: "assistants"})
		must(t, "FileList", err)
		if got := ids(page.Data); !slices.Equal(got, assistants) || page.HasMore {
			t.Fatalf("purpose=assistants lists %v, want %v", got, assistants)
		}
		page, err = b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 2, Order: store.OrderDesc, After: assistants[2]}, Purpose: "assistants"})
		must(t, "FileList", err)
		if got := ids(page.Data); !slices.Equal(got, []string{assistants[1], assistants[0]}) || page.HasMore {
			t.Fatalf("purpose=assistants desc after last = %v (has_more %v)", got, page.HasMore)
		}
		page, err = b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 20}, Purpose: "fine-tune"})
		must(t, "FileList", err)
		if len(page.Data) != 0 {
			t.Fatalf("purpose=fine-tune lists %d files, want 0", len(page.Data))
		}
		page, err = b.s.FileList(b.ctx, b.proj, store.FileListParams{ListParams: store.ListParams{Limit: 20}})
		must(t, "FileList", err)
		if len(page.Data) != 5 {
			t.Fatalf("unfiltered FileList has %d files, want 5", len(page.Data))
		}
	})
	t.Run("FilesExist", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		now := time.Now().Unix()
		live1, live2 := newFile(now, "assistants", nil), newFile(now, "vision", ptr(now+3600))
		expired := newFile(now, "assistants", ptr(now-1))
		foreign := newFile(now, "assistants", nil)
		for _, f := range []*schema.File{live1, live2, expired} {
			must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, f))
		}
		must(t, "FileCreate", b.s.FileCreate(b.ctx, b.other, foreign))

		got, err := b.s.FilesExist(b.ctx, b.proj, []string{live1.ID, "file-missing", expired.ID, foreign.ID, live2.ID, live1.ID})
		must(t, "FilesExist", err)
		maps.DeleteFunc(got, func(_ string, ok bool) bool { return !ok })
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values([]string{live1.ID, live2.ID}))) {
			t.Fatalf("FilesExist = %v, want exactly %s and %s", got, live1.ID, live2.ID)
		}
		got, err = b.s.FilesExist(b.ctx, b.proj, nil)
		must(t, "FilesExist of no ids", err)
		if len(got) != 0 {
			t.Fatalf("FilesExist(nil) = %v, want empty", got)
		}
	})
}
