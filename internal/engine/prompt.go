package engine

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"path/filepath"
	"strings"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/llm"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// maxInlineImage bounds an image_file sent to the model as a data: URL.
const maxInlineImage = 20 << 20

// prompt is one model turn's input.
type prompt struct {
	messages []llm.Message
	tools    []llm.Tool
	// builtins maps the offered built-in tools' function names to the
	// run's declarations of them.
	builtins map[string]schema.Tool
	tokens   int
}

// errPromptTooLong means the prompt cannot fit max_prompt_tokens even after
// truncation: the run ends incomplete.
var errPromptTooLong = fmt.Errorf("prompt exceeds max_prompt_tokens")

// buildPrompt assembles instructions, the thread's history (truncated per
// the run's strategy) and this run's own turns so far.
func (x *execution) buildPrompt(ctx context.Context, steps []*schema.RunStep) (*prompt, error) {
	run := x.run
	msgs, err := x.threadMessages(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*schema.Message, len(msgs))
	var history []llm.Message
	for _, m := range msgs {
		byID[m.ID] = m
		if m.RunID != nil && *m.RunID == run.ID {
			continue // this run's own messages follow its steps below
		}
		if m.Status == schema.MessageStatusInProgress {
			continue
		}
		lm, err := x.toLLM(ctx, m)
		if err != nil {
			return nil, err
		}
		history = append(history, lm)
	}
	var turns []llm.Message
	for _, s := range steps {
		if s.Status != schema.StepCompleted {
			continue
		}
		switch s.Type {
		case schema.StepMessageCreation:
			if m := byID[s.StepDetails.MessageCreation.MessageID]; m != nil {
				lm, err := x.toLLM(ctx, m)
				if err != nil {
					return nil, err
				}
				turns = append(turns, lm)
			}
		case schema.StepToolCalls:
			call := llm.Message{Role: llm.RoleAssistant}
			var results []llm.Message
			for _, c := range s.StepDetails.ToolCalls {
				var name, args, out string
				switch {
				case c.Function != nil:
					name, args = c.Function.Name, c.Function.Arguments
					if c.Function.Output != nil {
						out = *c.Function.Output
					}
				case x.e.cfg.Builtins[c.Type] != nil:
					name = c.Type
					args, out = x.e.cfg.Builtins[c.Type].Replay(c)
					x.addSources(c.FileSearch)
				default:
					continue
				}
				call.ToolCalls = append(call.ToolCalls, llm.ToolCall{ID: c.ID, Name: name, Arguments: args})
				results = append(results, llm.Message{Role: llm.RoleTool, ToolCallID: c.ID, Parts: []llm.Part{{Type: llm.PartText, Text: out}}})
			}
			if len(call.ToolCalls) > 0 {
				turns = append(turns, call)
				turns = append(turns, results...)
			}
		}
	}

	if t := run.TruncationStrategy; t.Type == schema.TruncationLastMessages && t.LastMessages != nil && len(history) > *t.LastMessages {
		history = history[len(history)-*t.LastMessages:]
	}
	var system []llm.Message
	if run.Instructions != "" {
		system = []llm.Message{llm.TextMessage(llm.RoleSystem, run.Instructions)}
	}
	p := &prompt{}
	p.tools, p.builtins = x.offeredTools()
	assemble := func() {
		p.messages = append(append(append(p.messages[:0], system...), history...), turns...)
		p.tokens = x.countTokens(p.messages, p.tools)
	}
	assemble()

	budget := x.e.cfg.ContextWindow(run.Model)
	reserve := 4096
	if run.MaxCompletionTokens != nil && *run.MaxCompletionTokens < reserve {
		reserve = *run.MaxCompletionTokens
	}
	if reserve > budget/4 {
		reserve = budget / 4
	}
	budget -= reserve
	limited := false
	if run.MaxPromptTokens != nil {
		used := 0
		if run.Usage != nil {
			used = run.Usage.PromptTokens
		}
		if left := *run.MaxPromptTokens - used; left < budget {
			budget, limited = left, true
		}
	}
	// The auto strategy (and a prompt-token limit under any strategy) drops
	// the oldest history first; this run's own turns are never dropped.
	for p.tokens > budget && len(history) > 1 {
		history = history[1:]
		assemble()
	}
	if limited && p.tokens > budget {
		return nil, errPromptTooLong
	}
	return p, nil
}

