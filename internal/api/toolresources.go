package api

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// threadStoreExpiryDays is how long a vector store made for a thread's
// message attachments lives after its last activity, as on OpenAI.
const threadStoreExpiryDays = 7

// prepareFileSearch checks the vector stores tool_resources name and
// carries out the vector_stores helper: the store is created from its files
// and the resources name it instead. prefix is the resources' request path
// ("tool_resources" or "thread.tool_resources").
func (s *Server) prepareFileSearch(ctx context.Context, project string, res *schema.ToolResources, prefix string) error {
	if res == nil || res.FileSearch == nil {
		return nil
	}
	fs := res.FileSearch
	for i, id := range fs.VectorStoreIDs {
		if _, err := s.cfg.Store.VectorStoreIndexVersion(ctx, project, id); errors.Is(err, store.ErrNotFound) {
			return badRequest(fmt.Sprintf("%s.file_search.vector_store_ids[%d]", prefix, i), "No vector store found with id '%s'.", id)
		} else if err != nil {
			return err
		}
	}
	if len(fs.VectorStores) == 0 {
		return nil
	}
	h := fs.VectorStores[0]
	req := schema.VectorStoreCreateRequest{FileIDs: h.FileIDs, ChunkingStrategy: h.ChunkingStrategy, Metadata: h.Metadata}
	vs, err := s.newVectorStore(ctx, project, &req, prefix+".file_search.vector_stores[0].file_ids[%d]")
	if err != nil {
		return err
	}
	fs.VectorStoreIDs, fs.VectorStores = []string{vs.ID}, nil
	return nil
}

// newVectorStore creates a vector store with its first files and starts
// their ingestion; fileParam formats the request path of a file id.
func (s *Server) newVectorStore(ctx context.Context, project string, req *schema.VectorStoreCreateRequest, fileParam string) (*schema.VectorStore, error) {
	now := s.cfg.Now().Unix()
	vs := req.VectorStore(schema.NewID(schema.PrefixVector), now)
	model, err := s.embeddingModel(req.EmbeddingModel)
	if err != nil {
		return nil, err
	}
	vs.EmbeddingModel = model
	entries := make([]schema.VectorStoreFileCreateRequest, len(req.FileIDs))
	for i, id := range req.FileIDs {
		entries[i] = schema.VectorStoreFileCreateRequest{FileID: id, ChunkingStrategy: req.ChunkingStrategy}
	}
	adds, err := s.vectorStoreFiles(ctx, project, vs.ID, now, entries, fileParam)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.VectorStoreCreate(ctx, project, vs, adds); err != nil {
		return nil, err
	}
	s.cfg.Retrieval.Enqueue(ctx, project, adds)
	return vs, nil
}

// searchAttachments returns the ids of the files attached to messages for
// file_search, each once.
func searchAttachments(msgs []*schema.Message) []string {
	var ids []string
	for _, m := range msgs {
		for _, a := range m.Attachments {
			if slices.ContainsFunc(a.Tools, func(t schema.AttachmentTool) bool { return t.Type == schema.ToolFileSearch }) && !slices.Contains(ids, a.FileID) {
				ids = append(ids, a.FileID)
			}
		}
	}
	return ids
}

// attachToNewThread puts the messages' file_search attachments into the
// new thread's vector store: the one its tool_resources name, or a store
// made for it that expires after a week without use.
func (s *Server) attachToNewThread(ctx context.Context, project string, t *schema.Thread, msgs []*schema.Message) error {
	ids := searchAttachments(msgs)
	if len(ids) == 0 {
		return nil
	}
	if existing := t.ToolResources.VectorStoreIDs(); len(existing) > 0 {
		return s.addToVectorStore(ctx, project, existing[0], ids)
	}
	vs, err := s.threadVectorStore(ctx, project, ids)
	if err != nil {
		return err
	}
	if t.ToolResources.FileSearch == nil {
		t.ToolResources.FileSearch = &schema.FileSearchResources{}
	}
	t.ToolResources.FileSearch.VectorStoreIDs = []string{vs.ID}
	return nil
}

