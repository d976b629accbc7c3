package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/assistd/assistd/internal/schema"
)

// pathID reads a path parameter and checks its prefix, as OpenAI does:
// "Invalid 'thread_id': 'x'. Expected an ID that begins with 'thread'."
func pathID(r *http.Request, name, prefix string) (string, error) {
	id := r.PathValue(name)
	if !schema.HasPrefix(id, prefix) {
		return "", badRequest(name, "Invalid '%s': '%s'. Expected an ID that begins with '%s'.", name, id, strings.TrimRight(prefix, "_-"))
	}
	return id, nil
}

// checkFiles verifies that every id names a live file of the project; params
// gives each id's request path for the error.
func (s *Server) checkFiles(ctx context.Context, project string, ids []string, params []string) error {
	if len(ids) == 0 {
		return nil
	}
	live, err := s.cfg.Store.FilesExist(ctx, project, ids)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if !live[id] {
			return badRequest(params[i], "No file found with id '%s'.", id)
		}
	}
	return nil
}

// resourceFileParams names each file id of tool_resources by its request path.
func resourceFileParams(prefix string, res *schema.ToolResources) (ids, params []string) {
	if res == nil {
		return nil, nil
	}
	if ci := res.CodeInterpreter; ci != nil {
		for i, id := range ci.FileIDs {
			ids = append(ids, id)
			params = append(params, fmt.Sprintf("%stool_resources.code_interpreter.file_ids[%d]", prefix, i))
		}
	}
	return ids, params
}

// messageFileParams names each file id a message create request references.
func messageFileParams(prefix string, m *schema.MessageCreateRequest) (ids, params []string) {
	for i, a := range m.Attachments {
		ids = append(ids, a.FileID)
		params = append(params, fmt.Sprintf("%sattachments[%d].file_id", prefix, i))
	}
	if m.Content != nil {
		for i, p := range m.Content.Parts {
			if p.ImageFile != nil {
				ids = append(ids, p.ImageFile.FileID)
				params = append(params, fmt.Sprintf("%scontent[%d].image_file.file_id", prefix, i))
			}
		}
	}
	return ids, params
}
