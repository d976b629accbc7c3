package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/assistd/assistd/internal/schema"
)

// VectorStores persists vector stores, their files, file batches, ingestion
// jobs and chunks. Every method but the ingestion ones (which serve
// background workers across projects) is scoped by project.
//
// The stores' and batches' status, file_counts and usage_bytes are derived
// from their files' rows on every read, so they are exact under
// concurrency.
type VectorStores interface {
	// VectorStoreCreate inserts the store and (atomically) its initial files
	// (status in_progress). It sets vs.LastActiveAt (to vs.CreatedAt when
	// nil), recomputes vs.ExpiresAt from vs.ExpiresAfter, and derives
	// vs.Status, FileCounts and UsageBytes from files.
	VectorStoreCreate(ctx context.Context, projectID string, vs *schema.VectorStore, files []*VectorStoreFileAdd) error
	// VectorStoreDelete removes the store, its files, batches and chunks.
	VectorStoreDelete(ctx context.Context, projectID, id string) error
	// VectorStoreGet returns the store with file_counts, usage_bytes and
	// status derived from its files (status expired when expires_at <= now,
	// in_progress while any file is in_progress, else completed).
	VectorStoreGet(ctx context.Context, projectID, id string) (*schema.VectorStore, error)
	VectorStoreList(ctx context.Context, projectID string, p ListParams) (*Page[schema.VectorStore], error)
	// VectorStoreUpdate reads the store, calls patch on it and writes the
	// result back in one transaction (expires_at recomputed from
	// expires_after and last_active_at); the id, derived fields and
	// embedding model are not patchable.
	VectorStoreUpdate(ctx context.Context, projectID, id string, patch func(*schema.VectorStore) error) (*schema.VectorStore, error)
	// VectorStoreTouch sets last_active_at to now and recomputes expires_at
	// from expires_after (searches and runs use it).
	VectorStoreTouch(ctx context.Context, projectID, id string, now int64) error
	// VectorStoresExpired returns up to limit stores (any project) whose
	// expires_at passed (<= now), for the sweeper to delete.
	VectorStoresExpired(ctx context.Context, now int64, limit int) ([]ProjectObject, error)

	// VectorStoreFileAdd adds files (a file already in the store is reset to
	// in_progress, its lease released, its attempts zeroed and its chunks
	// dropped), optionally as part of a new batch (batch may be nil; its
	// status and file_counts are derived on reads). Each file's
	// VectorStoreID must be vectorStoreID. ErrNotFound if the store is
	// missing.
	VectorStoreFileAdd(ctx context.Context, projectID, vectorStoreID string, files []*VectorStoreFileAdd, batch *schema.VectorStoreFileBatch) error
	VectorStoreFileGet(ctx context.Context, projectID, vectorStoreID, fileID string) (*schema.VectorStoreFile, error)
	// VectorStoreFileList pages through the store's files in the order they
	// were (last) added: a re-added file moves to the end. ErrNotFound if
	// the store (or p.BatchID) is missing.
	VectorStoreFileList(ctx context.Context, projectID, vectorStoreID string, p VectorStoreFileListParams) (*Page[schema.VectorStoreFile], error)
	// VectorStoreFileDelete removes the file from the store with its chunks.
	VectorStoreFileDelete(ctx context.Context, projectID, vectorStoreID, fileID string) error
	// VectorStoreFileUpdate applies patch in one transaction (attributes,
	// chunking strategy; status, usage_bytes and last_error as patched).
	VectorStoreFileUpdate(ctx context.Context, projectID, vectorStoreID, fileID string, patch func(*schema.VectorStoreFile) error) (*schema.VectorStoreFile, error)
	// VectorStoreFileChunks returns a file's chunks in order (for the file
	// content endpoint); ErrNotFound if the file is not in the store.
	VectorStoreFileChunks(ctx context.Context, projectID, vectorStoreID, fileID string) ([]Chunk, error)

	// VectorStoreFileBatchGet derives status and file_counts from the
	// batch's files.
	VectorStoreFileBatchGet(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error)
	// VectorStoreFileBatchCancel marks the batch cancelled and its
	// in_progress files cancelled.
	VectorStoreFileBatchCancel(ctx context.Context, projectID, vectorStoreID, batchID string) (*schema.VectorStoreFileBatch, error)

	// IngestClaim leases one in_progress vector store file whose lease is
	// free or lapsed (any project), oldest first; ErrNotFound when there is
	// none. Each claim increments Attempts.
	IngestClaim(ctx context.Context, p IngestClaimParams) (*IngestJob, error)
	// IngestPending returns up to limit in_progress files, across projects,
	// that IngestClaim could take at now (no live lease), oldest first: the
	// job queue's reconciliation re-queues them.
	IngestPending(ctx context.Context, now time.Time, limit int) ([]IngestRef, error)
	// IngestLeaseRenew extends owner's lease on the file; ErrLeaseLost if
	// owner no longer holds it (or the file is no longer in_progress).
	IngestLeaseRenew(ctx context.Context, vectorStoreID, fileID, owner string, until time.Time) error
	// IngestFinish atomically stores the outcome: status completed with its
	// chunks and usage_bytes, or failed with last_error (no chunks). It
	// releases the lease. ErrNotFound if the file was deleted meanwhile;
	// ErrConflict (nothing written) if the file is no longer in_progress
	// (cancelled); ErrLeaseLost if owner no longer holds the lease (checked
	// in that order).
	IngestFinish(ctx context.Context, projectID string, p *IngestFinishParams) error

	// VectorStoreIndexVersion is a number that changes whenever the store's
	// searchable content changes (a file completed, removed, re-added,
	// attributes updated); a deleted store is ErrNotFound.
	VectorStoreIndexVersion(ctx context.Context, projectID, vectorStoreID string) (int64, error)
	// VectorStoreIndexLoad returns the version and every completed file with
	// its chunks, read from one snapshot (for an in-memory index).
	VectorStoreIndexLoad(ctx context.Context, projectID, vectorStoreID string) (int64, []IndexedFile, error)
}

