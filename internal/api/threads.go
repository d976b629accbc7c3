package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func viewThread(r *http.Request, t *schema.Thread) any {
	if dialect(r) == DialectV1 {
		return t.V1()
	}
	return t
}

func (s *Server) createThread(w http.ResponseWriter, r *http.Request) error {
	var req *schema.ThreadCreateRequest
	if dialect(r) == DialectV1 {
		var v1 schema.ThreadCreateRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		var err error
		if req, err = v1.V2(); err != nil {
			return err
		}
	} else {
		req = new(schema.ThreadCreateRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	ids, params := resourceFileParams("", req.ToolResources)
	for i := range req.Messages {
		mi, mp := messageFileParams(fmt.Sprintf("messages[%d].", i), &req.Messages[i])
		ids, params = append(ids, mi...), append(params, mp...)
	}
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	if err := s.prepareFileSearch(r.Context(), project, req.ToolResources, "tool_resources"); err != nil {
		return err
	}
	now := s.cfg.Now().Unix()
	t := req.Thread(schema.NewID(schema.PrefixThread), now)
	msgs := make([]*schema.Message, len(req.Messages))
	for i := range req.Messages {
		msgs[i] = req.Messages[i].Message(schema.NewID(schema.PrefixMessage), t.ID, now)
	}
	if err := s.attachToNewThread(r.Context(), project, t, msgs); err != nil {
		return err
	}
	if err := s.cfg.Store.ThreadCreate(r.Context(), project, t, msgs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewThread(r, t))
	return nil
}

func (s *Server) getThread(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	t, err := s.cfg.Store.ThreadGet(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewThread(r, t))
	return nil
}

func (s *Server) modifyThread(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	var req *schema.ThreadModifyRequest
	if dialect(r) == DialectV1 {
		var v1 schema.ThreadModifyRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		req = v1.V2()
	} else {
		req = new(schema.ThreadModifyRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	ids, params := resourceFileParams("", req.ToolResources.Ptr())
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	if err := s.prepareFileSearch(r.Context(), project, req.ToolResources.Ptr(), "tool_resources"); err != nil {
		return err
	}
	t, err := s.cfg.Store.ThreadUpdate(r.Context(), project, id, func(t *schema.Thread) error {
		req.Patch(t)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewThread(r, t))
	return nil
}

func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	err = s.cfg.Store.ThreadDelete(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: id, Object: "thread.deleted", Deleted: true})
	return nil
}
