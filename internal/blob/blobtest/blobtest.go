// Package blobtest is the contract every blob.Store implementation passes:
// each implementation's tests call Run with a constructor of fresh, empty
// stores.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/assistd/assistd/internal/blob"
)

// Options describe the implementation under test.
type Options struct {
	// ChunkSize is the unit the store cuts blobs into (0 when it has none):
	// reads and seeks are tested around its multiples.
	ChunkSize int
}

// Run runs the contract against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store, opt Options) {
	chunk := opt.ChunkSize
	if chunk <= 0 {
		chunk = 1000
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t), chunk) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, newStore(t)) })
	t.Run("Limit", func(t *testing.T) { testLimit(t, newStore(t), chunk) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, newStore(t), chunk) })
	t.Run("SeekRead", func(t *testing.T) { testSeekRead(t, newStore(t), chunk) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrentPuts(t, newStore(t), chunk) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("FailingReader", func(t *testing.T) { testFailingReader(t, newStore(t), chunk) })
}

// payload returns n deterministic pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s blob.Store, key string, data []byte, limit int64) {
	t.Helper()
	n, err := s.Put(context.Background(), key, bytes.NewReader(data), limit)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) = %d, want %d", key, n, len(data))
	}
}

func readAll(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func wantMissing(t *testing.T, s blob.Store, key string) {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err == nil {
		rc.Close()
		t.Fatalf("Open(%q) succeeded, want blob.ErrNotFound", key)
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(%q) = %v, want blob.ErrNotFound", key, err)
	}
}

func testRoundTrip(t *testing.T, s blob.Store, chunk int) {
	for _, n := range []int{1, chunk - 1, chunk, chunk + 1, 3*chunk + 7} {
		key := blob.FileKey("proj", fmt.Sprintf("file-%d", n))
		data := payload(uint64(n), n)
		put(t, s, key, data, int64(n)+1000)
		if got := readAll(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes that differ", n, len(got))
		}
	}
	// Keys are opaque: slashes, dots and odd characters are not paths.
	for _, key := range []string{"../../etc/passwd", "a/b/c", "ключ ☃", strings.Repeat("k", 500)} {
		put(t, s, key, []byte(key), 1<<20)
		if got := readAll(t, s, key); string(got) != key {
			t.Fatalf("key %q: read %q", key, got)
		}
	}
	wantMissing(t, s, "proj/never-put")
}

func testEmpty(t *testing.T, s blob.Store) {
	put(t, s, "p/empty", nil, 10)
	if got := readAll(t, s, "p/empty"); len(got) != 0 {
		t.Fatalf("empty blob read %d bytes", len(got))
	}
	// A zero limit admits exactly the empty blob.
	put(t, s, "p/empty0", nil, 0)
	rc, err := s.Open(context.Background(), "p/empty0")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != 0 {
		t.Fatalf("Seek(0, End) = %d, %v; want 0", end, err)
	}
}

func testLimit(t *testing.T, s blob.Store, chunk int) {
	ctx := context.Background()
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk} {
		data := payload(uint64(n)+7, n)
		exact := fmt.Sprintf("p/exact-%d", n)
		put(t, s, exact, data, int64(n))
		if got := readAll(t, s, exact); !bytes.Equal(got, data) {
			t.Fatalf("exact limit %d: read back differs", n)
		}
		over := fmt.Sprintf("p/over-%d", n)
		got, err := s.Put(ctx, over, bytes.NewReader(append(data, 'x')), int64(n))
		if !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Put of %d bytes with limit %d = %d, %v; want blob.ErrTooLarge", n+1, n, got, err)
		}
		wantMissing(t, s, over)
	}
	// A large over-limit stream is refused without being read to its end.
	r := &countingReader{n: 100 * int64(chunk)}
	if _, err := s.Put(ctx, "p/huge", r, int64(2*chunk)); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("huge Put = %v, want blob.ErrTooLarge", err)
	}
	if r.read > int64(4*chunk)+64<<10 {
		t.Fatalf("huge Put read %d bytes with a limit of %d", r.read, 2*chunk)
	}
	wantMissing(t, s, "p/huge")
}

func testReplace(t *testing.T, s blob.Store, chunk int) {
	ctx := context.Background()
	first := payload(1, 3*chunk)
	put(t, s, "p/r", first, 1<<30)
	second := payload(2, chunk/2)
	put(t, s, "p/r", second, 1<<30)
	if got := readAll(t, s, "p/r"); !bytes.Equal(got, second) {
		t.Fatalf("after replace read %d bytes, want the second blob's %d", len(got), len(second))
	}
	// A refused replacement keeps the current blob.
	if _, err := s.Put(ctx, "p/r", bytes.NewReader(first), int64(chunk)); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("over-limit replace = %v, want blob.ErrTooLarge", err)
	}
	if got := readAll(t, s, "p/r"); !bytes.Equal(got, second) {
		t.Fatal("an over-limit replacement changed the blob")
	}
}

