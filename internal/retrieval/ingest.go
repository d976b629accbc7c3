package retrieval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/retrieval/chunk"
	"github.com/assistd/assistd/internal/retrieval/extract"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// IngestFile is the ingest job's work: it claims file fileID of vector
// store vectorStoreID and ingests it. It returns how long to wait before
// trying again when the file is leased by a live ingester, and 0 when the
// file needs nothing more (ingested here, finished, cancelled or gone, or
// this process is stopping: the file went back to the queue).
func (s *Service) IngestFile(ctx context.Context, projectID, vectorStoreID, fileID string) (time.Duration, error) {
	now := s.cfg.Now()
	job, err := s.cfg.Store.IngestClaim(ctx, store.IngestClaimParams{Owner: s.cfg.Owner, Now: now, LeaseUntil: now.Add(s.cfg.Lease),
		VectorStoreID: vectorStoreID, FileID: fileID})
	if err == nil {
		s.ingest(ctx, job)
		return 0, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	vf, err := s.cfg.Store.VectorStoreFileGet(ctx, projectID, vectorStoreID, fileID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case vf.Status != schema.VectorStoreFileInProgress:
		return 0, nil
	}
	return min(s.cfg.Lease/2, maxRetry), nil
}

// maxRetry bounds IngestFile's wait (see jobs.WatchInterval).
const maxRetry = 5 * time.Second

// Enqueue queues the ingestion of files just added to a vector store. A
// failure is logged: the job queue's reconciliation queues them later.
func (s *Service) Enqueue(ctx context.Context, projectID string, adds []*store.VectorStoreFileAdd) {
	if s.cfg.Jobs == nil || len(adds) == 0 {
		return
	}
	// The request may be gone; the jobs must not.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	byStore := make(map[string][]string)
	var order []string
	for _, a := range adds {
		vs := a.File.VectorStoreID
		if byStore[vs] == nil {
			order = append(order, vs)
		}
		byStore[vs] = append(byStore[vs], a.File.ID)
	}
	for _, vs := range order {
		if err := s.cfg.Jobs.EnqueueIngest(ctx, projectID, vs, byStore[vs]...); err != nil {
			s.cfg.Logger.Error("queueing ingestion jobs", "vector_store_id", vs, "files", len(byStore[vs]), "error", err)
		}
	}
}

// ingest processes one claimed file and records the outcome. A shutdown
// in the middle records nothing: the lease lapses and another worker (here
// after a restart, or on another replica) ingests the file again.
func (s *Service) ingest(ctx context.Context, job *store.IngestJob) {
	log := s.cfg.Logger.With("vector_store_id", job.VectorStoreID, "file_id", job.File.ID)
	jobCtx, cancel := context.WithCancel(ctx)
	var renew sync.WaitGroup
	renew.Go(func() { s.renewLease(jobCtx, cancel, job) })
	defer func() {
		cancel()
		renew.Wait()
	}()

	p := &store.IngestFinishParams{Owner: s.cfg.Owner, VectorStoreID: job.VectorStoreID, FileID: job.File.ID}
	if job.Attempts > s.cfg.MaxAttempts {
		p.Status, p.LastError = schema.VectorStoreFileFailed, &schema.VectorStoreFileError{
			Code: schema.VectorStoreFileErrServer, Message: "Ingestion of this file was interrupted too many times."}
	} else if err := s.process(jobCtx, job, p); err != nil {
		if ctx.Err() != nil {
			s.release(job) // stopping: another ingester may take it at once
			return
		}
		if jobCtx.Err() != nil {
			return // the lease was lost
		}
		p.Status, p.Chunks, p.UsageBytes, p.Title = schema.VectorStoreFileFailed, nil, 0, ""
		p.LastError = fileError(err)
		if p.LastError.Code == schema.VectorStoreFileErrServer {
			log.Error("ingesting a file", "error", err)
		}
	}
	err := s.cfg.Store.IngestFinish(ctx, job.ProjectID, p)
	switch {
	case err == nil:
		s.Changed(job.ProjectID, job.VectorStoreID)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrLeaseLost):
		// Cancelled, deleted or taken over meanwhile: the outcome is moot.
	case ctx.Err() == nil:
		log.Error("recording an ingested file", "error", err)
	}
}

// release gives the file's lease up.
func (s *Service) release(job *store.IngestJob) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.cfg.Store.IngestLeaseRenew(ctx, job.VectorStoreID, job.File.ID, s.cfg.Owner, s.cfg.Now())
	if err != nil && !errors.Is(err, store.ErrLeaseLost) {
		s.cfg.Logger.Warn("releasing an ingestion lease", "file_id", job.File.ID, "error", err)
	}
}

