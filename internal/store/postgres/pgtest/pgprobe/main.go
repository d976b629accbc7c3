// Command pgprobe tells the test script which PostgreSQL database the
// PostgreSQL test suites will use: ASSISTD_TEST_DATABASE_URL, else the
// local default of package pgtest. It prints one line and exits 0 when the
// database answers, 1 when it does not.
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/store/postgres/pgtest"
)

func main() {
	u, from := os.Getenv(pgtest.EnvURL), pgtest.EnvURL
	if u == "" {
		u, from = pgtest.DefaultURL, "the local default"
	}
	shown := u
	if p, err := url.Parse(u); err == nil {
		shown = p.Redacted()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	var version string
	if err == nil {
		err = conn.QueryRow(ctx, `SELECT current_setting('server_version')`).Scan(&version)
		conn.Close(ctx)
	}
	if err != nil {
		fmt.Printf("PostgreSQL at %s (%s) is unreachable: %v\n", shown, from, err)
		os.Exit(1)
	}
	fmt.Printf("PostgreSQL suites use %s (%s), PostgreSQL %s, one fresh schema per test\n", shown, from, version)
}
