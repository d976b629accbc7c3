package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// execution drives one claimed run until it stops needing this executor:
// a terminal status, requires_action, a lost lease or engine shutdown.
type execution struct {
	e        *Engine
	project  string
	run      *schema.Run
	attempts int
	// committed is the run status last written, the guard of the next save.
	committed string
	// unstarted says the run had never been started when this execution
	// claimed it (or was just created for it), so it has no steps yet: the
	// first turn need not read them.
	unstarted bool

	// mu serialises this execution's commits with ModifyRun's, which hands
	// over the metadata it committed in meta so that the next save keeps it.
	mu      sync.Mutex
	meta    schema.Metadata
	metaSet bool

	// files maps the sandbox paths of the files the run's code wrote to
	// the Files they became (the latest write wins), so that the answers'
	// sandbox:/mnt/data/… links get file_path annotations.
	files map[string]string
	// sources maps the file names the run's file_search calls returned to
	// their file ids, so that the answers' citation markers get
	// file_citation annotations. buildPrompt fills it from the steps.
	sources map[string]string
}

// errStop ends an execution without touching the run further: the lease is
// lost, or the run was already finished by someone else.
var errStop = errors.New("execution stopped")

func (x *execution) execute(ctx context.Context) {
	x.committed = x.run.Status
	leaseCtx, stopLease := context.WithCancel(ctx)
	leaseDone := make(chan struct{})
	runCtx, interrupt := context.WithCancel(ctx)
	go func() {
		defer close(leaseDone)
		x.keepLease(leaseCtx, interrupt)
	}()
	err := x.drive(runCtx)
	stopLease()
	<-leaseDone
	interrupt()

	log := x.e.cfg.Logger.With("run_id", x.run.ID)
	switch {
	case err == nil, errors.Is(err, errStop):
	case x.e.shuttingDown():
		// Hand the run over at once rather than after the lease lapses,
		// with a job for another replica to take it: a streamed run
		// started here has none (see queueJob).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := x.e.cfg.Store.RunLeaseRenew(rctx, x.run.ID, x.e.cfg.Owner, x.e.cfg.Now()); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			log.Warn("releasing run lease", "error", err)
		}
		x.e.Enqueue(rctx, x.project, x.run.ThreadID, x.run.ID)
	default:
		log.Error("run failed", "error", err)
		x.fail(context.WithoutCancel(ctx), schema.ErrCodeServer, "The server had an error while processing your request.")
	}
}

// keepLease renews the lease until ctx ends; if the lease is lost (another
// executor took the run) or the run is being cancelled elsewhere, it
// interrupts the execution.
func (x *execution) keepLease(ctx context.Context, interrupt context.CancelFunc) {
	t := time.NewTicker(x.e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := x.e.cfg.Store.RunLeaseRenew(ctx, x.run.ID, x.e.cfg.Owner, x.e.cfg.Now().Add(x.e.cfg.Lease))
		if errors.Is(err, store.ErrLeaseLost) {
			interrupt()
			return
		}
		if r, err := x.e.cfg.Store.RunGet(ctx, x.project, x.run.ThreadID, x.run.ID); err == nil && r.Status == schema.RunCancelling {
			interrupt()
		}
	}
}

func (e *Engine) shuttingDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctx == nil || e.ctx.Err() != nil
}

// drive runs model turns until the run leaves in_progress.
func (x *execution) drive(ctx context.Context) error {
	if x.attempts > x.e.cfg.MaxAttempts {
		return x.fail(ctx, schema.ErrCodeServer, fmt.Sprintf("The run was interrupted %d times and has been abandoned.", x.attempts-1))
	}
	if x.run.Status == schema.RunCancelling {
		return x.finishCancel(ctx, nil, nil)
	}
	if x.run.Status == schema.RunQueued {
		if x.run.StartedAt == nil {
			now := x.e.now()
			x.run.StartedAt = &now
			x.unstarted = true
		}
		x.run.Status = schema.RunInProgress
		if err := x.save(ctx, &store.RunSaveParams{}); err != nil {
			return x.handleSaveError(ctx, err, nil, nil)
		}
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventRunInProgress, Data: cloneRun(x.run)})
	}
	for turn := 0; ; turn++ {
		if turn >= x.e.cfg.MaxTurns {
			return x.fail(ctx, schema.ErrCodeServer, fmt.Sprintf("The run exceeded %d model turns.", x.e.cfg.MaxTurns))
		}
		done, err := x.turn(ctx)
		if err != nil && ctx.Err() != nil && !errors.Is(err, errStop) {
			// Interrupted between model calls (a cancel, a lost lease or
			// shutdown): not a failure of the run.
			return x.interrupted(ctx, &turnState{})
		}
		if err != nil || done {
			return err
		}
	}
}

