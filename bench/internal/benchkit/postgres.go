package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database prepares the -database flag's value: "" gives SQLite (no extra
// arguments, backend "SQLite"); a URL gives a fresh schema in that database
// (see FreshSchema), the arguments --database SCHEMA_URL for keys create and
// serve, backend "PostgreSQL", and a cleanup that drops the schema.
func Database(base string) (args []string, backend string, cleanup func(), err error) {
	if base == "" {
		return nil, "SQLite", func() {}, nil
	}
	u, drop, err := FreshSchema(base)
	if err != nil {
		return nil, "", nil, err
	}
	return []string{"--database", u}, "PostgreSQL", func() {
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "drop schema:", err)
		}
	}, nil
}

// FreshSchema creates an empty schema named assistd_bench_<random> in the
// PostgreSQL database at base and returns a URL whose connections use it
// (search_path set through the options parameter, as the PostgreSQL test
// suites do) and a function that drops it with everything in it.
func FreshSchema(base string) (schemaURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("-database: %w", err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "assistd_bench_" + hex.EncodeToString(b[:])
	if err := pgExec(base, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	q := u.Query()
	q.Set("options", "-csearch_path="+schema)
	u.RawQuery = q.Encode()
	fmt.Fprintf(os.Stderr, "PostgreSQL %s, schema %s (dropped at the end)\n", u.Redacted(), schema)
	return u.String(), func() error { return pgExec(base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") }, nil
}

func pgExec(dbURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
