package api

import (
	"errors"
	"net/http"
	"slices"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// The v1-only file sub-resources (/assistants/{id}/files and
// /threads/{tid}/messages/{mid}/files) are served from the v2 mapping:
// assistant files are tool_resources.code_interpreter.file_ids, message files
// are attachments. Attach time is not tracked, so created_at is the parent's.

type assistantFile struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	CreatedAt   int64  `json:"created_at"`
	AssistantID string `json:"assistant_id"`
}

type messageFile struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	CreatedAt int64  `json:"created_at"`
	MessageID string `json:"message_id"`
}

// pageOf pages an in-memory list (stored oldest first) like the store does.
func pageOf[T any](items []T, id func(T) string, p store.ListParams) *store.Page[T] {
	list := slices.Clone(items)
	if p.Order == store.OrderDesc {
		slices.Reverse(list)
	}
	idx := func(cursor string) int {
		return slices.IndexFunc(list, func(v T) bool { return id(v) == cursor })
	}
	lo, hi := 0, len(list)
	if p.After != "" {
		i := idx(p.After)
		if i < 0 {
			return &store.Page[T]{}
		}
		lo = i + 1
	}
	if p.Before != "" {
		i := idx(p.Before)
		if i < 0 {
			return &store.Page[T]{}
		}
		hi = min(hi, i)
	}
	if lo >= hi {
		return &store.Page[T]{}
	}
	list = list[lo:hi]
	if p.Before != "" && p.After == "" && len(list) > p.Limit {
		// Nearest to the cursor, as the stored lists do.
		return &store.Page[T]{Data: list[len(list)-p.Limit:], HasMore: true}
	}
	if len(list) > p.Limit {
		return &store.Page[T]{Data: list[:p.Limit], HasMore: true}
	}
	return &store.Page[T]{Data: list}
}

func assistantFiles(a *schema.Assistant) []assistantFile {
	var out []assistantFile
	if ci := a.ToolResources.CodeInterpreter; ci != nil {
		for _, id := range ci.FileIDs {
			out = append(out, assistantFile{ID: id, Object: "assistant.file", CreatedAt: a.CreatedAt, AssistantID: a.ID})
		}
	}
	return out
}

func (s *Server) assistantFromPath(r *http.Request) (*schema.Assistant, error) {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Store.AssistantGet(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("assistant", id)
	}
	return a, err
}

func (s *Server) listAssistantFiles(w http.ResponseWriter, r *http.Request) error {
	a, err := s.assistantFromPath(r)
	if err != nil {
		return err
	}
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	fileID := func(f assistantFile) string { return f.ID }
	writeList(w, pageOf(assistantFiles(a), fileID, p), func(f *assistantFile) assistantFile { return *f }, func(f *assistantFile) string { return f.ID })
	return nil
}

func (s *Server) getAssistantFile(w http.ResponseWriter, r *http.Request) error {
	a, err := s.assistantFromPath(r)
	if err != nil {
		return err
	}
	fileID := r.PathValue("file_id")
	for _, f := range assistantFiles(a) {
		if f.ID == fileID {
			writeJSON(w, http.StatusOK, f)
			return nil
		}
	}
	return notFound("file", fileID)
}

func (s *Server) createAssistantFile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return err
	}
	var req struct {
		FileID string `json:"file_id"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.FileID == "" {
		return badRequest("file_id", "Missing required parameter: 'file_id'.")
	}
	project := projectID(r)
	if err := s.checkFiles(r.Context(), project, []string{req.FileID}, []string{"file_id"}); err != nil {
		return err
	}
	a, err := s.cfg.Store.AssistantUpdate(r.Context(), project, id, func(a *schema.Assistant) error {
		ci := a.ToolResources.CodeInterpreter
		if ci == nil {
			ci = &schema.CodeInterpreterResources{FileIDs: []string{}}
			a.ToolResources.CodeInterpreter = ci
		}
		if slices.Contains(ci.FileIDs, req.FileID) {
			return nil
		}
		if len(ci.FileIDs) >= schema.MaxV1AssistantFiles {
			return badRequest("file_id", "The assistant already has the maximum of %d files.", schema.MaxV1AssistantFiles)
		}
		ci.FileIDs = append(ci.FileIDs, req.FileID)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("assistant", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, assistantFile{ID: req.FileID, Object: "assistant.file", CreatedAt: a.CreatedAt, AssistantID: a.ID})
	return nil
}

func (s *Server) deleteAssistantFile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return err
	}
	fileID := r.PathValue("file_id")
	_, err = s.cfg.Store.AssistantUpdate(r.Context(), projectID(r), id, func(a *schema.Assistant) error {
		ci := a.ToolResources.CodeInterpreter
		if ci == nil || !slices.Contains(ci.FileIDs, fileID) {
			return notFound("file", fileID)
		}
		ci.FileIDs = slices.DeleteFunc(ci.FileIDs, func(f string) bool { return f == fileID })
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("assistant", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: fileID, Object: "assistant.file.deleted", Deleted: true})
	return nil
}

func messageFiles(m *schema.Message) []messageFile {
	var out []messageFile
	for _, a := range m.Attachments {
		out = append(out, messageFile{ID: a.FileID, Object: "thread.message.file", CreatedAt: m.CreatedAt, MessageID: m.ID})
	}
	return out
}

func (s *Server) messageFromPath(r *http.Request) (*schema.Message, error) {
	threadID, id, err := messagePath(r)
	if err != nil {
		return nil, err
	}
	m, err := s.cfg.Store.MessageGet(r.Context(), projectID(r), threadID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("message", id)
	}
	return m, err
}

func (s *Server) listMessageFiles(w http.ResponseWriter, r *http.Request) error {
	m, err := s.messageFromPath(r)
	if err != nil {
		return err
	}
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	writeList(w, pageOf(messageFiles(m), func(f messageFile) string { return f.ID }, p), func(f *messageFile) messageFile { return *f }, func(f *messageFile) string { return f.ID })
	return nil
}

func (s *Server) getMessageFile(w http.ResponseWriter, r *http.Request) error {
	m, err := s.messageFromPath(r)
	if err != nil {
		return err
	}
	fileID := r.PathValue("file_id")
	for _, f := range messageFiles(m) {
		if f.ID == fileID {
			writeJSON(w, http.StatusOK, f)
			return nil
		}
	}
	return notFound("file", fileID)
}
