package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/assistd/assistd/internal/engine"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// pollHold bounds how long a poll helper's retrieve waits for the run to
// change state before answering with the run as it is.
const pollHold = 10 * time.Second

func errActiveRun(threadID string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest,
		Message: fmt.Sprintf("Thread %s already has an active run.", threadID)}
}

// parseInclude accepts the one include[] value runs and steps know.
func parseInclude(r *http.Request) (bool, error) {
	q := r.URL.Query()
	vals := append(q["include[]"], q["include"]...)
	for _, v := range vals {
		if v != schema.IncludeFileSearchContent {
			return false, badRequest("include", "Invalid value for 'include': expected '%s', got '%s'.", schema.IncludeFileSearchContent, v)
		}
	}
	return len(vals) > 0, nil
}

func viewRun(r *http.Request) func(*schema.Run) any {
	return func(run *schema.Run) any {
		run = run.Wire()
		if dialect(r) == DialectV1 {
			return run.V1()
		}
		return run
	}
}

func viewStep(r *http.Request, include bool) func(*schema.RunStep) any {
	return func(s *schema.RunStep) any {
		s = s.Wire()
		if !include {
			s = s.WithoutFileSearchContent()
		}
		if dialect(r) == DialectV1 {
			return s.V1()
		}
		return s
	}
}

// decodeRunCreate reads a create-run body in either dialect.
func (s *Server) decodeRunCreate(w http.ResponseWriter, r *http.Request) (*schema.RunCreateRequest, error) {
	if dialect(r) == DialectV1 {
		var v1 schema.RunCreateRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return nil, err
		}
		return v1.V2()
	}
	req := new(schema.RunCreateRequest)
	if err := s.decodeJSON(w, r, req); err != nil {
		return nil, err
	}
	if req.Tools != nil {
		if err := schema.RejectV2Retrieval(*req.Tools, "tools"); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// assistantForRun loads the run's assistant, answering 404 as OpenAI does
// for a missing one.
func (s *Server) assistantForRun(ctx context.Context, project, id string) (*schema.Assistant, error) {
	a, err := s.cfg.Store.AssistantGet(ctx, project, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("assistant", id)
	}
	return a, err
}

func (s *Server) newRun(o schema.RunOptions, threadID string, a *schema.Assistant, additional *string) (*schema.Run, error) {
	now := s.cfg.Now().Unix()
	run := o.NewRun(schema.NewID(schema.PrefixRun), threadID, a, additional, now, now+int64(s.cfg.RunExpiry/time.Second))
	if o.ToolChoice != nil {
		if err := o.ToolChoice.Validate("tool_choice", run.Tools); err != nil {
			return nil, err
		}
	}
	return run, nil
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) error {
	threadID, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	include, err := parseInclude(r)
	if err != nil {
		return err
	}
	req, err := s.decodeRunCreate(w, r)
	if err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	project := projectID(r)
	ids, params := []string(nil), []string(nil)
	for i := range req.AdditionalMessages {
		mi, mp := messageFileParams(fmt.Sprintf("additional_messages[%d].", i), &req.AdditionalMessages[i])
		ids, params = append(ids, mi...), append(params, mp...)
	}
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	a, err := s.assistantForRun(r.Context(), project, req.AssistantID)
	if err != nil {
		return err
	}
	run, err := s.newRun(req.RunOptions, threadID, a, req.AdditionalInstructions)
	if err != nil {
		return err
	}
	now := s.cfg.Now().Unix()
	msgs := make([]*schema.Message, len(req.AdditionalMessages))
	for i := range req.AdditionalMessages {
		msgs[i] = req.AdditionalMessages[i].Message(schema.NewID(schema.PrefixMessage), threadID, now)
	}
	if err := s.attachToThread(r.Context(), project, threadID, msgs); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("thread", threadID)
		}
		return err
	}
	sub := s.subscribe(req.Streamed(), run.ID)
	defer sub.Close()
	// Once the write starts it finishes, and the run is queued, even if the
	// client hangs up meanwhile: it may have been committed.
	ctx := context.WithoutCancel(r.Context())
	err = s.cfg.Engine.CreateRun(ctx, project, run, msgs, sub != nil)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("thread", threadID)
	case errors.Is(err, store.ErrActiveRun):
		return errActiveRun(threadID)
	case err != nil:
		return err
	}
	s.answerRun(w, r, sub, run, include)
	return nil
}

