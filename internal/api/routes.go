package api

import (
	"net/http"
	"strings"
)

// routes registers every endpoint in one list (Go 1.22 patterns) and answers
// unknown paths (404) and wrong methods (405) with the OpenAI error object.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	for pattern, h := range map[string]handlerFunc{
		"POST /v1/files":                                                          s.createFile,
		"GET /v1/files":                                                           s.listFiles,
		"GET /v1/files/{file_id}":                                                 s.getFile,
		"DELETE /v1/files/{file_id}":                                              s.deleteFile,
		"GET /v1/files/{file_id}/content":                                         s.getFileContent,
		"POST /v1/assistants":                                                     s.createAssistant,
		"GET /v1/assistants":                                                      s.listAssistants,
		"GET /v1/assistants/{assistant_id}":                                       s.getAssistant,
		"POST /v1/assistants/{assistant_id}":                                      s.modifyAssistant,
		"DELETE /v1/assistants/{assistant_id}":                                    s.deleteAssistant,
		"POST /v1/threads":                                                        s.createThread,
		"GET /v1/threads/{thread_id}":                                             s.getThread,
		"POST /v1/threads/{thread_id}":                                            s.modifyThread,
		"DELETE /v1/threads/{thread_id}":                                          s.deleteThread,
		"POST /v1/threads/{thread_id}/messages":                                   s.createMessage,
		"GET /v1/threads/{thread_id}/messages":                                    s.listMessages,
		"GET /v1/threads/{thread_id}/messages/{message_id}":                       s.getMessage,
		"POST /v1/threads/{thread_id}/messages/{message_id}":                      s.modifyMessage,
		"DELETE /v1/threads/{thread_id}/messages/{message_id}":                    s.deleteMessage,
		"POST /v1/threads/runs":                                                   s.createThreadAndRun,
		"POST /v1/threads/{thread_id}/runs":                                       s.createRun,
		"GET /v1/threads/{thread_id}/runs":                                        s.listRuns,
		"GET /v1/threads/{thread_id}/runs/{run_id}":                               s.getRun,
		"POST /v1/threads/{thread_id}/runs/{run_id}":                              s.modifyRun,
		"POST /v1/threads/{thread_id}/runs/{run_id}/cancel":                       s.cancelRun,
		"POST /v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs":          s.submitToolOutputs,
		"GET /v1/threads/{thread_id}/runs/{run_id}/steps":                         s.listRunSteps,
		"GET /v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}":               s.getRunStep,
		"POST /v1/vector_stores":                                                  s.createVectorStore,
		"GET /v1/vector_stores":                                                   s.listVectorStores,
		"GET /v1/vector_stores/{vector_store_id}":                                 s.getVectorStore,
		"POST /v1/vector_stores/{vector_store_id}":                                s.modifyVectorStore,
		"DELETE /v1/vector_stores/{vector_store_id}":                              s.deleteVectorStore,
		"POST /v1/vector_stores/{vector_store_id}/search":                         s.searchVectorStore,
		"POST /v1/vector_stores/{vector_store_id}/files":                          s.createVectorStoreFile,
		"GET /v1/vector_stores/{vector_store_id}/files":                           s.listVectorStoreFiles,
		"GET /v1/vector_stores/{vector_store_id}/files/{file_id}":                 s.getVectorStoreFile,
		"POST /v1/vector_stores/{vector_store_id}/files/{file_id}":                s.updateVectorStoreFile,
		"DELETE /v1/vector_stores/{vector_store_id}/files/{file_id}":              s.deleteVectorStoreFile,
		"GET /v1/vector_stores/{vector_store_id}/files/{file_id}/content":         s.getVectorStoreFileContent,
		"POST /v1/vector_stores/{vector_store_id}/file_batches":                   s.createVectorStoreFileBatch,
		"GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}":         s.getVectorStoreFileBatch,
		"POST /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel": s.cancelVectorStoreFileBatch,
		"GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files":   s.listVectorStoreFileBatchFiles,
	} {
		api.Handle(pattern, s.handle(h))
	}
	// v1-only sub-resources, served from the v2 mapping. The v2 API has no
	// such paths, so other dialects get the unknown-route 404.
	for pattern, h := range map[string]handlerFunc{
		"GET /v1/assistants/{assistant_id}/files":                           s.listAssistantFiles,
		"POST /v1/assistants/{assistant_id}/files":                          s.createAssistantFile,
		"GET /v1/assistants/{assistant_id}/files/{file_id}":                 s.getAssistantFile,
		"DELETE /v1/assistants/{assistant_id}/files/{file_id}":              s.deleteAssistantFile,
		"GET /v1/threads/{thread_id}/messages/{message_id}/files":           s.listMessageFiles,
		"GET /v1/threads/{thread_id}/messages/{message_id}/files/{file_id}": s.getMessageFile,
	} {
		api.Handle(pattern, s.v1Only(s.handle(h)))
	}
	api.HandleFunc("/v1/", s.unknownRoute)

	root := http.NewServeMux()
	root.Handle("/v1/", s.authenticate(api))
	// Probes for orchestrators and load balancers, without authentication.
	root.Handle("/healthz", getOnly(s.healthz))
	root.Handle("/readyz", getOnly(s.readyz))
	root.Handle("/", http.HandlerFunc(s.unknownRoute))
	return s.common(methodAware(api, root))
}

// methodAware answers requests whose path exists under another method with
// 405 and an Allow header, before auth, like OpenAI does.
func methodAware(api *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := api.Handler(r); pattern != "/v1/" && pattern != "" {
			next.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := api.Handler(probe); pattern != "/v1/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, &Error{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
			Message: "Not allowed to " + r.Method + " on " + r.URL.Path + ". (HINT: Perhaps you meant to use a different HTTP method?)"})
	})
}

func (s *Server) v1Only(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dialect(r) != DialectV1 {
			s.unknownRoute(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) unknownRoute(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, &Error{Status: http.StatusNotFound, Type: typeInvalidRequest,
		Message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")"})
}
