package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/assistd/assistd/internal/retrieval"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func (s *Server) createVectorStore(w http.ResponseWriter, r *http.Request) error {
	var req schema.VectorStoreCreateRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	vs, err := s.newVectorStore(r.Context(), projectID(r), &req, "file_ids[%d]")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vs)
	return nil
}

// vectorStoreFiles checks that each entry names a live file of the project
// and builds its vector store file; param names an entry's file id in the
// request (a format taking its index when it holds a verb).
func (s *Server) vectorStoreFiles(ctx context.Context, project, vectorStoreID string, now int64, entries []schema.VectorStoreFileCreateRequest, param string) ([]*store.VectorStoreFileAdd, error) {
	adds := make([]*store.VectorStoreFileAdd, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for i, e := range entries {
		if seen[e.FileID] {
			continue // the same file twice is one file
		}
		seen[e.FileID] = true
		f, err := s.cfg.Store.FileGet(ctx, project, e.FileID)
		if errors.Is(err, store.ErrNotFound) {
			name := param
			if strings.Contains(param, "%d") {
				name = fmt.Sprintf(param, i)
			}
			return nil, badRequest(name, "No file found with id '%s'.", e.FileID)
		}
		if err != nil {
			return nil, err
		}
		adds = append(adds, &store.VectorStoreFileAdd{File: e.File(vectorStoreID, now), Filename: f.Filename, Bytes: f.Bytes})
	}
	return adds, nil
}

func (s *Server) listVectorStores(w http.ResponseWriter, r *http.Request) error {
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.VectorStoreList(r.Context(), projectID(r), p)
	if err != nil {
		return err
	}
	writeList(w, page, func(v *schema.VectorStore) *schema.VectorStore { return v }, func(v *schema.VectorStore) string { return v.ID })
	return nil
}

// vectorStoreID reads the path's vector_store_id.
func vectorStoreID(r *http.Request) (string, error) {
	return pathID(r, "vector_store_id", schema.PrefixVector)
}

func (s *Server) getVectorStore(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	vs, err := s.cfg.Store.VectorStoreGet(r.Context(), projectID(r), id)
	return answer(w, vs, err, "vector store", id)
}

func (s *Server) modifyVectorStore(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	var req schema.VectorStoreModifyRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	vs, err := s.cfg.Store.VectorStoreUpdate(r.Context(), projectID(r), id, func(v *schema.VectorStore) error {
		req.Patch(v)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vs)
	return nil
}

func (s *Server) deleteVectorStore(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	err = s.cfg.Store.VectorStoreDelete(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	s.cfg.Retrieval.Changed(projectID(r), id)
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: id, Object: "vector_store.deleted", Deleted: true})
	return nil
}

func (s *Server) createVectorStoreFile(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	var req schema.VectorStoreFileCreateRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	adds, err := s.vectorStoreFiles(r.Context(), project, id, s.cfg.Now().Unix(), []schema.VectorStoreFileCreateRequest{req}, "file_id")
	if err != nil {
		return err
	}
	err = s.addFiles(r.Context(), project, id, adds, nil)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adds[0].File)
	return nil
}

// vectorStoreFileIDs reads the path's vector_store_id and file_id.
func vectorStoreFileIDs(r *http.Request) (vsID, fileID string, err error) {
	if vsID, err = vectorStoreID(r); err != nil {
		return "", "", err
	}
	if fileID, err = pathID(r, "file_id", schema.PrefixFile); err != nil {
		return "", "", err
	}
	return vsID, fileID, nil
}

