package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func viewMessage(r *http.Request) func(*schema.Message) any {
	if dialect(r) == DialectV1 {
		return func(m *schema.Message) any { return m.V1() }
	}
	return func(m *schema.Message) any { return m }
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) error {
	threadID, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	var req *schema.MessageCreateRequest
	if dialect(r) == DialectV1 {
		var v1 schema.MessageCreateRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		if req, err = v1.V2(); err != nil {
			return err
		}
	} else {
		req = new(schema.MessageCreateRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	ids, params := messageFileParams("", req)
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	m := req.Message(schema.NewID(schema.PrefixMessage), threadID, s.cfg.Now().Unix())
	err = s.cfg.Store.MessageCreate(r.Context(), project, m)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", threadID)
	}
	if errors.Is(err, store.ErrActiveRun) {
		return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest,
			Message: fmt.Sprintf("Can't add messages to %s while a run is active.", threadID)}
	}
	if err != nil {
		return err
	}
	if err := s.attachToThread(r.Context(), project, threadID, []*schema.Message{m}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMessage(r)(m))
	return nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	threadID, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.MessageList(r.Context(), projectID(r), threadID, store.MessageListParams{ListParams: p, RunID: r.URL.Query().Get("run_id")})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", threadID)
	}
	if err != nil {
		return err
	}
	writeList(w, page, viewMessage(r), func(m *schema.Message) string { return m.ID })
	return nil
}

// messagePath reads and checks both path ids of a message route.
func messagePath(r *http.Request) (threadID, id string, err error) {
	if threadID, err = pathID(r, "thread_id", schema.PrefixThread); err != nil {
		return "", "", err
	}
	id, err = pathID(r, "message_id", schema.PrefixMessage)
	return threadID, id, err
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	threadID, id, err := messagePath(r)
	if err != nil {
		return err
	}
	m, err := s.cfg.Store.MessageGet(r.Context(), projectID(r), threadID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMessage(r)(m))
	return nil
}

func (s *Server) modifyMessage(w http.ResponseWriter, r *http.Request) error {
	threadID, id, err := messagePath(r)
	if err != nil {
		return err
	}
	var req schema.MessageModifyRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	m, err := s.cfg.Store.MessageUpdate(r.Context(), projectID(r), threadID, id, func(m *schema.Message) error {
		req.Patch(m)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMessage(r)(m))
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	threadID, id, err := messagePath(r)
	if err != nil {
		return err
	}
	err = s.cfg.Store.MessageDelete(r.Context(), projectID(r), threadID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: id, Object: "thread.message.deleted", Deleted: true})
	return nil
}
