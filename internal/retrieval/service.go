// Package retrieval is file_search: it ingests the files of vector stores
// (extract text, chunk, embed, persist the chunks) as durable background
// jobs, and searches stores through in-memory indexes built from the
// persisted chunks, so that it behaves the same on every store backend.
//
// Every file added to a store gets a job in the durable job queue
// (internal/jobs) whose worker, IngestFile, claims the file under a lease
// and ingests it, so ingestion survives restarts and the death of the
// replica doing it; the lease is the fencing token of its outcome.
package retrieval

import (
	"context"
	"log/slog"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/retrieval/chunk"
	"github.com/assistd/assistd/internal/retrieval/index"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// Embedder turns texts into vectors (an OpenAI-compatible /v1/embeddings
// client, see internal/retrieval/embed).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Config wires a Service.
type Config struct {
	Store  store.Store
	Blobs  blob.Store
	Logger *slog.Logger
	Now    func() time.Time
	// Embedders are the embedding models this server can use, by model
	// name; none means keyword search only.
	Embedders map[string]Embedder
	// DefaultEmbeddingModel is the model new vector stores embed with ("" for
	// none). It must name one of Embedders.
	DefaultEmbeddingModel string
	// Owner names this process in ingestion leases; unique per process.
	Owner string
	// Lease is how long an ingestion claim lasts without renewal.
	Lease time.Duration
	// Jobs queues ingestion jobs (see Enqueue); nil queues none.
	Jobs Enqueuer
	// MaxAttempts bounds takeovers of one file's ingestion.
	MaxAttempts int
	// MaxFileBytes bounds the bytes read from one file.
	MaxFileBytes int64
	// MaxCachedStores bounds the in-memory indexes kept (least recently
	// used are dropped and rebuilt from the database when needed again).
	MaxCachedStores int
	// VersionCheckInterval is how long a store's index is used without
	// asking the database whether the store changed (default 200ms).
	// Changes made through this process (Changed, ingestion) are seen at
	// once; this bounds how late another replica's are.
	VersionCheckInterval time.Duration
}

// Enqueuer queues ingestion jobs (internal/jobs).
type Enqueuer interface {
	EnqueueIngest(ctx context.Context, projectID, vectorStoreID string, fileIDs ...string) error
}

// Service ingests and searches vector stores.
type Service struct {
	cfg Config

	chunkers chunkers
	indexes  indexCache
	// keywords rewrites queries: lower-cased words, stopwords dropped, not
	// stemmed (a user reads them).
	keywords *index.Analyzer
}

// New returns a Service; the job queue calls IngestFile.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = schema.NewID("ingest_")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 512 << 20
	}
	if cfg.MaxCachedStores <= 0 {
		cfg.MaxCachedStores = 64
	}
	if cfg.VersionCheckInterval <= 0 {
		cfg.VersionCheckInterval = 200 * time.Millisecond
	}
	s := &Service{cfg: cfg, keywords: index.NewAnalyzer(index.AnalyzerOptions{NoStem: true})}
	s.indexes.init(cfg.MaxCachedStores)
	return s
}

// DefaultEmbeddingModel is the embedding model a new vector store records.
func (s *Service) DefaultEmbeddingModel() string { return s.cfg.DefaultEmbeddingModel }

// HasEmbeddingModel reports whether the server can embed with model.
func (s *Service) HasEmbeddingModel(model string) bool { return s.cfg.Embedders[model] != nil }

// CountTokens counts text's tokens as chunking does (cl100k_base).
func (s *Service) CountTokens(text string) int {
	c, err := s.chunkers.get(chunk.Auto())
	if err != nil {
		return len(text) / 4
	}
	n, err := c.Count(text)
	if err != nil {
		return len(text) / 4
	}
	return n
}
