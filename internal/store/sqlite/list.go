package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/assistd/assistd/internal/store"
)

// defaultLimit is the page size when ListParams.Limit is not positive.
const defaultLimit = 20

// listQuery describes one cursor-paged list: rows of table matching where
// (with args), whose cursors are looked up among rows matching cursorWhere
// (with cursorArgs).
type listQuery struct {
	table       string
	where       string
	args        []any
	cursorWhere string
	cursorArgs  []any
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
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT data FROM %s WHERE %s", q.table, q.where)
	args = append(args, q.args...)
	cursor := func(op, id string) {
		fmt.Fprintf(&b, " AND seq %s (SELECT seq FROM %s WHERE id = ? AND %s)", op, q.table, q.cursorWhere)
		args = append(args, id)
		args = append(args, q.cursorArgs...)
	}
	if p.After != "" {
		cursor(pick(asc, ">", "<"), p.After)
	}
	if p.Before != "" {
		cursor(pick(asc, "<", ">"), p.Before)
	}
	reversed = p.Before != "" && p.After == ""
	scanAsc := asc != reversed
	fmt.Fprintf(&b, " ORDER BY seq %s LIMIT ?", pick(scanAsc, "ASC", "DESC"))
	args = append(args, limit+1)
	return b.String(), args, reversed
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
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	raw, more, err := s.queryData(ctx, limit, query, args...)
	if err != nil {
		return nil, err
	}
	page := &store.Page[T]{Data: make([]T, 0, len(raw)), HasMore: more}
	for _, data := range raw {
		page.Data = append(page.Data, *new(T))
		if err := json.Unmarshal(data, &page.Data[len(page.Data)-1]); err != nil {
			return nil, fmt.Errorf("sqlite: decode %s row: %w", q.table, err)
		}
	}
	if reversed {
		slices.Reverse(page.Data)
	}
	return page, nil
}

// queryData reads the first column of at most limit rows of query, and
// whether more rows followed. The rows are copied out and the connection
// released before anything decodes them: under load a connection held
// through decoding is held while its goroutine waits for a CPU, and the
// others queue for the pool.
func (s *Store) queryData(ctx context.Context, limit int, query string, args ...any) (data [][]byte, more bool, err error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		if len(data) == limit {
			more = true
			break
		}
		var b []byte // Scan copies into a nil []byte
		if err := rows.Scan(&b); err != nil {
			return nil, false, err
		}
		data = append(data, b)
	}
	return data, more, rows.Err()
}

// getJSON reads one object's JSON with query on the read pool and decodes
// it into v; no row is store.ErrNotFound.
func (s *Store) getJSON(ctx context.Context, v any, query string, args ...any) error {
	row, err := s.queryRow(ctx, query, args...)
	if err != nil {
		return err
	}
	var data []byte
	if err := row.Scan(&data); err != nil {
		return mapErr(err)
	}
	return json.Unmarshal(data, v)
}

// updateJSON runs the read-patch-write cycle of every *Update method in one
// write transaction: it selects the row's seq and data with selectQuery,
// decodes into obj, calls patch, and hands the result to write. patch's
// error is returned unchanged.
func updateJSON[T any](ctx context.Context, s *Store, selectQuery string, selectArgs []any, patch func(*T) error, write func(tx *wtx, seq int64, obj *T) error) (*T, error) {
	var obj *T
	err := s.inTx(ctx, func(tx *wtx) error {
		st, err := tx.stmt(selectQuery)
		if err != nil {
			return err
		}
		var seq int64
		var data []byte
		if err := st.QueryRowContext(ctx, selectArgs...).Scan(&seq, &data); err != nil {
			return mapErr(err)
		}
		obj = new(T)
		if err := json.Unmarshal(data, obj); err != nil {
			return err
		}
		if err := patch(obj); err != nil {
			return err
		}
		return write(tx, seq, obj)
	})
	if err != nil {
		return nil, err
	}
	return obj, nil
}
