package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/assistd/assistd/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	// path is the database file, for Path.
	path string
	// write has exactly one connection: every write and every transaction
	// runs there, so writers queue in database/sql rather than contend for
	// SQLite's lock.
	write *sql.DB
	// read serves plain reads concurrently (WAL readers do not block the
	// writer).
	read *sql.DB

	wstmts stmtCache
	rstmts stmtCache

	// writes feeds the writer goroutine, which commits concurrent write
	// transactions in groups (see runBatch); closed ends it.
	writes     chan *writeReq
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 128

// errClosed is returned by writes after Close.
var errClosed = errors.New("sqlite: store closed")

// writeReq is one write transaction waiting for the writer.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	done chan error
}

// DSN returns the driver data source name for path with the pragmas every
// connection needs, busy_timeout first. extra holds further query
// parameters (for example _txlock=immediate).
func DSN(path string, extra ...string) string {
	q := "_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(ON)"
	for _, e := range extra {
		q += "&" + e
	}
	return "file:" + uriPath.Replace(path) + "?" + q
}

// uriPath escapes the characters SQLite's URI filenames treat specially.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Open opens the database at path, creating the file when missing. It does
// not migrate: call Migrate (or check SchemaUpToDate) before serving.
func Open(ctx context.Context, path string) (*Store, error) {
	write, err := sql.Open("sqlite", DSN(path, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches a new file to WAL mode before
	// any query-only reader connects.
	if err := ping(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	// Readers do not block each other in WAL mode, so the pool is sized
	// for bursts, not cores: with 4 connections a burst of 1,000 run
	// creates queued ~200 goroutine-seconds per second on the pool (a
	// reader that holds a connection is also waiting for a CPU), and
	// bench/runs (c) p99 was ~100 ms worse.
	n := max(32, 4*runtime.NumCPU())
	read, err := sql.Open("sqlite", DSN(path, "_pragma=query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	if err := ping(ctx, read); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{path: path, write: write, read: read, writes: make(chan *writeReq), closed: make(chan struct{}), writerDone: make(chan struct{})}
	s.wstmts.db = write
	s.rstmts.db = read
	go s.writer()
	return s, nil
}

// ping connects db, retrying while the file is locked: switching a new
// file to WAL mode (the DSN's journal_mode pragma) answers SQLITE_BUSY at
// once, without the busy timeout, when another process is doing the same.
func ping(ctx context.Context, db *sql.DB) error {
	for attempt := 0; ; attempt++ {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || attempt == 100 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Path is the database file the store was opened on: the job queue opens
// its own connection to it (see DSN).
func (s *Store) Path() string { return s.path }

// Close stops the writer and closes both connection pools and their
// prepared statements.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	<-s.writerDone
	s.wstmts.close()
	s.rstmts.close()
	return errors.Join(s.read.Close(), s.write.Close())
}

// writer runs every write transaction. Those that arrive while it is busy
// are committed together — each inside its own savepoint, so one's failure
// rolls back only itself — which under load turns many small commits into
// few (group commit) while a lone write still commits at once.
func (s *Store) writer() {
	defer close(s.writerDone)
	for {
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.closed:
			return
		}
		batch := []*writeReq{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.runBatch(batch)
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	bg := context.Background()
	var missed []string
	defer func() {
		// The connection is free again: cache what the transactions prepared.
		for _, q := range missed {
			s.wstmts.get(bg, q)
		}
	}()
	sqlTx, err := s.write.BeginTx(bg, nil)
	if err != nil {
		for _, r := range batch {
			r.done <- mapErr(err)
		}
		return
	}
	results := make([]error, len(batch))
	grouped := len(batch) > 1
	// One wtx for the whole batch: its statements, savepoints included,
	// are bound to the connection once, not once per transaction.
	tx := &wtx{Tx: sqlTx, ctx: bg, s: s}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		tx.ctx = bg
		if grouped {
			if _, err := tx.exec("SAVEPOINT w"); err != nil {
				results[i] = err
				continue
			}
		}
		tx.ctx = r.ctx
		results[i] = r.fn(tx)
		tx.ctx = bg
		if grouped {
			if results[i] != nil {
				tx.exec("ROLLBACK TO w")
			}
			tx.exec("RELEASE w")
		}
	}
	missed = tx.missed
	var commitErr error
	if !grouped && results[0] != nil {
		sqlTx.Rollback()
	} else {
		commitErr = mapErr(sqlTx.Commit())
	}
	for i, r := range batch {
		if results[i] == nil {
			results[i] = commitErr
		}
		r.done <- results[i]
	}
}

// stmtCache prepares each query once per pool; database/sql then keeps it
// prepared on every connection it runs on.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query string -> *sql.Stmt
	mu sync.Mutex
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m.Store(query, st)
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// exec runs one write statement (as a transaction of its own, which the
// writer may commit together with others).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.inTx(ctx, func(tx *wtx) error {
		var err error
		res, err = tx.exec(query, args...)
		return err
	})
	return res, err
}

// queryRow runs a single-row read on the read pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, mapErr(err)
	}
	return st.QueryRowContext(ctx, args...), nil
}

// query runs a multi-row read on the read pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, mapErr(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	return rows, mapErr(err)
}

// wtx is one write transaction. It holds the write pool's only
// connection, so nothing in it may ask that pool for another one (a
// DB.Prepare there would deadlock): statements missing from the cache are
// prepared on the transaction and cached after it ends.
type wtx struct {
	*sql.Tx
	// ctx is the caller's: it is checked before each statement, which runs
	// without it. Given a cancellable context the driver starts a watcher
	// goroutine per statement, and the writer is the one serial stage.
	ctx    context.Context
	s      *Store
	stmts  map[string]*sql.Stmt
	missed []string
}

// stmt returns query prepared on the transaction's connection.
func (tx *wtx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if cached, ok := tx.s.wstmts.m.Load(query); ok {
		st = tx.StmtContext(context.Background(), cached.(*sql.Stmt))
	} else {
		var err error
		if st, err = tx.PrepareContext(context.Background(), query); err != nil {
			return nil, mapErr(err)
		}
		tx.missed = append(tx.missed, query)
	}
	if tx.stmts == nil {
		tx.stmts = make(map[string]*sql.Stmt)
	}
	tx.stmts[query] = st
	return st, nil
}

// exec runs query inside the transaction.
func (tx *wtx) exec(query string, args ...any) (sql.Result, error) {
	if err := tx.ctx.Err(); err != nil {
		return nil, err
	}
	st, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(context.Background(), args...)
	return res, mapErr(err)
}

// queryRow runs a single-row read inside the transaction.
func (tx *wtx) queryRow(query string, args ...any) (*sql.Row, error) {
	if err := tx.ctx.Err(); err != nil {
		return nil, err
	}
	st, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(context.Background(), args...), nil
}

// inTx runs fn in one write transaction, committed when fn returns nil and
// rolled back otherwise; fn's error is returned as is. It waits for the
// writer goroutine, which may commit fn together with other transactions.
func (s *Store) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errClosed
	}
	return <-r.done
}

// mapErr turns driver errors into the store's sentinels: no rows becomes
// store.ErrNotFound and a uniqueness violation store.ErrConflict (both
// wrapped, so the cause stays visible).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
	}
	return err
}

// affectedOne returns store.ErrNotFound when res changed no row.
func affectedOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
