package modelstub

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestTemplateFillsLikeMarshal(t *testing.T) {
	doc := func(s string) any {
		return map[string]any{"id": "x", "choices": []map[string]any{{"delta": map[string]any{"content": s}, "finish_reason": nil}}}
	}
	tmpl, err := newTemplate(doc(templateHole))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "word", ` "quoted" \ back`, "<b>&amp;</b>", "é 日本 🙂", "line\nbreak\ttab", "\x00", "\xff invalid"} {
		want, _ := json.Marshal(doc(s))
		if got := tmpl.fill(s); !bytes.Equal(got, want) {
			t.Errorf("fill(%q) = %s, want %s", s, got, want)
		}
	}
	if _, err := newTemplate(doc("no hole")); err == nil {
		t.Error("a document without the hole was accepted")
	}
	if _, err := newTemplate([]string{templateHole, templateHole}); err == nil {
		t.Error("a document with two holes was accepted")
	}
}