// threadMessages returns every message of the thread, oldest first.
func (x *execution) threadMessages(ctx context.Context) ([]*schema.Message, error) {
	return store.All(func(p store.ListParams) (*store.Page[schema.Message], error) {
		return x.e.cfg.Store.MessageList(ctx, x.project, x.run.ThreadID, store.MessageListParams{ListParams: p})
	}, func(m *schema.Message) string { return m.ID })
}

// toLLM converts a thread message: text, images (image_file as a data:
// URL), and a note naming attached files so the model knows of them.
func (x *execution) toLLM(ctx context.Context, m *schema.Message) (llm.Message, error) {
	role := llm.RoleUser
	if m.Role == "assistant" {
		role = llm.RoleAssistant
	}
	out := llm.Message{Role: role}
	for _, c := range m.Content {
		switch c.Type {
		case schema.ContentText:
			if c.Text != nil {
				out.Parts = append(out.Parts, llm.Part{Type: llm.PartText, Text: c.Text.Value})
			}
		case schema.ContentImageURL:
			if c.ImageURL != nil && role == llm.RoleUser {
				out.Parts = append(out.Parts, llm.Part{Type: llm.PartImage, ImageURL: c.ImageURL.URL, Detail: c.ImageURL.Detail})
			}
		case schema.ContentImageFile:
			if c.ImageFile != nil && role == llm.RoleUser {
				url, err := x.imageDataURL(ctx, c.ImageFile.FileID)
				if err != nil {
					return out, err
				}
				if url != "" {
					out.Parts = append(out.Parts, llm.Part{Type: llm.PartImage, ImageURL: url, Detail: c.ImageFile.Detail})
				}
			}
		case schema.ContentRefusal:
			if c.Refusal != nil {
				out.Parts = append(out.Parts, llm.Part{Type: llm.PartText, Text: *c.Refusal})
			}
		}
	}
	if len(m.Attachments) > 0 {
		names := make([]string, 0, len(m.Attachments))
		for _, a := range m.Attachments {
			name := a.FileID
			if f, err := x.e.cfg.Store.FileGet(ctx, x.project, a.FileID); err == nil {
				name = fmt.Sprintf("%s (%s)", f.Filename, f.ID)
			}
			names = append(names, name)
		}
		out.Parts = append(out.Parts, llm.Part{Type: llm.PartText, Text: "\n[Attached files: " + strings.Join(names, ", ") + "]"})
	}
	return out, nil
}

// imageDataURL reads an uploaded image for the model; a missing or
// oversized file yields "" (the image is left out, the run goes on).
func (x *execution) imageDataURL(ctx context.Context, fileID string) (string, error) {
	if x.e.cfg.Blobs == nil {
		return "", nil
	}
	f, err := x.e.cfg.Store.FileGet(ctx, x.project, fileID)
	if err != nil || f.Bytes > maxInlineImage {
		return "", nil
	}
	rc, err := x.e.cfg.Blobs.Open(ctx, blob.FileKey(x.project, f.ID))
	if err != nil {
		return "", nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxInlineImage))
	if err != nil {
		return "", err
	}
	typ := mime.TypeByExtension(strings.ToLower(filepath.Ext(f.Filename)))
	if typ == "" {
		typ = "image/png"
	}
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(data), nil
}

func (x *execution) countTokens(msgs []llm.Message, tools []llm.Tool) int {
	if x.e.cfg.Tokens != nil {
		return x.e.cfg.Tokens.CountMessages(x.run.Model, msgs, tools)
	}
	n := 3
	for _, m := range msgs {
		n += 3 + len(m.Text())/4
	}
	return n
}

// addSources records the files a file_search call returned, for citations;
// the first file of a name wins.
func (x *execution) addSources(fs *schema.FileSearchCall) {
	if fs == nil {
		return
	}
	for _, r := range fs.Results {
		if x.sources == nil {
			x.sources = make(map[string]string)
		}
		if _, ok := x.sources[r.FileName]; !ok {
			x.sources[r.FileName] = r.FileID
		}
	}
}
