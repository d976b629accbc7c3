// Package pgblob keeps blobs in PostgreSQL, so that every replica sharing
// the database serves every file.
//
// A blob is a row of the blobs table (key, size, chunk size) and its bytes
// in blob_chunks rows of at most the chunk size (1 MiB by default). The
// tables are created by the PostgreSQL store's migrations
// (internal/store/postgres, version 3).
//
// Put streams its reader chunk by chunk into one transaction, so memory
// stays at about one chunk whatever the size, and the blob becomes visible
// (replacing any previous one) only when that transaction commits: a Put
// that fails, is cancelled or exceeds its limit leaves nothing behind. The
// transaction holds one pooled connection for the length of the upload.
//
// Open reads the size once and fetches chunks on demand, one query each, so
// a download holds no connection between reads; Seek is chunk arithmetic.
package pgblob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assistd/assistd/internal/blob"
)

// DefaultChunkSize is the size of the chunks Put writes.
const DefaultChunkSize = 1 << 20

// Store is a blob.Store in PostgreSQL. It is safe for concurrent use by
// many goroutines and processes.
type Store struct {
	pool      *pgxpool.Pool
	chunkSize int
}

var _ blob.Store = (*Store)(nil)

// New returns a Store on pool, whose search_path must reach the migrated
// blobs tables. chunkSize is the size of the chunks new blobs are cut into;
// 0 means DefaultChunkSize. Blobs remember their own chunk size, so it may
// change between runs.
func New(pool *pgxpool.Pool, chunkSize int) *Store {
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	return &Store{pool: pool, chunkSize: chunkSize}
}

// lockKey serialises Puts of one key until their transactions end, so a
// concurrent replacement waits instead of failing on the unique key.
const lockKey = `SELECT pg_advisory_xact_lock(hashtext('assistd.blob'), hashtext($1))`

// Put streams r into the database under key in one transaction.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, error) {
	var total int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockKey, key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM blobs WHERE key = $1`, key); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO blobs (key, size, chunk_size) VALUES ($1, 0, $2) RETURNING id`,
			key, s.chunkSize).Scan(&id); err != nil {
			return err
		}
		buf := make([]byte, s.chunkSize)
		lr := io.LimitReader(r, limit+1)
		for n := 0; ; n++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, err := io.ReadFull(lr, buf)
			if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
				return err
			}
			total += int64(m)
			if total > limit {
				return blob.ErrTooLarge
			}
			if m > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO blob_chunks (blob_id, n, data) VALUES ($1, $2, $3)`,
					id, n, buf[:m]); err != nil {
					return err
				}
			}
			if m < len(buf) { // EOF
				break
			}
		}
		_, err := tx.Exec(ctx, `UPDATE blobs SET size = $2 WHERE id = $1`, id, total)
		return err
	})
	if errors.Is(err, blob.ErrTooLarge) {
		return 0, blob.ErrTooLarge
	}
	if err != nil {
		return 0, fmt.Errorf("pgblob: put: %w", err)
	}
	return total, nil
}

// Open returns a reader of the blob under key; it fails with
// blob.ErrNotFound when there is none. Reads fail once the blob has been
// deleted or replaced.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	// Reads run under ctx: a client that goes away cancels them.
	rd := &reader{pool: s.pool, ctx: ctx, cur: -1}
	err := s.pool.QueryRow(ctx, `SELECT id, size, chunk_size FROM blobs WHERE key = $1`, key).
		Scan(&rd.id, &rd.size, &rd.chunkSize)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgblob: open: %w", err)
	}
	return rd, nil
}

// Delete removes the blob and its chunks; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM blobs WHERE key = $1`, key); err != nil {
		return fmt.Errorf("pgblob: delete: %w", err)
	}
	return nil
}

// reader reads one blob chunk by chunk, keeping the current chunk.
type reader struct {
	pool      *pgxpool.Pool
	ctx       context.Context
	id        int64
	size      int64
	chunkSize int64
	pos       int64
	cur       int64 // number of the chunk in data; -1 when none
	data      []byte
	closed    bool
}

var errClosed = errors.New("pgblob: read of a closed blob")

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errClosed
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := r.pos / r.chunkSize
	if n != r.cur {
		r.data = r.data[:0]
		err := r.pool.QueryRow(r.ctx, `SELECT data FROM blob_chunks WHERE blob_id = $1 AND n = $2`, r.id, n).Scan(&r.data)
		if errors.Is(err, pgx.ErrNoRows) {
			r.cur = -1
			return 0, fmt.Errorf("pgblob: chunk %d is gone (the blob was deleted or replaced)", n)
		}
		if err != nil {
			r.cur = -1
			return 0, fmt.Errorf("pgblob: read chunk %d: %w", n, err)
		}
		want := min(r.chunkSize, r.size-n*r.chunkSize)
		if int64(len(r.data)) != want {
			r.cur = -1
			return 0, fmt.Errorf("pgblob: chunk %d has %d bytes, want %d", n, len(r.data), want)
		}
		r.cur = n
	}
	m := copy(p, r.data[r.pos-n*r.chunkSize:])
	r.pos += int64(m)
	return m, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, errClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("pgblob: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("pgblob: seek: negative position")
	}
	r.pos = abs
	return abs, nil
}

func (r *reader) Close() error {
	r.closed = true
	r.data = nil
	return nil
}
