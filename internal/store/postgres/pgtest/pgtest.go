// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the test database, dropped when the test ends, so parallel tests
// and repeated runs never collide and nothing is left behind.
//
// The database is ASSISTD_TEST_DATABASE_URL when set, else the local
// default DefaultURL. When it cannot be reached the test is skipped with a
// loud message — unless ASSISTD_TEST_DATABASE_URL is set or
// ASSISTD_TEST_POSTGRES=1 insists, in which case it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the test database's URL.
const EnvURL = "ASSISTD_TEST_DATABASE_URL"

// EnvRequire, set to 1, turns an unreachable database into a failure.
const EnvRequire = "ASSISTD_TEST_POSTGRES"

// DefaultURL is the database tried when EnvURL is not set: a local
// PostgreSQL with trust authentication and a database named test.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SchemaPrefix starts the name of every schema the package creates.
const SchemaPrefix = "assistd_test_"

var (
	probeOnce sync.Once
	probeErr  error
)

// BaseURL returns the test database's URL, or skips (or fails, see the
// package comment) tb when it cannot be reached.
func BaseURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	required := u != "" || os.Getenv(EnvRequire) == "1"
	if u == "" {
		u = DefaultURL
	}
	probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			probeErr = err
			return
		}
		probeErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if probeErr != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is unreachable (%v): set %s to run the PostgreSQL tests", redact(u), probeErr, EnvURL)
		if required {
			tb.Fatal(msg)
		}
		tb.Skip("SKIPPING POSTGRESQL TESTS: " + msg)
	}
	return u
}

// NewSchema creates a fresh, empty schema in the test database and returns
// its name and a URL whose connections use it (search_path set through the
// options parameter). The schema is dropped when tb ends.
func NewSchema(tb testing.TB) (schemaURL, schema string) {
	tb.Helper()
	base := BaseURL(tb)
	var b [8]byte
	rand.Read(b[:])
	schema = SchemaPrefix + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("pgtest: parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("options", "-csearch_path="+schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// redact hides a URL's password.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