// renewLease keeps the claim alive while the file is processed; losing it
// cancels the work.
func (s *Service) renewLease(ctx context.Context, cancel context.CancelFunc, job *store.IngestJob) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.cfg.Store.IngestLeaseRenew(ctx, job.VectorStoreID, job.File.ID, s.cfg.Owner, s.cfg.Now().Add(s.cfg.Lease))
		if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) {
			cancel()
			return
		}
	}
}

// ingestError is a failure the file's owner can act on.
type ingestError struct {
	code string
	msg  string
}

func (e *ingestError) Error() string { return e.msg }

// fileError maps a processing failure to the file's last_error.
func fileError(err error) *schema.VectorStoreFileError {
	var ie *ingestError
	switch {
	case errors.As(err, &ie):
		return &schema.VectorStoreFileError{Code: ie.code, Message: ie.msg}
	case errors.Is(err, extract.ErrUnsupported):
		return &schema.VectorStoreFileError{Code: schema.VectorStoreFileErrUnsupportedFile, Message: err.Error()}
	case errors.Is(err, extract.ErrInvalid):
		return &schema.VectorStoreFileError{Code: schema.VectorStoreFileErrInvalidFile, Message: err.Error()}
	}
	return &schema.VectorStoreFileError{Code: schema.VectorStoreFileErrServer, Message: "The file could not be processed because of a server error."}
}

// process reads, extracts, chunks and embeds the file into p.
func (s *Service) process(ctx context.Context, job *store.IngestJob, p *store.IngestFinishParams) error {
	data, err := s.read(ctx, job)
	if err != nil {
		return err
	}
	doc, err := extract.Options{MaxBytes: s.cfg.MaxFileBytes}.Extract(ctx, job.Filename, data)
	if err != nil {
		return err
	}
	chunker, err := s.chunkers.get(strategyOf(job.File.ChunkingStrategy))
	if err != nil {
		return err
	}
	pieces, err := chunker.Chunk(ctx, doc.Text)
	if err != nil {
		return err
	}
	if len(pieces) == 0 {
		return &ingestError{code: schema.VectorStoreFileErrInvalidFile, msg: "The file contains no text to index."}
	}
	p.Title = doc.Title
	p.Chunks = make([]store.Chunk, len(pieces))
	texts := make([]string, len(pieces))
	for i, c := range pieces {
		p.Chunks[i] = store.Chunk{Index: c.Index, Text: c.Text, Tokens: c.Tokens}
		texts[i] = c.Text
		p.UsageBytes += int64(len(c.Text))
	}
	if model := job.EmbeddingModel; model != "" {
		emb := s.cfg.Embedders[model]
		if emb == nil {
			return fmt.Errorf("embedding model %q of the vector store is not configured on this server", model)
		}
		vectors, err := emb.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("embedding with %q: %w", model, err)
		}
		if len(vectors) != len(texts) {
			return fmt.Errorf("embedding with %q: %d vectors for %d texts", model, len(vectors), len(texts))
		}
		for i, v := range vectors {
			p.Chunks[i].Embedding = v
			p.UsageBytes += 4 * int64(len(v))
		}
	}
	p.Status = schema.VectorStoreFileCompleted
	return nil
}

// read loads the file's bytes, bounded by MaxFileBytes.
func (s *Service) read(ctx context.Context, job *store.IngestJob) ([]byte, error) {
	rc, err := s.cfg.Blobs.Open(ctx, blob.FileKey(job.ProjectID, job.File.ID))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &ingestError{code: schema.VectorStoreFileErrInvalidFile, msg: "The file's content no longer exists (the file was deleted)."}
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, s.cfg.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > s.cfg.MaxFileBytes {
		return nil, &ingestError{code: schema.VectorStoreFileErrInvalidFile, msg: fmt.Sprintf("The file is larger than the %d bytes this server indexes.", s.cfg.MaxFileBytes)}
	}
	return data, nil
}

// strategyOf is the chunking of a vector store file (auto when unset).
func strategyOf(c *schema.ChunkingStrategy) chunk.Strategy {
	if c != nil && c.Static != nil {
		return chunk.Strategy{MaxChunkSizeTokens: c.Static.MaxChunkSizeTokens, ChunkOverlapTokens: c.Static.ChunkOverlapTokens}
	}
	return chunk.Auto()
}

// chunkers keeps one Chunker per strategy: building one loads the
// tokenizer's codec.
type chunkers struct {
	mu sync.Mutex
	m  map[chunk.Strategy]*chunk.Chunker
}

func (c *chunkers) get(s chunk.Strategy) (*chunk.Chunker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch := c.m[s]; ch != nil {
		return ch, nil
	}
	ch, err := chunk.New(s, "")
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[chunk.Strategy]*chunk.Chunker)
	}
	c.m[s] = ch
	return ch, nil
}
