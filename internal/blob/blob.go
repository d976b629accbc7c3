// Package blob stores file bytes behind a small interface, so that the
// embedded deployment keeps them on disk and a scaled-out one can keep them
// in the database or an object store without the API noticing.
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrTooLarge means a Put exceeded its size limit; nothing was kept.
var ErrTooLarge = errors.New("blob: too large")

// ErrNotFound means no blob has that key.
var ErrNotFound = errors.New("blob: not found")

// Store keeps opaque byte streams under string keys.
type Store interface {
	// Put streams r under key, refusing (and discarding) more than limit
	// bytes with ErrTooLarge. It returns the number of bytes kept. A blob is
	// visible only once Put has returned successfully.
	Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, error)
	// Open reads the blob under key.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes the blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// FileKey is the key of an uploaded file's bytes: files are grouped by
// project so that one tenant's keys never collide with another's.
func FileKey(projectID, fileID string) string { return projectID + "/" + fileID }
