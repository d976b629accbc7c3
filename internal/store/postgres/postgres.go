package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assistd/assistd/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by a PostgreSQL database. It is safe for
// concurrent use by many goroutines and by many processes sharing the
// database.
type Store struct {
	pool *pgxpool.Pool
}

// IsURL reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than something else.
func IsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Open connects to the database named by url (postgres://user@host/db?…,
// with any libpq parameter pgx understands, e.g. pool_max_conns or
// options=-csearch_path%3Dschema) and checks that it answers. It does not
// migrate: call Migrate (or check SchemaUpToDate) before serving.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: invalid database URL")
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed pool configuration (tests use it to set
// search_path).
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &Store{pool: pool}, nil
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool exposes the connection pool (for tests and future job queues on the
// same database).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// inTx runs fn in one transaction, committed when fn returns nil and
// rolled back otherwise; fn's error is returned as is.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// retry runs a transaction (or single statement) again when PostgreSQL
// aborted it to break a deadlock or a serialization conflict — e.g. a
// thread deleted (cascading to its runs) while its run's executor saves —
// which is the documented remedy; anything else is returned at once.
func retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		var pe *pgconn.PgError
		if err == nil || attempt == maxAttempts || !errors.As(err, &pe) || (pe.Code != codeDeadlock && pe.Code != codeSerialization) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
}

// maxAttempts bounds retry.
const maxAttempts = 5

// SQLSTATE codes the store maps.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeDeadlock            = "40P01"
	codeSerialization       = "40001"
)

// mapErr turns driver errors into the store's sentinels: no rows becomes
// store.ErrNotFound, a second active run of a thread store.ErrActiveRun,
// another uniqueness violation store.ErrConflict and a missing parent
// store.ErrNotFound (wrapped, so the cause stays visible).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			if pe.ConstraintName == "runs_thread_active" {
				return store.ErrActiveRun
			}
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case codeForeignKeyViolation:
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
	}
	return err
}

// execOne runs one statement and returns store.ErrNotFound when it changed
// no row.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	var tag pgconn.CommandTag
	err := retry(ctx, func() (err error) {
		tag, err = s.pool.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// exec runs one statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	return mapErr(retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, query, args...)
		return err
	}))
}

// exists returns store.ErrNotFound unless query (a SELECT 1 ...) finds a
// row.
func (s *Store) exists(ctx context.Context, query string, args ...any) error {
	var one int
	return mapErr(s.pool.QueryRow(ctx, query, args...).Scan(&one))
}