// attachToThread is attachToNewThread for a thread that exists.
func (s *Server) attachToThread(ctx context.Context, project, threadID string, msgs []*schema.Message) error {
	ids := searchAttachments(msgs)
	if len(ids) == 0 {
		return nil
	}
	t, err := s.cfg.Store.ThreadGet(ctx, project, threadID)
	if err != nil {
		return err
	}
	if existing := t.ToolResources.VectorStoreIDs(); len(existing) > 0 {
		return s.addToVectorStore(ctx, project, existing[0], ids)
	}
	vs, err := s.threadVectorStore(ctx, project, ids)
	if err != nil {
		return err
	}
	var other string
	_, err = s.cfg.Store.ThreadUpdate(ctx, project, threadID, func(t *schema.Thread) error {
		if existing := t.ToolResources.VectorStoreIDs(); len(existing) > 0 {
			other = existing[0] // set meanwhile by another request
			return nil
		}
		if t.ToolResources.FileSearch == nil {
			t.ToolResources.FileSearch = &schema.FileSearchResources{}
		}
		t.ToolResources.FileSearch.VectorStoreIDs = []string{vs.ID}
		return nil
	})
	if err != nil {
		return err
	}
	if other != "" {
		return s.addToVectorStore(ctx, project, other, ids)
	}
	return nil
}

// threadVectorStore creates the store of a thread's attachments.
func (s *Server) threadVectorStore(ctx context.Context, project string, fileIDs []string) (*schema.VectorStore, error) {
	req := schema.VectorStoreCreateRequest{FileIDs: fileIDs,
		ExpiresAfter: &schema.VectorStoreExpiresAfter{Anchor: "last_active_at", Days: threadStoreExpiryDays}}
	return s.newVectorStore(ctx, project, &req, "attachments[%d].file_id")
}

// addToVectorStore adds files to a store and starts their ingestion. A file
// the store already holds (attached to an earlier message) stays as it is:
// attaching it again is no reason to index it again.
func (s *Server) addToVectorStore(ctx context.Context, project, vectorStoreID string, fileIDs []string) error {
	var entries []schema.VectorStoreFileCreateRequest
	for _, id := range fileIDs {
		_, err := s.cfg.Store.VectorStoreFileGet(ctx, project, vectorStoreID, id)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		entries = append(entries, schema.VectorStoreFileCreateRequest{FileID: id})
	}
	if len(entries) == 0 {
		return nil
	}
	adds, err := s.vectorStoreFiles(ctx, project, vectorStoreID, s.cfg.Now().Unix(), entries, "attachments[%d].file_id")
	if err != nil {
		return err
	}
	// A store deleted meanwhile has nothing left to ingest.
	if err := s.addFiles(ctx, project, vectorStoreID, adds, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// v1Retrieval makes a v1 assistant's files searchable: v1 gave an
// assistant's file_ids to every tool, retrieval included, so they also go
// into a vector store of the assistant (as OpenAI's v2 migration did).
func v1Retrieval(res *schema.ToolResources) {
	if res == nil || res.CodeInterpreter == nil || len(res.CodeInterpreter.FileIDs) == 0 {
		return
	}
	res.FileSearch = &schema.FileSearchResources{VectorStores: []schema.VectorStoreHelper{{FileIDs: res.CodeInterpreter.FileIDs}}}
}

// embeddingModel resolves a store's embedding_model (an assistd
// extension): absent is the server's default, "none" keyword search only.
func (s *Server) embeddingModel(requested *string) (string, error) {
	switch {
	case requested == nil:
		return s.cfg.Retrieval.DefaultEmbeddingModel(), nil
	case *requested == "none" || *requested == "":
		return "", nil
	case s.cfg.Retrieval.HasEmbeddingModel(*requested):
		return *requested, nil
	}
	return "", badRequest("embedding_model", "Invalid 'embedding_model': '%s' is not an embedding model this server is configured with (or 'none' for keyword search only).", *requested)
}