// turnState is what one model turn has created so far.
type turnState struct {
	msgStep  *schema.RunStep
	msg      *schema.Message
	toolStep *schema.RunStep
	text     string
	// calls accumulate streamed tool calls by index.
	calls []schema.ToolCall
	// builtins are the built-in tools offered this turn, by function name.
	builtins map[string]schema.Tool
	// images are the figures the run's code drew that no message of the
	// run shows yet: the turn's message shows them first.
	images []string
	err    error
}

// turn asks the model once and commits what it answered. It reports done
// when the run no longer needs this executor.
func (x *execution) turn(ctx context.Context) (bool, error) {
	var steps []*schema.RunStep
	var err error
	if x.unstarted {
		x.unstarted = false
	} else if steps, err = x.e.allSteps(ctx, x.project, x.run); err != nil {
		return false, err
	}
	st := &turnState{}
	// Steps a dead executor left open are reused, not duplicated.
	for _, s := range steps {
		if s.Status != schema.StepInProgress {
			continue
		}
		switch s.Type {
		case schema.StepMessageCreation:
			m, err := x.e.cfg.Store.MessageGet(ctx, x.project, x.run.ThreadID, s.StepDetails.MessageCreation.MessageID)
			if err == nil {
				st.msgStep, st.msg = s, m
			}
		case schema.StepToolCalls:
			st.toolStep = s
		}
	}

	if st.images, err = x.pendingImages(ctx, steps); err != nil {
		return false, err
	}
	p, err := x.buildPrompt(ctx, steps)
	if p != nil {
		st.builtins = p.builtins
	}
	if errors.Is(err, errPromptTooLong) {
		return true, x.finishIncomplete(ctx, st, "max_prompt_tokens")
	}
	if err != nil {
		return false, err
	}
	req := &llm.Request{
		Model: x.run.Model, Messages: p.messages, Tools: p.tools,
		Temperature: x.run.Temperature, TopP: x.run.TopP, ResponseFormat: responseFormat(x.run.ResponseFormat),
	}
	if x.run.ReasoningEffort != nil {
		req.ReasoningEffort = *x.run.ReasoningEffort
	}
	if len(p.tools) > 0 {
		ptc := x.run.ParallelToolCalls
		req.ParallelToolCalls = &ptc
		req.ToolChoice, req.ToolName = toolChoice(x.run.ToolChoice, p.builtins)
	}
	if lim := x.run.MaxCompletionTokens; lim != nil {
		left := *lim
		if x.run.Usage != nil {
			left -= x.run.Usage.CompletionTokens
		}
		if left <= 0 {
			return true, x.finishIncomplete(ctx, st, "max_completion_tokens")
		}
		req.MaxTokens = &left
	}

	resp, err := x.e.cfg.Models.Complete(ctx, req, func(d llm.Delta) { x.onDelta(ctx, st, d) })
	if err == nil {
		err = st.err
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return true, x.interrupted(ctx, st)
		}
		if errors.Is(err, errStop) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrLeaseLost) {
			return true, x.handleSaveError(ctx, err, st.msgStep, st.msg)
		}
		code, msg := modelError(err)
		x.e.cfg.Logger.Warn("model call failed", "run_id", x.run.ID, "model", x.run.Model, "error", err)
		return true, x.failWith(ctx, st, code, msg)
	}
	return x.commitTurn(ctx, st, resp)
}

// onDelta commits the step (and message) a turn's first piece reveals, then
// publishes the piece. A failed commit is kept in st.err and stops the turn
// at its end.
func (x *execution) onDelta(ctx context.Context, st *turnState, d llm.Delta) {
	if st.err != nil {
		return
	}
	if d.Text != "" {
		if st.msg == nil {
			if st.err = x.openMessage(ctx, st); st.err != nil {
				return
			}
		}
		st.text += d.Text
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventMessageDelta, Data: schema.NewTextDelta(st.msg.ID, len(st.images), d.Text)})
	}
	if tc := d.ToolCall; tc != nil {
		if st.toolStep == nil {
			if st.err = x.openToolStep(ctx, st); st.err != nil {
				return
			}
		}
		for len(st.calls) <= tc.Index {
			st.calls = append(st.calls, schema.ToolCall{Type: schema.ToolFunction, Function: &schema.FunctionToolCall{}})
		}
		c := &st.calls[tc.Index]
		delta := schema.ToolCallDelta{Index: tc.Index, Type: schema.ToolFunction, Function: &schema.FunctionToolCallDelta{Arguments: tc.Arguments}}
		if c.ID == "" {
			c.ID = callID(tc.ID)
			c.Function.Name = tc.Name
			delta.ID = c.ID
			delta.Function.Name = tc.Name
		}
		c.Function.Arguments += tc.Arguments
		if _, builtin := st.builtins[c.Function.Name]; builtin {
			return // announced in the tool's own shape once executed
		}
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventStepDelta, Data: &schema.RunStepDelta{
			ID: st.toolStep.ID, Object: "thread.run.step.delta",
			Delta: schema.RunStepDeltaBody{StepDetails: schema.StepDetailsDelta{Type: schema.StepToolCalls, ToolCalls: []schema.ToolCallDelta{delta}}},
		}})
	}
}