// VectorStoreFileAdd is one file being added to a vector store.
type VectorStoreFileAdd struct {
	// File is the vector store file: ID = file id, status in_progress,
	// chunking strategy resolved, attributes.
	File *schema.VectorStoreFile
	// Filename is the File's filename at the time it was added (kept even
	// if the File is deleted).
	Filename string
	// Bytes is the File's size (usage_bytes is set by IngestFinish).
	Bytes int64
}

// VectorStoreFileListParams narrows a vector store file list.
type VectorStoreFileListParams struct {
	ListParams
	// Status, when set, keeps only files in that status.
	Status string
	// BatchID, when set, keeps only that batch's files (a file re-added
	// later belongs to its newest batch only).
	BatchID string
}

// IngestClaimParams leases a vector store file to an ingestion worker.
type IngestClaimParams struct {
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	// VectorStoreID and FileID, when both set, claim only that file (the
	// job queue hands out one file per job).
	VectorStoreID, FileID string
}

// IngestRef names a vector store file waiting for ingestion.
type IngestRef struct {
	ProjectID, VectorStoreID, FileID string
	// Attempts counts the claims of the file so far.
	Attempts int
	// CreatedAt is when the file was (re-)added (Unix seconds).
	CreatedAt int64
}

// IngestJob is a claimed vector store file.
type IngestJob struct {
	ProjectID     string
	VectorStoreID string
	// Filename is the one recorded when the file was added.
	Filename string
	// Bytes is the size recorded when the file was added.
	Bytes int64
	File  *schema.VectorStoreFile
	// EmbeddingModel is the store's embedding model ("" for none).
	EmbeddingModel string
	// Attempts counts claims of this file since it was (re-)added, this one
	// included.
	Attempts int
}

// IngestFinishParams is the outcome of one ingestion.
type IngestFinishParams struct {
	Owner, VectorStoreID, FileID string
	// Status is schema.VectorStoreFileCompleted or
	// schema.VectorStoreFileFailed.
	Status    string
	LastError *schema.VectorStoreFileError
	// UsageBytes is the file's usage once completed.
	UsageBytes int64
	// Title is the document title found by extraction (may be "").
	Title string
	// Chunks are stored with a completed file (ignored when failed).
	Chunks []Chunk
}

// Chunk is one chunk of a file's text.
type Chunk struct {
	Index  int
	Text   string
	Tokens int
	// Embedding is nil when the store has no embedder.
	Embedding []float32
}

// IndexedFile is a completed file with everything search needs.
type IndexedFile struct {
	FileID, Filename, Title string
	Attributes              map[string]any
	UsageBytes              int64
	Chunks                  []Chunk
}

// ProjectObject names an object of a project.
type ProjectObject struct {
	ProjectID, ID string
}

// EncodeEmbedding packs an embedding as little-endian float32s (4 bytes
// per dimension); nil stays nil, so a chunk without embedding stores NULL.
func EncodeEmbedding(v []float32) []byte {
	if v == nil {
		return nil
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// DecodeEmbedding unpacks what EncodeEmbedding packed.
func DecodeEmbedding(b []byte) ([]float32, error) {
	if b == nil {
		return nil, nil
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("store: embedding of %d bytes is not a float32 array", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