func testSeekRead(t *testing.T, s blob.Store, chunk int) {
	size := 3*chunk + chunk/2
	data := payload(99, size)
	put(t, s, "p/seek", data, int64(size))
	rc, err := s.Open(context.Background(), "p/seek")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != int64(size) {
		t.Fatalf("Seek(0, End) = %d, %v; want %d", end, err, size)
	}
	offsets := []int{0, 1, chunk - 1, chunk, chunk + 1, 2*chunk - 1, 2 * chunk, 3 * chunk, size - 1}
	for _, off := range offsets {
		for _, n := range []int{1, 2, chunk, 2*chunk + 3} {
			if pos, err := rc.Seek(int64(off), io.SeekStart); err != nil || pos != int64(off) {
				t.Fatalf("Seek(%d, Start) = %d, %v", off, pos, err)
			}
			want := data[off:min(off+n, size)]
			got := make([]byte, n)
			m, err := io.ReadFull(rc, got)
			if err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && m == len(want)) {
				t.Fatalf("read %d at %d: %d, %v", n, off, m, err)
			}
			if !bytes.Equal(got[:m], want) {
				t.Fatalf("read %d at %d: bytes differ", n, off)
			}
		}
	}
	// Relative seeks, backwards across a chunk boundary.
	if _, err := rc.Seek(int64(2*chunk+5), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if pos, err := rc.Seek(-10, io.SeekCurrent); err != nil || pos != int64(2*chunk-5) {
		t.Fatalf("Seek(-10, Current) = %d, %v; want %d", pos, err, 2*chunk-5)
	}
	got := make([]byte, 10)
	if _, err := io.ReadFull(rc, got); err != nil || !bytes.Equal(got, data[2*chunk-5:2*chunk+5]) {
		t.Fatalf("read across the boundary: %v", err)
	}
	if pos, err := rc.Seek(-3, io.SeekEnd); err != nil || pos != int64(size-3) {
		t.Fatalf("Seek(-3, End) = %d, %v", pos, err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(rest, data[size-3:]) {
		t.Fatalf("read the tail: %q, %v", rest, err)
	}
	// At and past the end reads give EOF; before the start seeking fails.
	if _, err := rc.Seek(int64(size+10), io.SeekStart); err != nil {
		t.Fatalf("Seek past the end: %v", err)
	}
	if n, err := rc.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read past the end = %d, %v; want 0, EOF", n, err)
	}
	if _, err := rc.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek(-1, Start) succeeded")
	}
}

func testConcurrentPuts(t *testing.T, s blob.Store, chunk int) {
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := payload(uint64(1000+i), i*chunk/2+i)
			key := fmt.Sprintf("p/concurrent-%d", i)
			if _, err := s.Put(context.Background(), key, bytes.NewReader(data), 1<<30); err != nil {
				errs <- fmt.Errorf("Put(%s): %w", key, err)
			}
		}()
	}
	// Concurrent Puts of the same key: one of them wins whole.
	same := [][]byte{payload(1, 2*chunk+1), payload(2, chunk+3), payload(3, 5)}
	for _, data := range same {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(context.Background(), "p/same", bytes.NewReader(data), 1<<30); err != nil {
				errs <- fmt.Errorf("Put(p/same): %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range writers {
		data := payload(uint64(1000+i), i*chunk/2+i)
		if got := readAll(t, s, fmt.Sprintf("p/concurrent-%d", i)); !bytes.Equal(got, data) {
			t.Errorf("concurrent-%d: read back differs", i)
		}
	}
	got := readAll(t, s, "p/same")
	if !bytes.Equal(got, same[0]) && !bytes.Equal(got, same[1]) && !bytes.Equal(got, same[2]) {
		t.Errorf("p/same holds %d bytes that are none of the concurrent Puts", len(got))
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if err := s.Delete(ctx, "p/missing"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	put(t, s, "p/d", []byte("bytes"), 100)
	put(t, s, "p/keep", []byte("other"), 100)
	for range 2 {
		if err := s.Delete(ctx, "p/d"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	wantMissing(t, s, "p/d")
	if got := readAll(t, s, "p/keep"); string(got) != "other" {
		t.Fatalf("Delete touched another key: %q", got)
	}
	// The key can be used again.
	put(t, s, "p/d", []byte("again"), 100)
	if got := readAll(t, s, "p/d"); string(got) != "again" {
		t.Fatalf("after re-Put read %q", got)
	}
}

func testFailingReader(t *testing.T, s blob.Store, chunk int) {
	boom := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(payload(5, 2*chunk+1)), errReader{boom})
	if _, err := s.Put(context.Background(), "p/fail", r, 1<<30); !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader = %v, want its error", err)
	}
	wantMissing(t, s, "p/fail")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "p/cancelled", bytes.NewReader(payload(6, 2*chunk)), 1<<30); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	wantMissing(t, s, "p/cancelled")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// countingReader yields n zero bytes and counts what was read.
type countingReader struct{ n, read int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	m := int(min(int64(len(p)), c.n-c.read))
	clear(p[:m])
	c.read += int64(m)
	return m, nil
}
