package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// ids returns the ids of a page's objects, in order.
func ids[T any](xs []T) []string {
	out := make([]string, len(xs))
	for i := range xs {
		switch x := any(&xs[i]).(type) {
		case *schema.Assistant:
			out[i] = x.ID
		case *schema.Message:
			out[i] = x.ID
		case *schema.File:
			out[i] = x.ID
		case *schema.Thread:
			out[i] = x.ID
		case *schema.Run:
			out[i] = x.ID
		case *schema.RunStep:
			out[i] = x.ID
		default:
			panic(fmt.Sprintf("storetest: ids of %T", x))
		}
	}
	return out
}

// lister lists one kind of object of a paged collection.
type lister func(p store.ListParams) (ids []string, hasMore bool, err error)

// pagedKind builds a collection of n objects created in the given order
// (index 0 first) and returns their ids, a lister over them and one over
// the same collection seen from the other project.
type pagedKind func(t *testing.T, b *testBundle, createdAt []int64) (created []string, mine, foreign lister)

func testPagination(t *testing.T, newStore func(t *testing.T) store.Store) {
	kinds := map[string]pagedKind{
		"Assistant": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
			var created []string
			for _, c := range createdAt {
				a := newAssistant(c)
				must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
				created = append(created, a.ID)
			}
			list := func(proj string) lister {
				return func(p store.ListParams) ([]string, bool, error) {
					page, err := b.s.AssistantList(b.ctx, proj, p)
					if err != nil {
						return nil, false, err
					}
					return ids(page.Data), page.HasMore, nil
				}
			}
			return created, list(b.proj), list(b.other)
		},
		"Message": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
			th, noise := newThread(1), newThread(1)
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, noise, nil))
			var created []string
			for _, c := range createdAt {
				m := newMessage(th.ID, c, "m")
				must(t, "MessageCreate", b.s.MessageCreate(b.ctx, b.proj, m))
				created = append(created, m.ID)
				// Interleave messages of another thread: they must not
				// show up nor shift the pages.
				must(t, "MessageCreate", b.s.MessageCreate(b.ctx, b.proj, newMessage(noise.ID, c, "noise")))
			}
			mine := func(p store.ListParams) ([]string, bool, error) {
				page, err := b.s.MessageList(b.ctx, b.proj, th.ID, store.MessageListParams{ListParams: p})
				if err != nil {
					return nil, false, err
				}
				return ids(page.Data), page.HasMore, nil
			}
			// The same thread seen from another project does not exist;
			// the foreign view is the noise thread, whose messages are
			// not valid cursors for th.
			foreign := func(p store.ListParams) ([]string, bool, error) {
				page, err := b.s.MessageList(b.ctx, b.proj, noise.ID, store.MessageListParams{ListParams: p})
				if err != nil {
					return nil, false, err
				}
				return ids(page.Data), page.HasMore, nil
			}
			return created, mine, foreign
		},
		"Run": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
			th, noise := newThread(1), newThread(1)
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, th, nil))
			must(t, "ThreadCreate", b.s.ThreadCreate(b.ctx, b.proj, noise, nil))
			var created []string
			for _, c := range createdAt {
				// Finished runs, so that the thread takes the next one.
				r := newRun(th.ID, c, schema.RunCompleted)
				must(t, "RunCreate", b.s.RunCreate(b.ctx, b.proj, r, nil, nil))
				created = append(created, r.ID)
				must(t, "RunCreate", b.s.RunCreate(b.ctx, b.proj, newRun(noise.ID, c, schema.RunCompleted), nil, nil))
			}
			list := func(threadID string) lister {
				return func(p store.ListParams) ([]string, bool, error) {
					page, err := b.s.RunList(b.ctx, b.proj, threadID, p)
					if err != nil {
						return nil, false, err
					}
					return ids(page.Data), page.HasMore, nil
				}
			}
			return created, list(th.ID), list(noise.ID)
		},
		"RunStep": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
			th, noise := newThread(1), newThread(1)
			r, nr := newRun(th.ID, 1, schema.RunInProgress), newRun(noise.ID, 1, schema.RunInProgress)
			must(t, "RunCreateWithThread", b.s.RunCreateWithThread(b.ctx, b.proj, th, nil, r, nil))
			must(t, "RunCreateWithThread", b.s.RunCreateWithThread(b.ctx, b.proj, noise, nil, nr, nil))
			var created []string
			for _, c := range createdAt {
				// One step per save, as the engine writes them.
				st := newStep(r, c)
				must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: r, Steps: []*schema.RunStep{st}}))
				created = append(created, st.ID)
				must(t, "RunSave", b.s.RunSave(b.ctx, b.proj, &store.RunSaveParams{Run: nr, Steps: []*schema.RunStep{newStep(nr, c)}}))
			}
			list := func(run *schema.Run) lister {
				return func(p store.ListParams) ([]string, bool, error) {
					page, err := b.s.RunStepList(b.ctx, b.proj, run.ThreadID, run.ID, p)
					if err != nil {
						return nil, false, err
					}
					return ids(page.Data), page.HasMore, nil
				}
			}
			return created, list(r), list(nr)
		},
		"File": func(t *testing.T, b *testBundle, createdAt []int64) ([]string, lister, lister) {
			var created []string
			for _, c := range createdAt {
				f := newFile(c, "assistants", nil)
				must(t, "FileCreate", b.s.FileCreate(b.ctx, b.proj, f))
				created = append(created, f.ID)
			}
			list := func(proj string) lister {
				return func(p store.ListParams) ([]string, bool, error) {
					page, err := b.s.FileList(b.ctx, proj, store.FileListParams{ListParams: p})
					if err != nil {
						return nil, false, err
					}
					return ids(page.Data), page.HasMore, nil
				}
			}
			return created, list(b.proj), list(b.other)
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			t.Run("Ties", func(t *testing.T) {
				t.Parallel()
				// Seven objects in the same second: only insertion order
				// separates them (their random ids sort differently).
				sec := time.Now().Unix()
				testPages(t, newStore, kinds[name], []int64{sec, sec, sec, sec, sec, sec, sec})
			})
			t.Run("Increasing", func(t *testing.T) {
				t.Parallel()
				testPages(t, newStore, kinds[name], []int64{100, 100, 101, 105, 105, 200, 300})
			})
		})
	}
}

