package retrieval

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/assistd/assistd/internal/retrieval/index"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// touchEvery bounds how often searching a store writes its last_active_at:
// expiry counts in days, and a search must not cost a write.
const touchEvery = time.Minute

// SearchParams is one search over one or more vector stores.
type SearchParams struct {
	// Queries are searched together: a chunk scores its best over them.
	Queries []string
	// MaxResults bounds the results (default 10).
	MaxResults int
	// ScoreThreshold drops results scoring below it (0..1).
	ScoreThreshold float64
	// Filter keeps only files whose attributes match; nil keeps all.
	Filter *schema.Filter
	// NoRerank is ranking_options.ranker "none": first-pass ranking only.
	NoRerank bool
}

// Result is one chunk found.
type Result struct {
	VectorStoreID string
	FileID        string
	Filename      string
	// Score is in [0,1], higher is more relevant.
	Score      float64
	Attributes map[string]any
	ChunkIndex int
	Text       string
}

// Search searches the vector stores and returns the best chunks across
// them, best first. A store that does not exist in the project is
// store.ErrNotFound.
func (s *Service) Search(ctx context.Context, projectID string, vectorStoreIDs []string, p SearchParams) ([]Result, error) {
	if p.MaxResults <= 0 {
		p.MaxResults = 10
	}
	var out []Result
	vectors := map[string][]float32{} // query embedding by model
	for _, id := range vectorStoreIDs {
		e, err := s.index(ctx, projectID, id)
		if err != nil {
			return nil, err
		}
		q := index.Query{Text: p.Queries, Limit: p.MaxResults, ScoreThreshold: p.ScoreThreshold, NoRerank: p.NoRerank}
		if p.Filter != nil {
			q.Keep = func(fileID string) bool { return p.Filter.Match(e.files[fileID].attributes) }
		}
		if e.model != "" && e.hasVectors {
			v, ok := vectors[e.model]
			if !ok {
				if v, err = s.embedQuery(ctx, e.model, p.Queries); err != nil {
					return nil, err
				}
				vectors[e.model] = v
			}
			q.Vector = v
		}
		for _, h := range e.idx.Search(q) {
			c := e.chunks[h.DocID]
			f := e.files[h.FileID]
			out = append(out, Result{VectorStoreID: id, FileID: h.FileID, Filename: f.filename, Score: h.Score,
				Attributes: f.attributes, ChunkIndex: c.index, Text: c.text})
		}
		s.touch(ctx, projectID, id, e)
	}
	if len(vectorStoreIDs) > 1 {
		slices.SortStableFunc(out, func(a, b Result) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		if len(out) > p.MaxResults {
			out = out[:p.MaxResults]
		}
	}
	return out, nil
}

// embedQuery embeds the queries with the store's model; several queries are
// averaged into one direction.
func (s *Service) embedQuery(ctx context.Context, model string, queries []string) ([]float32, error) {
	emb := s.cfg.Embedders[model]
	if emb == nil {
		return nil, fmt.Errorf("embedding model %q of the vector store is not configured on this server", model)
	}
	vs, err := emb.Embed(ctx, queries)
	if err != nil {
		return nil, fmt.Errorf("embedding the query with %q: %w", model, err)
	}
	if len(vs) == 0 {
		return nil, errors.New("the embedding provider returned no vector for the query")
	}
	if len(vs) == 1 {
		return vs[0], nil
	}
	sum := make([]float32, len(vs[0]))
	for _, v := range vs {
		for i := range min(len(v), len(sum)) {
			sum[i] += v[i]
		}
	}
	return sum, nil
}

// touch records activity on the store, at most once per touchEvery.
func (s *Service) touch(ctx context.Context, projectID, id string, e *indexEntry) {
	now := s.cfg.Now()
	e.mu.Lock()
	due := now.Sub(e.touched) >= touchEvery
	if due {
		e.touched = now
	}
	e.mu.Unlock()
	if due {
		if err := s.cfg.Store.VectorStoreTouch(ctx, projectID, id, now.Unix()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Warn("recording vector store activity", "vector_store_id", id, "error", err)
		}
	}
}

// FileChunks returns the text of a file's chunks in a store, in order.
func (s *Service) FileChunks(ctx context.Context, projectID, vectorStoreID, fileID string) ([]string, error) {
	chunks, err := s.cfg.Store.VectorStoreFileChunks(ctx, projectID, vectorStoreID, fileID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.Text
	}
	return out, nil
}

// RewriteQuery turns a natural-language query into the keywords the index
// matches on (what rewrite_query shows as search_query).
func (s *Service) RewriteQuery(q string) string {
	return strings.Join(s.keywords.Terms(q), " ")
}

// indexEntry is one vector store's in-memory index at one version.
type indexEntry struct {
	key        string
	version    int64
	model      string
	hasVectors bool
	idx        *index.Index
	files      map[string]fileMeta
	chunks     map[string]chunkRef

	mu      sync.Mutex
	touched time.Time
	// verified is when the version was last found current in the database.
	verified time.Time
}

// fresh reports whether the entry was verified within interval.
func (e *indexEntry) fresh(now time.Time, interval time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.verified.IsZero() && now.Sub(e.verified) < interval
}

func (e *indexEntry) checked(now time.Time) {
	e.mu.Lock()
	e.verified = now
	e.mu.Unlock()
}

type fileMeta struct {
	filename   string
	attributes map[string]any
}

type chunkRef struct {
	index int
	text  string
}

// index returns the store's index, rebuilt from the database when the
// store's content changed since it was built (by any replica).
func (s *Service) index(ctx context.Context, projectID, id string) (*indexEntry, error) {
	key := projectID + "/" + id
	now := s.cfg.Now()
	if e := s.indexes.get(key); e != nil && e.fresh(now, s.cfg.VersionCheckInterval) {
		return e, nil
	}
	version, err := s.cfg.Store.VectorStoreIndexVersion(ctx, projectID, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.indexes.drop(projectID, id)
		}
		return nil, err
	}
	if e := s.indexes.get(key); e != nil && e.version == version {
		e.checked(now)
		return e, nil
	}
	// One load per store at a time; others wait for it rather than
	// loading the same chunks again.
	lock := s.indexes.loadLock(key)
	lock.Lock()
	defer lock.Unlock()
	if e := s.indexes.get(key); e != nil && e.version >= version {
		return e, nil
	}
	e, err := s.load(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	e.checked(now)
	s.indexes.put(e)
	return e, nil
}

// Changed tells the service that a store's searchable content changed
// through this process, so that its next search checks the database at
// once rather than after VersionCheckInterval.
func (s *Service) Changed(projectID, vectorStoreID string) {
	if e := s.indexes.get(projectID + "/" + vectorStoreID); e != nil {
		e.mu.Lock()
		e.verified = time.Time{}
		e.mu.Unlock()
	}
}

func (s *Service) load(ctx context.Context, projectID, id string) (*indexEntry, error) {
	vs, err := s.cfg.Store.VectorStoreGet(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	version, files, err := s.cfg.Store.VectorStoreIndexLoad(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	e := &indexEntry{key: projectID + "/" + id, version: version, model: vs.EmbeddingModel, idx: index.New(index.Options{}),
		files: make(map[string]fileMeta, len(files)), chunks: make(map[string]chunkRef)}
	var docs []index.Doc
	for _, f := range files {
		e.files[f.FileID] = fileMeta{filename: f.Filename, attributes: f.Attributes}
		for _, c := range f.Chunks {
			docID := f.FileID + "#" + strconv.Itoa(c.Index)
			e.chunks[docID] = chunkRef{index: c.Index, text: c.Text}
			docs = append(docs, index.Doc{ID: docID, FileID: f.FileID, Title: f.Title, Text: c.Text, Vector: c.Embedding})
			if c.Embedding != nil {
				e.hasVectors = true
			}
		}
	}
	e.idx.Add(docs...)
	return e, nil
}

// indexCache keeps the most recently used indexes.
type indexCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element // of *indexEntry
	lru     *list.List
	loading map[string]*sync.Mutex
}

func (c *indexCache) init(max int) {
	c.max, c.entries, c.lru, c.loading = max, make(map[string]*list.Element), list.New(), make(map[string]*sync.Mutex)
}

func (c *indexCache) get(key string) *indexEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[key]
	if el == nil {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*indexEntry)
}

func (c *indexCache) put(e *indexEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[e.key]; el != nil {
		old := el.Value.(*indexEntry)
		old.mu.Lock()
		touched := old.touched
		old.mu.Unlock()
		e.touched = touched
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*indexEntry).key)
		delete(c.loading, last.Value.(*indexEntry).key)
	}
}

// loadLock serialises loads of one store.
func (c *indexCache) loadLock(key string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.loading[key]
	if m == nil {
		m = new(sync.Mutex)
		c.loading[key] = m
	}
	return m
}

func (c *indexCache) drop(projectID, id string) {
	key := projectID + "/" + id
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[key]; el != nil {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	delete(c.loading, key)
}
