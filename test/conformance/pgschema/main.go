// Command pgschema gives the conformance suite (server.js) a fresh
// PostgreSQL schema per server and drops it afterwards.
//
//	pgschema create BASE_URL PREFIX  prints the name of a new, empty schema
//	                                 PREFIX<random> and, on a second line, a
//	                                 URL whose connections use it (search_path
//	                                 set through the options parameter)
//	pgschema drop BASE_URL SCHEMA    drops SCHEMA and everything in it
//	pgschema sweep BASE_URL PREFIX   drops every schema whose name starts
//	                                 with PREFIX (leftovers of a crashed run)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func main() {
	if len(os.Args) != 4 || !ident.MatchString(os.Args[3]) {
		fmt.Fprintln(os.Stderr, "usage: pgschema create|drop|sweep BASE_URL NAME  (NAME: [a-z_][a-z0-9_]*)")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "pgschema:", err)
		os.Exit(1)
	}
}

func run(cmd, base, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	switch cmd {
	case "create":
		var b [6]byte
		rand.Read(b[:])
		schema := name + hex.EncodeToString(b[:])
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		u, err := url.Parse(base)
		if err != nil {
			return err
		}
		q := u.Query()
		q.Set("options", "-csearch_path="+schema)
		u.RawQuery = q.Encode()
		fmt.Println(schema)
		fmt.Println(u.String())
	case "drop":
		_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
		return err
	case "sweep":
		rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, name)
		if err != nil {
			return err
		}
		schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, s := range schemas {
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
				return err
			}
		}
		if len(schemas) > 0 {
			fmt.Fprintf(os.Stderr, "pgschema: dropped %d leftover schema(s): %s\n", len(schemas), strings.Join(schemas, " "))
		}
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}
