package api_test

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestRunPromptCarriesImagesAndAttachments: an image_file part reaches the
// model as a data: URL of the uploaded bytes, an image_url part as its URL,
// and attached files are named to the model.
func TestRunPromptCarriesImagesAndAttachments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	png := []byte("\x89PNG\r\n\x1a\nnot really an image, but bytes to carry")
	img := h.mustUpload(h.keyA, "vision", "chart.png", png).object(t)["id"].(string)
	doc := h.mustUpload(h.keyA, "assistants", "report.txt", []byte("numbers")).object(t)["id"].(string)
	asst := h.newAssistant(h.keyA, `{"model":"gpt-4o"}`)
	th := h.mustDo(200, "POST", "/v1/threads", h.keyA, map[string]any{"messages": []any{map[string]any{
		"role": "user",
		"content": []any{
			map[string]any{"type": "text", "text": "Describe these"},
			map[string]any{"type": "image_file", "image_file": map[string]any{"file_id": img, "detail": "high"}},
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/a.jpg"}},
		},
		"attachments": []any{map[string]any{"file_id": doc, "tools": []any{map[string]any{"type": "code_interpreter"}}}},
	}}}).object(t)["id"].(string)
	id := h.createRun(h.keyA, th, map[string]any{"assistant_id": asst})["id"].(string)
	if run := h.waitRun(h.keyA, th, id); run["status"] != "completed" {
		t.Fatalf("run: %v", run)
	}
	reqs := h.model.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests", len(reqs))
	}
	body := string(reqs[0].Body)
	for _, want := range []string{
		`"url":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"`,
		`"detail":"high"`,
		`"url":"https://example.com/a.jpg"`,
		`[Attached files: report.txt (` + doc + `)]`,
		`Describe these`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("model request lacks %s:\n%s", want, body)
		}
	}
}