func (s *Server) createThreadAndRun(w http.ResponseWriter, r *http.Request) error {
	var req *schema.ThreadAndRunCreateRequest
	if dialect(r) == DialectV1 {
		var v1 schema.ThreadAndRunCreateRequestV1
		if err := s.decodeJSON(w, r, &v1); err != nil {
			return err
		}
		var err error
		if req, err = v1.V2(); err != nil {
			return err
		}
	} else {
		req = new(schema.ThreadAndRunCreateRequest)
		if err := s.decodeJSON(w, r, req); err != nil {
			return err
		}
		if req.Tools != nil {
			if err := schema.RejectV2Retrieval(*req.Tools, "tools"); err != nil {
				return err
			}
		}
	}
	if err := req.Validate(); err != nil {
		return err
	}
	treq := req.Thread
	if treq == nil {
		treq = &schema.ThreadCreateRequest{}
	}
	project := projectID(r)
	ids, params := resourceFileParams("thread.", treq.ToolResources)
	ri, rp := resourceFileParams("", req.ToolResources)
	ids, params = append(ids, ri...), append(params, rp...)
	for i := range treq.Messages {
		mi, mp := messageFileParams(fmt.Sprintf("thread.messages[%d].", i), &treq.Messages[i])
		ids, params = append(ids, mi...), append(params, mp...)
	}
	if err := s.checkFiles(r.Context(), project, ids, params); err != nil {
		return err
	}
	a, err := s.assistantForRun(r.Context(), project, req.AssistantID)
	if err != nil {
		return err
	}
	if err := s.prepareFileSearch(r.Context(), project, treq.ToolResources, "thread.tool_resources"); err != nil {
		return err
	}
	if err := s.prepareFileSearch(r.Context(), project, req.ToolResources, "tool_resources"); err != nil {
		return err
	}
	now := s.cfg.Now().Unix()
	t := treq.Thread(schema.NewID(schema.PrefixThread), now)
	if req.ToolResources != nil {
		// The run's tool_resources become the new thread's.
		t.ToolResources = req.ToolResources.Normalized()
	}
	msgs := make([]*schema.Message, len(treq.Messages))
	for i := range treq.Messages {
		msgs[i] = treq.Messages[i].Message(schema.NewID(schema.PrefixMessage), t.ID, now)
	}
	if err := s.attachToNewThread(r.Context(), project, t, msgs); err != nil {
		return err
	}
	run, err := s.newRun(req.RunOptions, t.ID, a, nil)
	if err != nil {
		return err
	}
	sub := s.subscribe(req.Streamed(), run.ID)
	defer sub.Close()
	ctx := context.WithoutCancel(r.Context()) // see createRun
	if err := s.cfg.Engine.CreateThreadAndRun(ctx, project, t, msgs, run, sub != nil); err != nil {
		return err
	}
	s.answerRun(w, r, sub, run, false)
	return nil
}

// subscribe starts listening to a run's events before the action that
// starts it, when the client asked for a stream (nil otherwise).
func (s *Server) subscribe(stream bool, runID string) *engine.Subscription {
	if !stream {
		return nil
	}
	return s.cfg.Engine.Subscribe(runID)
}

// answerRun streams the run's events when sub is set, else answers the run.
func (s *Server) answerRun(w http.ResponseWriter, r *http.Request, sub *engine.Subscription, run *schema.Run, include bool) {
	if sub != nil {
		s.streamRun(w, r, sub, run, include)
		return
	}
	writeJSON(w, http.StatusOK, viewRun(r)(run))
}

