package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/assistd/assistd/internal/store/migration"
	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations sorted by version (versions
// run parallel across backends: the same number adds the same things).
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFS, "migrations", "postgres")
}

// lockMigrations serialises migrations of one schema across processes
// until the transaction ends. The key is derived from the schema the
// tables go to, so databases with several schemas migrate independently.
const lockMigrations = `SELECT pg_advisory_xact_lock(hashtext('assistd.migrate'), hashtext(current_schema()))`

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies every pending migration, each in its own transaction
// recorded in schema_migrations. Each transaction first takes an advisory
// lock, so concurrent Migrate calls (several replicas starting at once)
// apply every migration exactly once. It is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockMigrations); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, createMigrationsTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, lockMigrations); err != nil {
				return err
			}
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied); err != nil {
				return err
			}
			if applied {
				return nil
			}
			// No arguments: pgx sends the file with the simple protocol,
			// which allows several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// SchemaUpToDate reports whether every embedded migration has been applied
// to the schema the connection uses. A database newer than this binary
// (with unknown versions) counts as up to date when the known ones are all
// present.
func (s *Store) SchemaUpToDate(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return false, err
	}
	if !exists {
		return false, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return false, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return false, err
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	for _, m := range ms {
		if !applied[m.Version] {
			return false, nil
		}
	}
	return true, nil
}
