package pgblob_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/blob/blobtest"
	"github.com/assistd/assistd/internal/blob/pgblob"
	"github.com/assistd/assistd/internal/store/postgres"
	"github.com/assistd/assistd/internal/store/postgres/pgtest"
)

// chunkSize is small and odd so that the contract's sizes cross many chunk
// boundaries that no power of two would line up with.
const chunkSize = 1000

// newPool returns a pool on a fresh, migrated schema.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	u, _ := pgtest.NewSchema(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	st, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st.Pool()
}

func TestContract(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return pgblob.New(newPool(t), chunkSize)
	}, blobtest.Options{ChunkSize: chunkSize})
}

// TestChunks checks the layout: full chunks and a short last one, all in
// the one blobs row's chunks, and nothing left after Delete.
func TestChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	s := pgblob.New(pool, chunkSize)
	data := bytes.Repeat([]byte("0123456789"), 350) // 3500 bytes: 4 chunks
	if _, err := s.Put(ctx, "p/f", bytes.NewReader(data), 1<<20); err != nil {
		t.Fatal(err)
	}
	var n, last int
	var size int64
	if err := pool.QueryRow(ctx, `SELECT b.size, count(*), min(length(c.data)) FROM blobs b JOIN blob_chunks c ON c.blob_id = b.id
 WHERE b.key = 'p/f' GROUP BY b.size`).Scan(&size, &n, &last); err != nil {
		t.Fatal(err)
	}
	if size != 3500 || n != 4 || last != 500 {
		t.Fatalf("size %d in %d chunks, shortest %d; want 3500 in 4, shortest 500", size, n, last)
	}
	// A blob written with another chunk size stays readable.
	other := pgblob.New(pool, 333)
	if got, err := read(ctx, other, "p/f"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with another chunk size: %v", err)
	}
	// An open reader of a replaced blob fails rather than mixing versions.
	rc, err := s.Open(ctx, "p/f")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := s.Put(ctx, "p/f", bytes.NewReader([]byte("new")), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("reading a replaced blob succeeded")
	}
	if err := s.Delete(ctx, "p/f"); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM blob_chunks)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows left after Delete", n)
	}
}

func read(ctx context.Context, s blob.Store, key string) ([]byte, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
