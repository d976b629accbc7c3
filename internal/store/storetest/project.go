package storetest

import (
	"errors"
	"testing"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func testProject(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateAndGetByName", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		want := &store.ProjectCreateParams{ID: schema.NewID("proj_"), Name: "acme", CreatedAt: 1700000000}
		p, err := b.s.ProjectCreate(b.ctx, want)
		must(t, "ProjectCreate", err)
		if p.ID != want.ID || p.Name != want.Name || p.CreatedAt != want.CreatedAt {
			t.Fatalf("ProjectCreate returned %+v, want %+v", p, want)
		}
		got, err := b.s.ProjectGetByName(b.ctx, "acme")
		must(t, "ProjectGetByName", err)
		if *got != *p {
			t.Fatalf("ProjectGetByName = %+v, want %+v", got, p)
		}
	})
	t.Run("UnknownName", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.ProjectGetByName(b.ctx, "nope")
		assertNotFound(t, "ProjectGetByName", err)
	})
	t.Run("DuplicateName", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.ProjectCreate(b.ctx, &store.ProjectCreateParams{ID: schema.NewID("proj_"), Name: "dup", CreatedAt: 1})
		must(t, "ProjectCreate", err)
		_, err = b.s.ProjectCreate(b.ctx, &store.ProjectCreateParams{ID: schema.NewID("proj_"), Name: "dup", CreatedAt: 2})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: got %v, want store.ErrConflict", err)
		}
	})
	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.ProjectCreate(b.ctx, &store.ProjectCreateParams{ID: b.proj, Name: "another", CreatedAt: 1})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: got %v, want store.ErrConflict", err)
		}
	})
}

func testAPIKey(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetCount", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		n, err := b.s.APIKeyCount(b.ctx)
		must(t, "APIKeyCount", err)
		if n != 0 {
			t.Fatalf("APIKeyCount on a fresh store = %d, want 0", n)
		}
		want := &store.APIKeyCreateParams{ID: "key_1", ProjectID: b.proj, Hash: "aa11", CreatedAt: 1700000000}
		k, err := b.s.APIKeyCreate(b.ctx, want)
		must(t, "APIKeyCreate", err)
		if k.ID != want.ID || k.ProjectID != want.ProjectID || k.Hash != want.Hash || k.CreatedAt != want.CreatedAt {
			t.Fatalf("APIKeyCreate returned %+v, want %+v", k, want)
		}
		_, err = b.s.APIKeyCreate(b.ctx, &store.APIKeyCreateParams{ID: "key_2", ProjectID: b.other, Hash: "bb22", CreatedAt: 1})
		must(t, "APIKeyCreate", err)

		got, err := b.s.APIKeyGetByHash(b.ctx, "aa11")
		must(t, "APIKeyGetByHash", err)
		if *got != *k {
			t.Fatalf("APIKeyGetByHash = %+v, want %+v", got, k)
		}
		got, err = b.s.APIKeyGetByHash(b.ctx, "bb22")
		must(t, "APIKeyGetByHash", err)
		if got.ProjectID != b.other {
			t.Fatalf("key bb22 resolved to project %s, want %s", got.ProjectID, b.other)
		}
		n, err = b.s.APIKeyCount(b.ctx)
		must(t, "APIKeyCount", err)
		if n != 2 {
			t.Fatalf("APIKeyCount = %d, want 2", n)
		}
	})
	t.Run("UnknownHash", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.APIKeyGetByHash(b.ctx, "ffff")
		assertNotFound(t, "APIKeyGetByHash", err)
	})
	t.Run("DuplicateHash", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.APIKeyCreate(b.ctx, &store.APIKeyCreateParams{ID: "key_1", ProjectID: b.proj, Hash: "h", CreatedAt: 1})
		must(t, "APIKeyCreate", err)
		_, err = b.s.APIKeyCreate(b.ctx, &store.APIKeyCreateParams{ID: "key_2", ProjectID: b.other, Hash: "h", CreatedAt: 1})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate hash: got %v, want store.ErrConflict", err)
		}
	})
	t.Run("UnknownProject", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.APIKeyCreate(b.ctx, &store.APIKeyCreateParams{ID: "key_1", ProjectID: "proj_missing", Hash: "h", CreatedAt: 1})
		assertNotFound(t, "APIKeyCreate for an unknown project", err)
		n, err := b.s.APIKeyCount(b.ctx)
		must(t, "APIKeyCount", err)
		if n != 0 {
			t.Fatalf("APIKeyCount after a refused create = %d, want 0", n)
		}
	})
}

func testMigrate(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("IdempotentAndUpToDate", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ok, err := b.s.SchemaUpToDate(b.ctx)
		must(t, "SchemaUpToDate", err)
		if !ok {
			t.Fatal("SchemaUpToDate = false on a migrated store")
		}
		a := newAssistant(1)
		must(t, "AssistantCreate", b.s.AssistantCreate(b.ctx, b.proj, a))
		for range 2 {
			must(t, "Migrate again", b.s.Migrate(b.ctx))
		}
		ok, err = b.s.SchemaUpToDate(b.ctx)
		must(t, "SchemaUpToDate", err)
		if !ok {
			t.Fatal("SchemaUpToDate = false after Migrate")
		}
		// Re-migrating keeps the data.
		_, err = b.s.AssistantGet(b.ctx, b.proj, a.ID)
		must(t, "AssistantGet after Migrate", err)
	})
}