// runActionError answers a failed cancel or submit: a missing run is 404,
// a run in the wrong state 400.
func runActionError(err error, runID string) error {
	var na *engine.ErrNotActive
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("run", runID)
	case errors.As(err, &na):
		return badRequest("", "%s", na.Message)
	}
	return err
}

// runIDs reads and checks the thread and run ids of the path.
func runIDs(r *http.Request) (threadID, runID string, err error) {
	if threadID, err = pathID(r, "thread_id", schema.PrefixThread); err != nil {
		return
	}
	runID, err = pathID(r, "run_id", schema.PrefixRun)
	return
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	project := projectID(r)
	run, err := s.cfg.Store.RunGet(r.Context(), project, threadID, runID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("run", runID)
	}
	if err != nil {
		return err
	}
	// The SDKs' poll helpers mark their requests; holding such a retrieve
	// until the run settles lets createAndPoll return as soon as the run
	// finishes instead of after its next sleep.
	if r.Header.Get("X-Stainless-Poll-Helper") == "true" && !schema.RunIsTerminal(run.Status) && run.Status != schema.RunRequiresAction {
		if changed, err := s.cfg.Engine.AwaitSettled(r.Context(), project, threadID, runID, pollHold); err == nil {
			run = changed
		}
	}
	s.pollAfter(w)
	writeJSON(w, http.StatusOK, viewRun(r)(run))
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	threadID, err := pathID(r, "thread_id", schema.PrefixThread)
	if err != nil {
		return err
	}
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.RunList(r.Context(), projectID(r), threadID, p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("thread", threadID)
	}
	if err != nil {
		return err
	}
	writeList(w, page, viewRun(r), func(run *schema.Run) string { return run.ID })
	return nil
}

func (s *Server) modifyRun(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	var req schema.RunModifyRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	run, err := s.cfg.Engine.ModifyRun(r.Context(), projectID(r), threadID, runID, func(run *schema.Run) {
		if req.Metadata.Set {
			run.Metadata = req.Metadata.Value
			if run.Metadata == nil {
				run.Metadata = schema.Metadata{}
			}
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("run", runID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewRun(r)(run))
	return nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	ctx := context.WithoutCancel(r.Context()) // see createRun
	run, err := s.cfg.Engine.Cancel(ctx, projectID(r), threadID, runID)
	if err != nil {
		return runActionError(err, runID)
	}
	// A cancelling run whose executor is gone needs one to finish.
	s.cfg.Engine.Enqueue(ctx, projectID(r), threadID, runID)
	writeJSON(w, http.StatusOK, viewRun(r)(run))
	return nil
}

func (s *Server) submitToolOutputs(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	var req schema.SubmitToolOutputsRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	sub := s.subscribe(req.Stream != nil && *req.Stream, runID)
	defer sub.Close()
	ctx := context.WithoutCancel(r.Context()) // see createRun
	run, err := s.cfg.Engine.SubmitToolOutputs(ctx, projectID(r), threadID, runID, &req)
	if err != nil {
		return runActionError(err, runID)
	}
	s.answerRun(w, r, sub, run, false)
	return nil
}

func (s *Server) listRunSteps(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	include, err := parseInclude(r)
	if err != nil {
		return err
	}
	p, err := parseList(r, 20, 100)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.RunStepList(r.Context(), projectID(r), threadID, runID, p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("run", runID)
	}
	if err != nil {
		return err
	}
	writeList(w, page, viewStep(r, include), func(st *schema.RunStep) string { return st.ID })
	return nil
}

func (s *Server) getRunStep(w http.ResponseWriter, r *http.Request) error {
	threadID, runID, err := runIDs(r)
	if err != nil {
		return err
	}
	stepID, err := pathID(r, "step_id", schema.PrefixStep)
	if err != nil {
		return err
	}
	include, err := parseInclude(r)
	if err != nil {
		return err
	}
	st, err := s.cfg.Store.RunStepGet(r.Context(), projectID(r), threadID, runID, stepID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("run step", stepID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewStep(r, include)(st))
	return nil
}
