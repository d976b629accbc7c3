package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/sandbox"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// NewCodeInterpreter returns the code_interpreter tool on m with its files
// wired to the store: the thread's and the assistant's
// tool_resources.code_interpreter files and the thread's message
// attachments for code_interpreter go into /mnt/data; the figures the code
// draws and the files it writes come back as Files (purpose
// assistants_output), figures as image outputs of the step.
func NewCodeInterpreter(m *sandbox.Manager, st store.Store, blobs blob.Store, now func() int64) *CodeInterpreter {
	cf := &codeFiles{store: st, blobs: blobs, now: now}
	return &CodeInterpreter{Sandbox: m, InputFiles: cf.inputs, Outputs: cf.outputs}
}

type codeFiles struct {
	store store.Store
	blobs blob.Store
	now   func() int64
}

// inputs lists the files a call's code may read, each once.
func (cf *codeFiles) inputs(ctx context.Context, call *BuiltinCall) ([]CodeInput, error) {
	project, run := call.ProjectID, call.Run
	var ids []string
	if th, err := cf.store.ThreadGet(ctx, project, run.ThreadID); err == nil && th.ToolResources.CodeInterpreter != nil {
		ids = append(ids, th.ToolResources.CodeInterpreter.FileIDs...)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if a, err := cf.store.AssistantGet(ctx, project, run.AssistantID); err == nil && a.ToolResources.CodeInterpreter != nil {
		ids = append(ids, a.ToolResources.CodeInterpreter.FileIDs...)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	msgs, err := store.All(func(p store.ListParams) (*store.Page[schema.Message], error) {
		return cf.store.MessageList(ctx, project, run.ThreadID, store.MessageListParams{ListParams: p})
	}, func(m *schema.Message) string { return m.ID })
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		for _, at := range m.Attachments {
			for _, t := range at.Tools {
				if t.Type == schema.ToolCodeInterpreter {
					ids = append(ids, at.FileID)
					break
				}
			}
		}
	}
	seen := make(map[string]bool, len(ids))
	var files []CodeInput
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		f, err := cf.store.FileGet(ctx, project, id)
		if errors.Is(err, store.ErrNotFound) {
			files = append(files, CodeInput{InputFile: sandbox.InputFile{ID: id}, Problem: "it was deleted after it was attached"})
			continue
		}
		if err != nil {
			return nil, err
		}
		key := blob.FileKey(project, f.ID)
		files = append(files, CodeInput{Bytes: f.Bytes, InputFile: sandbox.InputFile{ID: f.ID, Name: path.Base(f.Filename), Open: func() (io.ReadCloser, error) {
			return cf.blobs.Open(ctx, key)
		}}})
	}
	return files, nil
}

// outputs stores the result's figures and files as Files; figures become
// image outputs, and each written file is reported to call.Wrote.
func (cf *codeFiles) outputs(ctx context.Context, call *BuiltinCall, res *sandbox.Result) ([]schema.CodeOutput, error) {
	var out []schema.CodeOutput
	for i, img := range res.Images {
		f, err := cf.save(ctx, call.ProjectID, fmt.Sprintf("image-%d.png", i+1), img)
		if err != nil {
			return nil, err
		}
		out = append(out, schema.CodeOutput{Type: "image", Image: &schema.FilePath{FileID: f.ID}})
	}
	for _, of := range res.Files {
		f, err := cf.save(ctx, call.ProjectID, path.Base(of.Path), of.Data)
		if err != nil {
			return nil, err
		}
		if call.Wrote != nil {
			call.Wrote(of.Path, f.ID)
		}
	}
	return out, nil
}

func (cf *codeFiles) save(ctx context.Context, project, name string, data []byte) (*schema.File, error) {
	f := &schema.File{ID: schema.NewID(schema.PrefixFile), Object: "file", Bytes: int64(len(data)), CreatedAt: cf.now(),
		Filename: name, Purpose: "assistants_output", Status: "processed"}
	key := blob.FileKey(project, f.ID)
	if _, err := cf.blobs.Put(ctx, key, bytes.NewReader(data), int64(len(data))+1); err != nil {
		return nil, err
	}
	if err := cf.store.FileCreate(ctx, project, f); err != nil {
		cf.blobs.Delete(context.WithoutCancel(ctx), key)
		return nil, err
	}
	return f, nil
}
