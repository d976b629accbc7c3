package api

import (
	"errors"
	"net/http"

	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

func viewAssistant(r *http.Request) func(*schema.Assistant) any {
	if dialect(r) == DialectV1 {
		return func(a *schema.Assistant) any { return a.V1() }
	}
	return func(a *schema.Assistant) any { return a }
}

func (s *Server) createAssistant(w http.ResponseWriter, r *http.Request) error {
	var req *schema.AssistantCreateRequest
	if dialect(r) == DialectV1 {
		var v1 schema.AssistantCreateRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		var err error
		if req, err = v1.V2(); err != nil {
			return err
		}
	} else {
		req = new(schema.AssistantCreateRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
		if err := schema.RejectV2Retrieval(req.Tools, "tools"); err != nil {
			return err
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	ids, params := resourceFileParams("", req.ToolResources)
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	if dialect(r) == DialectV1 {
		v1Retrieval(req.ToolResources)
	}
	if err := s.prepareFileSearch(r.Context(), project, req.ToolResources, "tool_resources"); err != nil {
		return err
	}
	a := req.Assistant(schema.NewID(schema.PrefixAssistant), s.cfg.Now().Unix())
	if err := s.cfg.Store.AssistantCreate(r.Context(), project, a); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAssistant(r)(a))
	return nil
}

func (s *Server) listAssistants(w http.ResponseWriter, r *http.Request) error {
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.AssistantList(r.Context(), projectID(r), p)
	if err != nil {
		return err
	}
	writeList(w, page, viewAssistant(r), func(a *schema.Assistant) string { return a.ID })
	return nil
}

func (s *Server) getAssistant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return err
	}
	a, err := s.cfg.Store.AssistantGet(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("assistant", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAssistant(r)(a))
	return nil
}

func (s *Server) modifyAssistant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return err
	}
	var req *schema.AssistantModifyRequest
	if dialect(r) == DialectV1 {
		var v1 schema.AssistantModifyRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		if req, err = v1.V2(); err != nil {
			return err
		}
	} else {
		req = new(schema.AssistantModifyRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
		if err := schema.RejectV2Retrieval(req.Tools.Value, "tools"); err != nil {
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
	if dialect(r) == DialectV1 {
		v1Retrieval(req.ToolResources.Ptr())
	}
	if err := s.prepareFileSearch(r.Context(), project, req.ToolResources.Ptr(), "tool_resources"); err != nil {
		return err
	}
	a, err := s.cfg.Store.AssistantUpdate(r.Context(), project, id, func(a *schema.Assistant) error {
		req.Patch(a)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("assistant", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAssistant(r)(a))
	return nil
}

func (s *Server) deleteAssistant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "assistant_id", schema.PrefixAssistant)
	if err != nil {
		return err
	}
	err = s.cfg.Store.AssistantDelete(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("assistant", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: id, Object: "assistant.deleted", Deleted: true})
	return nil
}