// callID keeps the provider's call id when it has OpenAI's shape, so the
// ids a client sees are stable and recognisable.
func callID(upstream string) string {
	if len(upstream) > len(schema.PrefixCall) && upstream[:len(schema.PrefixCall)] == schema.PrefixCall {
		return upstream
	}
	return schema.NewID(schema.PrefixCall)
}

func (x *execution) newStep(typ string) *schema.RunStep {
	return &schema.RunStep{
		ID: schema.NewID(schema.PrefixStep), Object: "thread.run.step", CreatedAt: x.e.now(),
		AssistantID: x.run.AssistantID, ThreadID: x.run.ThreadID, RunID: x.run.ID,
		Type: typ, Status: schema.StepInProgress, StepDetails: schema.StepDetails{Type: typ}, Metadata: schema.Metadata{},
	}
}

// openMessage commits a message_creation step and its empty in_progress
// message, and announces them.
func (x *execution) openMessage(ctx context.Context, st *turnState) error {
	step := x.newStep(schema.StepMessageCreation)
	runID, asstID := x.run.ID, x.run.AssistantID
	msg := &schema.Message{
		ID: schema.NewID(schema.PrefixMessage), Object: "thread.message", CreatedAt: x.e.now(), ThreadID: x.run.ThreadID,
		Status: schema.MessageStatusInProgress, Role: "assistant", Content: []schema.ContentPart{},
		AssistantID: &asstID, RunID: &runID, Attachments: []schema.MessageAttachment{}, Metadata: schema.Metadata{},
	}
	step.StepDetails.MessageCreation = &schema.MessageCreation{MessageID: msg.ID}
	// Opening a message or tool step changes only steps and messages: every
	// change to the run is saved before the model is called again.
	if err := x.save(ctx, &store.RunSaveParams{RunUnchanged: true, Steps: []*schema.RunStep{step}, Messages: []*schema.Message{msg}}); err != nil {
		return err
	}
	st.msgStep, st.msg = step, msg
	x.e.publish(x.run.ID,
		schema.Event{Name: schema.EventStepCreated, Data: cloneStep(step)},
		schema.Event{Name: schema.EventStepInProgress, Data: cloneStep(step)},
		schema.Event{Name: schema.EventMessageCreated, Data: cloneMessage(msg)},
		schema.Event{Name: schema.EventMessageInProgress, Data: cloneMessage(msg)})
	if len(st.images) > 0 {
		d := &schema.MessageDelta{ID: msg.ID, Object: "thread.message.delta"}
		for i, id := range st.images {
			d.Delta.Content = append(d.Delta.Content, schema.MessageDeltaPart{Index: i, Type: schema.ContentImageFile, ImageFile: &schema.ImageFile{FileID: id}})
		}
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventMessageDelta, Data: d})
	}
	return nil
}

func (x *execution) openToolStep(ctx context.Context, st *turnState) error {
	step := x.newStep(schema.StepToolCalls)
	step.StepDetails.ToolCalls = []schema.ToolCall{}
	if err := x.save(ctx, &store.RunSaveParams{RunUnchanged: true, Steps: []*schema.RunStep{step}}); err != nil {
		return err
	}
	st.toolStep = step
	x.e.publish(x.run.ID,
		schema.Event{Name: schema.EventStepCreated, Data: cloneStep(step)},
		schema.Event{Name: schema.EventStepInProgress, Data: cloneStep(step)})
	return nil
}