func (s *Server) listVectorStoreFiles(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	p, err := vectorStoreFileListParams(r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.VectorStoreFileList(r.Context(), projectID(r), id, p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	writeVectorStoreFiles(w, page)
	return nil
}

func writeVectorStoreFiles(w http.ResponseWriter, page *store.Page[schema.VectorStoreFile]) {
	writeList(w, page, func(f *schema.VectorStoreFile) *schema.VectorStoreFile { return f }, func(f *schema.VectorStoreFile) string { return f.ID })
}

// vectorStoreFileListParams reads the list parameters and the status filter.
func vectorStoreFileListParams(r *http.Request) (store.VectorStoreFileListParams, error) {
	lp, err := parseList(r, 20, 100)
	if err != nil {
		return store.VectorStoreFileListParams{}, err
	}
	p := store.VectorStoreFileListParams{ListParams: lp}
	switch f := r.URL.Query().Get("filter"); f {
	case "", schema.VectorStoreFileInProgress, schema.VectorStoreFileCompleted, schema.VectorStoreFileFailed, schema.VectorStoreFileCancelled:
		p.Status = f
	default:
		return p, badRequest("filter", "Invalid value: '%s'. Supported values are: 'in_progress', 'completed', 'failed' and 'cancelled'.", f)
	}
	return p, nil
}

func (s *Server) getVectorStoreFile(w http.ResponseWriter, r *http.Request) error {
	vsID, fileID, err := vectorStoreFileIDs(r)
	if err != nil {
		return err
	}
	f, err := s.cfg.Store.VectorStoreFileGet(r.Context(), projectID(r), vsID, fileID)
	s.pollAfter(w)
	return answer(w, f, err, "vector store file", fileID)
}

func (s *Server) updateVectorStoreFile(w http.ResponseWriter, r *http.Request) error {
	vsID, fileID, err := vectorStoreFileIDs(r)
	if err != nil {
		return err
	}
	var req schema.VectorStoreFileUpdateRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	f, err := s.cfg.Store.VectorStoreFileUpdate(r.Context(), projectID(r), vsID, fileID, func(f *schema.VectorStoreFile) error {
		req.Patch(f)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store file", fileID)
	}
	if err != nil {
		return err
	}
	s.cfg.Retrieval.Changed(projectID(r), vsID)
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) deleteVectorStoreFile(w http.ResponseWriter, r *http.Request) error {
	vsID, fileID, err := vectorStoreFileIDs(r)
	if err != nil {
		return err
	}
	err = s.cfg.Store.VectorStoreFileDelete(r.Context(), projectID(r), vsID, fileID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store file", fileID)
	}
	if err != nil {
		return err
	}
	s.cfg.Retrieval.Changed(projectID(r), vsID)
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: fileID, Object: "vector_store.file.deleted", Deleted: true})
	return nil
}

// getVectorStoreFileContent answers the file's parsed text as it was
// indexed, one part per chunk.
func (s *Server) getVectorStoreFileContent(w http.ResponseWriter, r *http.Request) error {
	vsID, fileID, err := vectorStoreFileIDs(r)
	if err != nil {
		return err
	}
	project := projectID(r)
	if _, err := s.cfg.Store.VectorStoreFileGet(r.Context(), project, vsID, fileID); errors.Is(err, store.ErrNotFound) {
		return notFound("vector store file", fileID)
	} else if err != nil {
		return err
	}
	chunks, err := s.cfg.Store.VectorStoreFileChunks(r.Context(), project, vsID, fileID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	page := schema.VectorStoreFileContentPage{Object: "vector_store.file_content.page", Data: make([]schema.FileContentPart, 0, len(chunks))}
	prev := ""
	for _, c := range chunks {
		// Consecutive chunks overlap (chunk_overlap_tokens): each part is
		// what its chunk adds, so that the parts together are the text.
		text := c.Text[overlap(prev, c.Text):]
		prev = c.Text
		if text != "" {
			page.Data = append(page.Data, schema.FileContentPart{Type: "text", Text: text})
		}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) createVectorStoreFileBatch(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	var req schema.VectorStoreFileBatchCreateRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	now := s.cfg.Now().Unix()
	param := "file_ids[%d]"
	if req.Files != nil {
		param = "files[%d].file_id"
	}
	adds, err := s.vectorStoreFiles(r.Context(), project, id, now, req.Entries(), param)
	if err != nil {
		return err
	}
	batch := &schema.VectorStoreFileBatch{ID: schema.NewID(schema.PrefixBatch), Object: "vector_store.files_batch", CreatedAt: now, VectorStoreID: id}
	var counts schema.VectorStoreFileCounts
	counts.Add(schema.VectorStoreFileInProgress, int64(len(adds)))
	batch.Derive(counts, false)
	err = s.addFiles(r.Context(), project, id, adds, batch)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, batch)
	return nil
}

// batchIDs reads the path's vector_store_id and batch_id.
func batchIDs(r *http.Request) (vsID, batchID string, err error) {
	if vsID, err = vectorStoreID(r); err != nil {
		return "", "", err
	}
	if batchID, err = pathID(r, "batch_id", schema.PrefixBatch); err != nil {
		return "", "", err
	}
	return vsID, batchID, nil
}

func (s *Server) getVectorStoreFileBatch(w http.ResponseWriter, r *http.Request) error {
	vsID, batchID, err := batchIDs(r)
	if err != nil {
		return err
	}
	b, err := s.cfg.Store.VectorStoreFileBatchGet(r.Context(), projectID(r), vsID, batchID)
	s.pollAfter(w)
	return answer(w, b, err, "vector store file batch", batchID)
}

func (s *Server) cancelVectorStoreFileBatch(w http.ResponseWriter, r *http.Request) error {
	vsID, batchID, err := batchIDs(r)
	if err != nil {
		return err
	}
	b, err := s.cfg.Store.VectorStoreFileBatchCancel(r.Context(), projectID(r), vsID, batchID)
	return answer(w, b, err, "vector store file batch", batchID)
}

func (s *Server) listVectorStoreFileBatchFiles(w http.ResponseWriter, r *http.Request) error {
	vsID, batchID, err := batchIDs(r)
	if err != nil {
		return err
	}
	p, err := vectorStoreFileListParams(r)
	if err != nil {
		return err
	}
	p.BatchID = batchID
	project := projectID(r)
	if _, err := s.cfg.Store.VectorStoreFileBatchGet(r.Context(), project, vsID, batchID); errors.Is(err, store.ErrNotFound) {
		return notFound("vector store file batch", batchID)
	} else if err != nil {
		return err
	}
	page, err := s.cfg.Store.VectorStoreFileList(r.Context(), project, vsID, p)
	if err != nil {
		return err
	}
	writeVectorStoreFiles(w, page)
	return nil
}

func (s *Server) searchVectorStore(w http.ResponseWriter, r *http.Request) error {
	id, err := vectorStoreID(r)
	if err != nil {
		return err
	}
	var req schema.VectorStoreSearchRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	queries := []string(req.Query)
	if req.RewriteQuery {
		queries = make([]string, 0, len(req.Query))
		for _, q := range req.Query {
			if rw := s.cfg.Retrieval.RewriteQuery(q); rw != "" {
				q = rw
			}
			queries = append(queries, q)
		}
	}
	p := retrieval.SearchParams{Queries: queries, MaxResults: req.Limit(), Filter: req.Filters}
	if ro := req.RankingOptions; ro != nil {
		if ro.ScoreThreshold != nil {
			p.ScoreThreshold = *ro.ScoreThreshold
		}
		p.NoRerank = ro.Ranker == "none"
	}
	results, err := s.cfg.Retrieval.Search(r.Context(), projectID(r), []string{id}, p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("vector store", id)
	}
	if err != nil {
		return err
	}
	page := schema.VectorStoreSearchResultsPage{Object: "vector_store.search_results.page", SearchQuery: queries,
		Data: make([]schema.VectorStoreSearchResult, 0, len(results))}
	for _, res := range results {
		page.Data = append(page.Data, schema.VectorStoreSearchResult{FileID: res.FileID, Filename: res.Filename, Score: res.Score,
			Attributes: res.Attributes, Content: []schema.SearchResultContent{{Type: "text", Text: res.Text}}})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// pollAfter tells the SDKs' poll helpers (createAndPoll, uploadAndPoll) how
// long to sleep before polling again; without it they wait seconds, while
// ingestion usually takes milliseconds.
func (s *Server) pollAfter(w http.ResponseWriter) {
	w.Header().Set("Openai-Poll-After-Ms", strconv.Itoa(s.cfg.PollAfterMs))
}

// answer writes v, or the 404 of the kind of object named id when err is
// store.ErrNotFound, or returns err.
func answer[T any](w http.ResponseWriter, v T, err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(kind, id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// overlap is the length of the longest suffix of a that is a prefix of b
// (Knuth-Morris-Pratt's failure function over b, then a scan of a: linear).
func overlap(a, b string) int {
	if a == "" || b == "" {
		return 0
	}
	fail := make([]int, len(b))
	for i, k := 1, 0; i < len(b); i++ {
		for k > 0 && b[i] != b[k] {
			k = fail[k-1]
		}
		if b[i] == b[k] {
			k++
		}
		fail[i] = k
	}
	k := 0
	for i := 0; i < len(a); i++ {
		for k > 0 && (k == len(b) || a[i] != b[k]) {
			k = fail[k-1]
		}
		if k < len(b) && a[i] == b[k] {
			k++
		}
	}
	return k
}

// addFiles adds files to a store (as a batch when batch is set), then tells
// search the store changed and queues their ingestion.
func (s *Server) addFiles(ctx context.Context, project, vectorStoreID string, adds []*store.VectorStoreFileAdd, batch *schema.VectorStoreFileBatch) error {
	if err := s.cfg.Store.VectorStoreFileAdd(ctx, project, vectorStoreID, adds, batch); err != nil {
		return err
	}
	s.cfg.Retrieval.Changed(project, vectorStoreID)
	s.cfg.Retrieval.Enqueue(ctx, project, adds)
	return nil
}
