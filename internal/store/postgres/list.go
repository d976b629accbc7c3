package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/assistd/assistd/internal/store"
)

// defaultLimit is the page size when ListParams.Limit is not positive.
const defaultLimit = 20

// listQuery describes one cursor-paged list: rows of table matching where
// (with args), whose cursors are looked up among rows matching cursorWhere
// (with cursorArgs). The where clauses use ? for their arguments; build
// numbers them.
type listQuery struct {
	table       string
	where       string
	args        []any
	cursorWhere string
	cursorArgs  []any
}

// sqlBuilder numbers ? placeholders as $1, $2, … while collecting args.
type sqlBuilder struct {
	b    strings.Builder
	args []any
}

// add appends text, replacing each ? with the next placeholder for the
// matching argument.
func (w *sqlBuilder) add(text string, args ...any) {
	n := 0
	for {
		i := strings.IndexByte(text, '?')
		if i < 0 {
			break
		}
		w.b.WriteString(text[:i])
		w.args = append(w.args, args[n])
		n++
		w.b.WriteString("$" + strconv.Itoa(len(w.args)))
		text = text[i+1:]
	}
	w.b.WriteString(text)
	if n != len(args) {
		panic(fmt.Sprintf("postgres: %d placeholders for %d arguments", n, len(args))) // programming error
	}
}

// build returns the SQL and arguments for one page and whether the rows
// come back in the opposite of the requested order (a before-only page is
// read from the cursor outwards, so that it holds the items nearest to the
// cursor, and must be reversed).
//
// Ordering is by seq, the insertion order. For order asc, after=X means
// seq > seq(X) and before=X means seq < seq(X); desc swaps them. An unknown
// cursor makes the subquery NULL, so the comparison and the page are empty.
func (q listQuery) build(p store.ListParams) (query string, args []any, reversed bool) {
	asc := p.Order == store.OrderAsc
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var w sqlBuilder
	w.add("SELECT data FROM "+q.table+" WHERE "+q.where, q.args...)
	cursor := func(op, id string) {
		w.add(" AND seq "+op+" (SELECT seq FROM "+q.table+" WHERE id = ?", id)
		w.add(" AND "+q.cursorWhere+")", q.cursorArgs...)
	}
	if p.After != "" {
		cursor(pick(asc, ">", "<"), p.After)
	}
	if p.Before != "" {
		cursor(pick(asc, "<", ">"), p.Before)
	}
	reversed = p.Before != "" && p.After == ""
	scanAsc := asc != reversed
	w.add(" ORDER BY seq "+pick(scanAsc, "ASC", "DESC")+" LIMIT ?", limit+1)
	return w.b.String(), w.args, reversed
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// listPage reads one page of q, decoding each row's JSON into a T.
func listPage[T any](ctx context.Context, s *Store, q listQuery, p store.ListParams) (*store.Page[T], error) {
	query, args, reversed := q.build(p)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	// Most pages are short (a new thread's messages): let append size them.
	page := &store.Page[T]{Data: make([]T, 0, min(limit, 8))}
	for rows.Next() {
		if len(page.Data) == limit {
			page.HasMore = true
			break
		}
		// RawValues is valid until the next Next: decode in place.
		data := rows.RawValues()[0]
		page.Data = append(page.Data, *new(T))
		if err := json.Unmarshal(data, &page.Data[len(page.Data)-1]); err != nil {
			return nil, fmt.Errorf("postgres: decode %s row: %w", q.table, err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	if reversed {
		slices.Reverse(page.Data)
	}
	return page, nil
}

// getJSON reads one object's JSON with query and decodes it into v; no row
// is store.ErrNotFound.
func (s *Store) getJSON(ctx context.Context, v any, query string, args ...any) error {
	var data []byte
	if err := s.pool.QueryRow(ctx, query, args...).Scan(&data); err != nil {
		return mapErr(err)
	}
	return json.Unmarshal(data, v)
}

// updateJSON runs the read-patch-write cycle of every *Update method in one
// transaction: it locks and selects the row's seq and data with
// selectQuery (which ends in FOR UPDATE), decodes into obj, calls patch,
// and hands the result to write. patch's error is returned unchanged.
func updateJSON[T any](ctx context.Context, s *Store, selectQuery string, selectArgs []any, patch func(*T) error, write func(tx pgx.Tx, seq int64, obj *T) error) (*T, error) {
	var obj *T
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var seq int64
		var data []byte
		if err := tx.QueryRow(ctx, selectQuery, selectArgs...).Scan(&seq, &data); err != nil {
			return mapErr(err)
		}
		obj = new(T)
		if err := json.Unmarshal(data, obj); err != nil {
			return err
		}
		if err := patch(obj); err != nil {
			return err
		}
		return mapErr(write(tx, seq, obj))
	})
	if err != nil {
		return nil, err
	}
	return obj, nil
}