// commitTurn records a finished model answer: the message it wrote, the
// function calls it made (the run then requires action), or the end of
// the run.
func (x *execution) commitTurn(ctx context.Context, st *turnState, resp *llm.Response) (bool, error) {
	// A provider that answered without streaming pieces still gets its
	// message and calls recorded.
	if st.text == "" && resp.Text != "" {
		if err := x.openMessage(ctx, st); err != nil {
			return true, x.handleSaveError(ctx, err, nil, nil)
		}
		st.text = resp.Text
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventMessageDelta, Data: schema.NewTextDelta(st.msg.ID, len(st.images), resp.Text)})
	}
	calls := st.calls
	if len(calls) == 0 && len(resp.ToolCalls) > 0 {
		if st.toolStep == nil {
			if err := x.openToolStep(ctx, st); err != nil {
				return true, x.handleSaveError(ctx, err, st.msgStep, st.msg)
			}
		}
		for _, c := range resp.ToolCalls {
			calls = append(calls, schema.ToolCall{ID: callID(c.ID), Type: schema.ToolFunction, Function: &schema.FunctionToolCall{Name: c.Name, Arguments: c.Arguments}})
		}
	}
	usage := schema.Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
		TotalTokens: resp.Usage.PromptTokens + resp.Usage.CompletionTokens}
	total := usage
	if x.run.Usage != nil {
		total.Add(*x.run.Usage)
	}
	x.run.Usage = &total
	if x.hasBuiltin(st, calls) {
		return x.runBuiltins(ctx, st, calls, usage)
	}
	now := x.e.now()
	p := &store.RunSaveParams{}
	var events []schema.Event
	truncated := resp.FinishReason == llm.FinishLength

	events = append(events, x.closeMessage(st, p, now, truncated && len(calls) == 0, usage)...)

	if len(calls) > 0 {
		s := st.toolStep
		s.StepDetails.ToolCalls = calls
		u := usage
		s.Usage = &u
		p.Steps = append(p.Steps, s)
		required := make([]schema.RequiredToolCall, 0, len(calls))
		for _, c := range calls {
			required = append(required, schema.RequiredToolCall{ID: c.ID, Type: schema.ToolFunction,
				Function: schema.FunctionCall{Name: c.Function.Name, Arguments: c.Function.Arguments}})
		}
		x.run.Status = schema.RunRequiresAction
		x.run.RequiredAction = &schema.RequiredAction{Type: "submit_tool_outputs", SubmitToolOutputs: schema.SubmitToolOutputs{ToolCalls: required}}
		exp := now + int64(x.e.cfg.RequiresActionTimeout/time.Second)
		x.run.ExpiresAt = &exp
		events = append(events, schema.Event{Name: schema.EventRunRequiresAction, Data: cloneRun(x.run)})
	} else if truncated {
		x.run.Status = schema.RunIncomplete
		x.run.IncompleteDetails = &schema.IncompleteDetails{Reason: "max_completion_tokens"}
		x.run.ExpiresAt = nil
		events = append(events, schema.Event{Name: schema.EventRunIncomplete, Data: cloneRun(x.run)})
	} else {
		x.run.Status = schema.RunCompleted
		x.run.CompletedAt = &now
		x.run.ExpiresAt = nil
		events = append(events, schema.Event{Name: schema.EventRunCompleted, Data: cloneRun(x.run)})
	}
	if err := x.save(ctx, p); err != nil {
		return true, x.handleSaveError(ctx, err, st.msgStep, st.msg)
	}
	x.e.publish(x.run.ID, events...)
	return true, nil
}

// closeMessage completes the turn's message (incomplete when truncated)
// and its step, adding them to p; the step carries the turn's usage unless a
// tool step follows, which then does. It returns the events to publish.
func (x *execution) closeMessage(st *turnState, p *store.RunSaveParams, now int64, truncated bool, usage schema.Usage) []schema.Event {
	if st.msg == nil {
		return nil
	}
	m := st.msg
	m.Content = x.messageContent(st)
	var events []schema.Event
	if text := m.Content[len(m.Content)-1].Text; len(text.Annotations) > 0 {
		d := &schema.TextDelta{Annotations: make([]schema.AnnotationDelta, len(text.Annotations))}
		for i, a := range text.Annotations {
			d.Annotations[i] = schema.AnnotationDelta{Index: i, Annotation: a}
		}
		events = append(events, schema.Event{Name: schema.EventMessageDelta, Data: &schema.MessageDelta{ID: m.ID, Object: "thread.message.delta",
			Delta: schema.MessageDeltaBody{Content: []schema.MessageDeltaPart{{Index: len(m.Content) - 1, Type: schema.ContentText, Text: d}}}}})
	}
	if truncated {
		m.Status = schema.MessageStatusIncomplete
		m.IncompleteAt = &now
		m.IncompleteDetails = &schema.IncompleteDetails{Reason: "max_tokens"}
	} else {
		m.Status = schema.MessageStatusCompleted
		m.CompletedAt = &now
	}
	s := st.msgStep
	s.Status = schema.StepCompleted
	s.CompletedAt = &now
	if st.toolStep == nil {
		u := usage
		s.Usage = &u
	} else {
		s.Usage = &schema.Usage{}
	}
	p.Messages = append(p.Messages, m)
	p.Steps = append(p.Steps, s)
	return append(events, schema.Event{Name: schema.MessageEventName(m.Status), Data: cloneMessage(m)},
		schema.Event{Name: schema.EventStepCompleted, Data: cloneStep(s)})
}

// messageContent is the turn's message as written so far: the figures not
// yet shown, then the text with a file_path annotation on each sandbox link
// to a file the run's code wrote.
func (x *execution) messageContent(st *turnState) []schema.ContentPart {
	parts := make([]schema.ContentPart, 0, len(st.images)+1)
	for _, id := range st.images {
		parts = append(parts, schema.ContentPart{Type: schema.ContentImageFile, ImageFile: &schema.ImageFile{FileID: id}})
	}
	text := schema.TextPart(st.text)
	text.Text.Annotations = append(text.Text.Annotations, filePathAnnotations(st.text, x.files)...)
	if cites := citationAnnotations(st.text, x.sources); len(cites) > 0 {
		text.Text.Annotations = append(text.Text.Annotations, cites...)
		slices.SortStableFunc(text.Text.Annotations, func(a, b schema.Annotation) int { return a.StartIndex - b.StartIndex })
	}
	return append(parts, text)
}