// testPages checks every paging mode on a collection of seven objects.
func testPages(t *testing.T, newStore func(t *testing.T) store.Store, kind pagedKind, createdAt []int64) {
	b := setup(t, newStore)
	created, list, foreign := kind(t, b, createdAt)
	if len(created) != 7 {
		t.Fatalf("kind created %d objects, want 7", len(created))
	}
	// o picks created objects by index.
	o := func(idx ...int) []string {
		out := make([]string, len(idx))
		for i, j := range idx {
			out[i] = created[j]
		}
		return out
	}
	asc, desc := store.OrderAsc, store.OrderDesc
	cases := []struct {
		name    string
		p       store.ListParams
		want    []string
		hasMore bool
	}{
		{"asc all", store.ListParams{Limit: 20, Order: asc}, o(0, 1, 2, 3, 4, 5, 6), false},
		{"desc all", store.ListParams{Limit: 20, Order: desc}, o(6, 5, 4, 3, 2, 1, 0), false},
		{"asc limit exact", store.ListParams{Limit: 7, Order: asc}, o(0, 1, 2, 3, 4, 5, 6), false},
		{"asc limit 6", store.ListParams{Limit: 6, Order: asc}, o(0, 1, 2, 3, 4, 5), true},
		{"asc first page", store.ListParams{Limit: 3, Order: asc}, o(0, 1, 2), true},
		{"asc after", store.ListParams{Limit: 3, Order: asc, After: created[2]}, o(3, 4, 5), true},
		{"asc last page", store.ListParams{Limit: 3, Order: asc, After: created[5]}, o(6), false},
		{"asc after last", store.ListParams{Limit: 3, Order: asc, After: created[6]}, nil, false},
		{"desc first page", store.ListParams{Limit: 3, Order: desc}, o(6, 5, 4), true},
		{"desc after", store.ListParams{Limit: 3, Order: desc, After: created[4]}, o(3, 2, 1), true},
		{"desc last page", store.ListParams{Limit: 3, Order: desc, After: created[1]}, o(0), false},
		{"desc after first", store.ListParams{Limit: 3, Order: desc, After: created[0]}, nil, false},
		// before: the items nearest the cursor, in the requested order.
		{"asc before", store.ListParams{Limit: 2, Order: asc, Before: created[5]}, o(3, 4), true},
		{"asc before near start", store.ListParams{Limit: 2, Order: asc, Before: created[1]}, o(0), false},
		{"asc before exact", store.ListParams{Limit: 3, Order: asc, Before: created[3]}, o(0, 1, 2), false},
		{"asc before first", store.ListParams{Limit: 3, Order: asc, Before: created[0]}, nil, false},
		{"desc before", store.ListParams{Limit: 2, Order: desc, Before: created[1]}, o(3, 2), true},
		{"desc before near end", store.ListParams{Limit: 3, Order: desc, Before: created[5]}, o(6), false},
		{"desc before last", store.ListParams{Limit: 3, Order: desc, Before: created[6]}, nil, false},
		{"asc after and before", store.ListParams{Limit: 20, Order: asc, After: created[1], Before: created[5]}, o(2, 3, 4), false},
		{"asc after and before limited", store.ListParams{Limit: 2, Order: asc, After: created[1], Before: created[5]}, o(2, 3), true},
		{"desc after and before", store.ListParams{Limit: 20, Order: desc, After: created[5], Before: created[1]}, o(4, 3, 2), false},
		{"unknown after", store.ListParams{Limit: 20, Order: asc, After: "x_unknown"}, nil, false},
		{"unknown before", store.ListParams{Limit: 20, Order: desc, Before: "x_unknown"}, nil, false},
	}
	for _, c := range cases {
		got, more, err := list(c.p)
		must(t, c.name, err)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) || more != c.hasMore {
			t.Errorf("%s: got %v (has_more %v), want %v (has_more %v)", c.name, got, more, c.want, c.hasMore)
		}
	}

	// Walking every page forwards and backwards visits each object once.
	for _, order := range []string{asc, desc} {
		want := slices.Clone(created)
		if order == desc {
			slices.Reverse(want)
		}
		var walked []string
		p := store.ListParams{Limit: 2, Order: order}
		for {
			got, more, err := list(p)
			must(t, "walk", err)
			walked = append(walked, got...)
			if !more {
				break
			}
			p.After = got[len(got)-1]
		}
		if !slices.Equal(walked, want) {
			t.Errorf("walking %s pages after-wards: %v, want %v", order, walked, want)
		}
		walked = nil
		p = store.ListParams{Limit: 2, Order: order, Before: want[len(want)-1]}
		for {
			got, more, err := list(p)
			must(t, "walk", err)
			walked = append(slices.Clone(got), walked...)
			if !more {
				break
			}
			p.Before = got[0]
		}
		if !slices.Equal(walked, want[:len(want)-1]) {
			t.Errorf("walking %s pages before-wards: %v, want %v", order, walked, want[:len(want)-1])
		}
	}

	// Cursors that belong to another project (or thread) are unknown.
	got, _, err := foreign(store.ListParams{Limit: 20, Order: asc})
	must(t, "foreign list", err)
	if len(got) != 0 && slices.ContainsFunc(got, func(id string) bool { return slices.Contains(created, id) }) {
		t.Fatalf("another scope lists this scope's objects: %v", got)
	}
	for _, p := range []store.ListParams{
		{Limit: 20, Order: asc, After: created[0]},
		{Limit: 20, Order: desc, Before: created[0]},
	} {
		got, _, err := foreign(p)
		must(t, "foreign list with a cursor", err)
		if len(got) != 0 {
			t.Fatalf("cursor of another scope (%+v) yields %v, want an empty page", p, got)
		}
	}
}