// pendingImages lists the image outputs of the run's code_interpreter calls
// that no message of the run shows yet, in the order they were drawn. It
// reads them from the steps, so they survive a change of executor.
func (x *execution) pendingImages(ctx context.Context, steps []*schema.RunStep) ([]string, error) {
	var images []string
	for _, s := range steps {
		if s.Type != schema.StepToolCalls {
			continue
		}
		for _, c := range s.StepDetails.ToolCalls {
			if c.CodeInterpreter == nil {
				continue
			}
			for _, o := range c.CodeInterpreter.Outputs {
				if o.Image != nil && o.Image.FileID != "" {
					images = append(images, o.Image.FileID)
				}
			}
		}
	}
	if len(images) == 0 {
		return nil, nil
	}
	shown := make(map[string]bool)
	for _, s := range steps {
		if s.Type != schema.StepMessageCreation || s.Status != schema.StepCompleted || s.StepDetails.MessageCreation == nil {
			continue
		}
		m, err := x.e.cfg.Store.MessageGet(ctx, x.project, x.run.ThreadID, s.StepDetails.MessageCreation.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted by the client
		}
		if err != nil {
			return nil, err
		}
		for _, p := range m.Content {
			if p.ImageFile != nil {
				shown[p.ImageFile.FileID] = true
			}
		}
	}
	out := images[:0]
	for _, id := range images {
		if !shown[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// sandboxLink is how answers link to the files the code wrote, as OpenAI's
// code interpreter did: [name](sandbox:/mnt/data/name).
const sandboxLink = "sandbox:"

// filePathAnnotations finds each sandbox:/mnt/data/… link in text to one of
// files (sandbox path → file id) and annotates it. Indexes count characters
// (Unicode code points), as OpenAI's do; the longest known path wins, and a
// path must end where the link does (out.csv does not match out.csv2).
func filePathAnnotations(text string, files map[string]string) []schema.Annotation {
	if len(files) == 0 {
		return nil
	}
	var out []schema.Annotation
	chars := 0 // code points before text[done:]
	done := 0
	for i := 0; ; {
		j := strings.Index(text[i:], sandboxLink+"/")
		if j < 0 {
			return out
		}
		start := i + j
		rest := text[start+len(sandboxLink):]
		best := ""
		for p := range files {
			if len(p) > len(best) && strings.HasPrefix(rest, p) && pathEnds(rest[len(p):]) {
				best = p
			}
		}
		if best == "" {
			i = start + len(sandboxLink)
			continue
		}
		end := start + len(sandboxLink) + len(best)
		chars += utf8.RuneCountInString(text[done:start])
		n := utf8.RuneCountInString(text[start:end])
		out = append(out, schema.Annotation{Type: "file_path", Text: text[start:end], FilePath: &schema.FilePath{FileID: files[best]},
			StartIndex: chars, EndIndex: chars + n})
		chars += n
		done, i = end, end
	}
}

// pathEnds reports whether a path stops before rest: rest does not go on
// with a character of a longer name (a letter, digit, _, -, /, %, or a dot
// followed by one of those).
func pathEnds(rest string) bool {
	r, n := utf8.DecodeRuneInString(rest)
	if r == '.' {
		r, _ = utf8.DecodeRuneInString(rest[n:])
	}
	return rest == "" || !(r == '_' || r == '-' || r == '/' || r == '%' || unicode.IsLetter(r) || unicode.IsDigit(r))
}

// wrote records a file the run's code wrote (BuiltinCall.Wrote).
func (x *execution) wrote(sandboxPath, fileID string) {
	if x.files == nil {
		x.files = make(map[string]string)
	}
	x.files[sandboxPath] = fileID
}

// hasBuiltin reports whether the model called a built-in tool.
func (x *execution) hasBuiltin(st *turnState, calls []schema.ToolCall) bool {
	for _, c := range calls {
		if c.Function != nil {
			if _, ok := st.builtins[c.Function.Name]; ok {
				return true
			}
		}
	}
	return false
}

// runBuiltins executes the built-in tool calls of a turn. The step is
// committed with the calls first (so a crash re-runs the turn rather than
// losing it), then each call is executed and recorded in its tool's shape.
// With no function calls left the step completes and the run goes on to the
// next turn; otherwise the run waits for the function outputs.
func (x *execution) runBuiltins(ctx context.Context, st *turnState, calls []schema.ToolCall, usage schema.Usage) (bool, error) {
	now := x.e.now()
	p := &store.RunSaveParams{}
	events := x.closeMessage(st, p, now, false, usage)
	s := st.toolStep
	var pending []int
	args := make(map[string]string, len(calls))
	for i, c := range calls {
		if decl, ok := st.builtins[c.Function.Name]; ok {
			args[c.ID] = c.Function.Arguments
			if pv, ok := x.e.cfg.Builtins[decl.Type].(BuiltinPreview); ok {
				calls[i] = pv.Preview(c.Function.Arguments)
				calls[i].ID, calls[i].Type = c.ID, decl.Type
			} else {
				calls[i] = builtinPlaceholder(c.ID, decl.Type)
			}
			pending = append(pending, i)
		}
	}
	s.StepDetails.ToolCalls = calls
	p.Steps = append(p.Steps, s)
	if err := x.save(ctx, p); err != nil {
		return true, x.handleSaveError(ctx, err, st.msgStep, st.msg)
	}
	x.e.publish(x.run.ID, events...)
	for _, i := range pending {
		c := calls[i]
		decl := st.builtins[c.Type]
		tool := x.e.cfg.Builtins[c.Type]
		_, preview := tool.(BuiltinPreview)
		if preview {
			// Shown while it runs (the code), its outputs once done.
			x.e.publish(x.run.ID, schema.Event{Name: schema.EventStepDelta, Data: builtinDelta(s.ID, i, c)})
		}
		rec, err := tool.Execute(ctx, &BuiltinCall{ProjectID: x.project, Run: x.run, Tool: decl, Arguments: args[c.ID], Wrote: x.wrote})
		if err != nil {
			if ctx.Err() != nil {
				st.msgStep, st.msg = nil, nil
				return true, x.interrupted(ctx, st)
			}
			x.e.cfg.Logger.Error("built-in tool failed", "run_id", x.run.ID, "tool", c.Type, "error", err)
			st.msgStep, st.msg = nil, nil
			return true, x.failWith(ctx, st, schema.ErrCodeServer, fmt.Sprintf("The %s tool failed: %v", c.Type, err))
		}
		rec.ID, rec.Type = c.ID, c.Type
		calls[i] = rec
		switch {
		case !preview:
			x.e.publish(x.run.ID, schema.Event{Name: schema.EventStepDelta, Data: builtinDelta(s.ID, i, rec)})
		case rec.CodeInterpreter != nil && len(rec.CodeInterpreter.Outputs) > 0:
			outputs := schema.ToolCall{Type: rec.Type, CodeInterpreter: &schema.CodeInterpreterCall{Outputs: rec.CodeInterpreter.Outputs}}
			x.e.publish(x.run.ID, schema.Event{Name: schema.EventStepDelta, Data: builtinDelta(s.ID, i, outputs)})
		}
	}
	u := usage
	s.Usage = &u
	var functions []schema.RequiredToolCall
	for _, c := range calls {
		if c.Function != nil {
			functions = append(functions, schema.RequiredToolCall{ID: c.ID, Type: schema.ToolFunction,
				Function: schema.FunctionCall{Name: c.Function.Name, Arguments: c.Function.Arguments}})
		}
	}
	p = &store.RunSaveParams{Steps: []*schema.RunStep{s}}
	if len(functions) == 0 {
		done := x.e.now()
		s.Status = schema.StepCompleted
		s.CompletedAt = &done
		if err := x.save(ctx, p); err != nil {
			return true, x.handleSaveError(ctx, err, nil, nil)
		}
		x.e.publish(x.run.ID, schema.Event{Name: schema.EventStepCompleted, Data: cloneStep(s)})
		return false, nil
	}
	x.run.Status = schema.RunRequiresAction
	x.run.RequiredAction = &schema.RequiredAction{Type: "submit_tool_outputs", SubmitToolOutputs: schema.SubmitToolOutputs{ToolCalls: functions}}
	exp := x.e.now() + int64(x.e.cfg.RequiresActionTimeout/time.Second)
	x.run.ExpiresAt = &exp
	if err := x.save(ctx, p); err != nil {
		return true, x.handleSaveError(ctx, err, nil, nil)
	}
	x.e.publish(x.run.ID, schema.Event{Name: schema.EventRunRequiresAction, Data: cloneRun(x.run)})
	return true, nil
}

// builtinPlaceholder records a built-in call that has not run yet, in its
// tool's shape.
func builtinPlaceholder(id, toolType string) schema.ToolCall {
	c := schema.ToolCall{ID: id, Type: toolType}
	switch toolType {
	case schema.ToolFileSearch:
		c.FileSearch = &schema.FileSearchCall{}
	case schema.ToolCodeInterpreter:
		c.CodeInterpreter = &schema.CodeInterpreterCall{Outputs: []schema.CodeOutput{}}
	}
	return c
}

// builtinDelta announces an executed built-in call on the stream.
func builtinDelta(stepID string, index int, c schema.ToolCall) *schema.RunStepDelta {
	d := schema.ToolCallDelta{Index: index, ID: c.ID, Type: c.Type}
	switch {
	case c.CodeInterpreter != nil:
		ci := &schema.CodeInterpreterCallDelta{Input: c.CodeInterpreter.Input}
		for j, o := range c.CodeInterpreter.Outputs {
			ci.Outputs = append(ci.Outputs, schema.CodeOutputDelta{Index: j, CodeOutput: o})
		}
		d.CodeInterpreter = ci
	case c.FileSearch != nil:
		d.FileSearch = &struct{}{}
	}
	return &schema.RunStepDelta{ID: stepID, Object: "thread.run.step.delta",
		Delta: schema.RunStepDeltaBody{StepDetails: schema.StepDetailsDelta{Type: schema.StepToolCalls, ToolCalls: []schema.ToolCallDelta{d}}}}
}

// save commits the run with p's steps and messages, guarded by the lease and
// the last committed status.
func (x *execution) save(ctx context.Context, p *store.RunSaveParams) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.metaSet {
		x.run.Metadata, x.metaSet = x.meta, false
	}
	p.Run = x.run
	// Metadata belongs to the API (modify run); never write back a stale copy.
	p.KeepMetadata = true
	p.Owner = x.e.cfg.Owner
	p.ExpectStatus = x.committed
	if err := x.e.cfg.Store.RunSave(ctx, x.project, p); err != nil {
		return err
	}
	x.committed = x.run.Status
	return nil
}

// handleSaveError decides what a refused commit means: a cancel that
// arrived meanwhile (finish cancelling), or a run that is no longer ours.
func (x *execution) handleSaveError(ctx context.Context, err error, step *schema.RunStep, msg *schema.Message) error {
	if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) || errors.Is(err, errStop) {
		return errStop
	}
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	cur, gerr := x.e.cfg.Store.RunGet(ctx, x.project, x.run.ThreadID, x.run.ID)
	if gerr != nil {
		return errStop
	}
	if cur.Status == schema.RunCancelling {
		x.run = cur
		x.committed = cur.Status
		return x.finishCancel(ctx, step, msg)
	}
	return errStop
}

// interrupted handles a model call stopped by cancel, a lost lease or
// shutdown.
func (x *execution) interrupted(ctx context.Context, st *turnState) error {
	if x.e.shuttingDown() {
		return context.Canceled
	}
	bg := context.WithoutCancel(ctx)
	cur, err := x.e.cfg.Store.RunGet(bg, x.project, x.run.ThreadID, x.run.ID)
	if err != nil || cur.Status != schema.RunCancelling {
		return errStop
	}
	x.run = cur
	x.committed = cur.Status
	step := st.msgStep
	if step == nil {
		step = st.toolStep
	}
	if st.msg != nil {
		st.msg.Content = x.messageContent(st)
	}
	return x.finishCancel(bg, step, st.msg)
}

// finishCancel ends a cancelling run: open steps cancelled, the message
// being written left incomplete (run_cancelled).
func (x *execution) finishCancel(ctx context.Context, step *schema.RunStep, msg *schema.Message) error {
	now := x.e.now()
	p := &store.RunSaveParams{}
	var events []schema.Event
	open, err := x.e.openSteps(ctx, x.project, x.run)
	if err != nil {
		return err
	}
	for _, s := range open {
		if step != nil && s.ID == step.ID {
			s = step
		}
		s.Status = schema.StepCancelled
		s.CancelledAt = &now
		p.Steps = append(p.Steps, s)
		if s.Type == schema.StepMessageCreation && msg == nil {
			if m, err := x.e.cfg.Store.MessageGet(ctx, x.project, x.run.ThreadID, s.StepDetails.MessageCreation.MessageID); err == nil {
				msg = m
			}
		}
		events = append(events, schema.Event{Name: schema.EventStepCancelled, Data: cloneStep(s)})
	}
	if msg != nil && msg.Status == schema.MessageStatusInProgress {
		msg.Status = schema.MessageStatusIncomplete
		msg.IncompleteAt = &now
		msg.IncompleteDetails = &schema.IncompleteDetails{Reason: "run_cancelled"}
		p.Messages = append(p.Messages, msg)
		events = append([]schema.Event{{Name: schema.EventMessageIncomplete, Data: cloneMessage(msg)}}, events...)
	}
	x.run.Status = schema.RunCancelled
	x.run.CancelledAt = &now
	x.run.ExpiresAt = nil
	x.run.RequiredAction = nil
	if err := x.save(ctx, p); err != nil {
		return errStop
	}
	events = append(events, schema.Event{Name: schema.EventRunCancelled, Data: cloneRun(x.run)})
	x.e.publish(x.run.ID, events...)
	return nil
}

// finishIncomplete ends the run incomplete (a token limit was reached).
func (x *execution) finishIncomplete(ctx context.Context, st *turnState, reason string) error {
	now := x.e.now()
	events := x.closeOpen(st, now, schema.StepFailed, "max_tokens")
	x.run.Status = schema.RunIncomplete
	x.run.IncompleteDetails = &schema.IncompleteDetails{Reason: reason}
	x.run.ExpiresAt = nil
	return x.finish(ctx, st, events, schema.EventRunIncomplete)
}

// failWith fails the run and the turn's open step and message.
func (x *execution) failWith(ctx context.Context, st *turnState, code, message string) error {
	now := x.e.now()
	for _, s := range []*schema.RunStep{st.msgStep, st.toolStep} {
		if s != nil {
			s.LastError = &schema.LastError{Code: stepErrorCode(code), Message: message}
		}
	}
	events := x.closeOpen(st, now, schema.StepFailed, "run_failed")
	x.run.Status = schema.RunFailed
	x.run.FailedAt = &now
	x.run.ExpiresAt = nil
	x.run.RequiredAction = nil
	x.run.LastError = &schema.LastError{Code: code, Message: message}
	return x.finish(ctx, st, events, schema.EventRunFailed)
}

// finish commits a terminal run with the turn's closed step(s) and message,
// then publishes their events and runEvent.
func (x *execution) finish(ctx context.Context, st *turnState, events []schema.Event, runEvent string) error {
	p := &store.RunSaveParams{}
	if st.msgStep != nil {
		p.Steps = append(p.Steps, st.msgStep)
		p.Messages = append(p.Messages, st.msg)
	}
	if st.toolStep != nil {
		p.Steps = append(p.Steps, st.toolStep)
	}
	if err := x.save(ctx, p); err != nil {
		return x.handleSaveError(ctx, err, st.msgStep, st.msg)
	}
	x.e.publish(x.run.ID, append(events, schema.Event{Name: runEvent, Data: cloneRun(x.run)})...)
	return nil
}

// closeOpen marks the turn's open step(s) with stepStatus and its message
// incomplete for msgReason, and returns the events announcing that.
func (x *execution) closeOpen(st *turnState, now int64, stepStatus, msgReason string) []schema.Event {
	var events []schema.Event
	if m := st.msg; m != nil {
		m.Content = x.messageContent(st)
		m.Status = schema.MessageStatusIncomplete
		m.IncompleteAt = &now
		m.IncompleteDetails = &schema.IncompleteDetails{Reason: msgReason}
		events = append(events, schema.Event{Name: schema.EventMessageIncomplete, Data: cloneMessage(m)})
	}
	for _, s := range []*schema.RunStep{st.msgStep, st.toolStep} {
		if s == nil {
			continue
		}
		s.Status = stepStatus
		switch stepStatus {
		case schema.StepFailed:
			s.FailedAt = &now
		case schema.StepCancelled:
			s.CancelledAt = &now
		}
		events = append(events, schema.Event{Name: schema.StepEventName(s.Status), Data: cloneStep(s)})
	}
	return events
}

// fail ends the run as failed, closing whatever steps are open.
func (x *execution) fail(ctx context.Context, code, message string) error {
	st := &turnState{}
	if open, err := x.e.openSteps(ctx, x.project, x.run); err == nil {
		for _, s := range open {
			switch s.Type {
			case schema.StepMessageCreation:
				if m, err := x.e.cfg.Store.MessageGet(ctx, x.project, x.run.ThreadID, s.StepDetails.MessageCreation.MessageID); err == nil {
					st.msgStep, st.msg = s, m
					for _, p := range m.Content {
						switch {
						case p.Text != nil:
							st.text = p.Text.Value
						case p.ImageFile != nil:
							st.images = append(st.images, p.ImageFile.FileID)
						}
					}
				}
			case schema.StepToolCalls:
				st.toolStep = s
			}
		}
	}
	return x.failWith(ctx, st, code, message)
}

// stepErrorCode narrows a run error code to those a step may carry.
func stepErrorCode(code string) string {
	if code == schema.ErrCodeRateLimit {
		return code
	}
	return schema.ErrCodeServer
}

// modelError explains a provider failure as the run's last_error.
func modelError(err error) (code, message string) {
	var le *llm.Error
	if !errors.As(err, &le) {
		return schema.ErrCodeServer, "The model provider failed: " + err.Error()
	}
	switch le.Kind {
	case llm.KindRateLimit:
		return schema.ErrCodeRateLimit, "The model provider is rate limiting requests: " + le.Error()
	case llm.KindBadRequest:
		return schema.ErrCodeInvalidPrompt, "The model provider refused the request: " + le.Error()
	case llm.KindNoProvider:
		return schema.ErrCodeServer, le.Message
	}
	return schema.ErrCodeServer, "The model provider failed: " + le.Error()
}

func responseFormat(f schema.ResponseFormat) *llm.ResponseFormat {
	switch f.Type {
	case schema.ResponseFormatJSONObject:
		return &llm.ResponseFormat{Type: schema.ResponseFormatJSONObject}
	case schema.ResponseFormatJSONSchema:
		rf := &llm.ResponseFormat{Type: schema.ResponseFormatJSONSchema}
		if js := f.JSONSchema; js != nil {
			rf.Name, rf.Schema = js.Name, js.Schema
			rf.Strict = js.Strict != nil && *js.Strict
		}
		return rf
	}
	return nil
}

func toolChoice(c schema.ToolChoice, builtins map[string]schema.Tool) (mode, name string) {
	switch c.Type {
	case schema.ToolFunction:
		return "function", c.Function
	case "":
		return c.Mode, ""
	}
	if _, ok := builtins[c.Type]; ok {
		return "function", c.Type
	}
	// A built-in tool the model is not offered: let it choose.
	return schema.ToolChoiceAuto, ""
}
