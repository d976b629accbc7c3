package extract

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExtract feeds every parser hostile bytes: Extract must not panic,
// must classify its errors, and must return valid, non-blank UTF-8.
func FuzzExtract(f *testing.F) {
	pdf := buildPDF(f, "T", pdfPage{content: "BT /F1 12 Tf 72 700 Td (Hello) Tj ET"}, pdfPage{content: "BT /F1 9 Tf 1 0 0 1 50 50 Tm [(a) -500 (b)] TJ ET", compress: true})
	docx := buildDocx(f, "T", para("Hello", " world")+`<w:tbl><w:tr><w:tc>`+para("x")+`</w:tc></w:tr></w:tbl>`)
	pptx := buildPptx(f, "T", map[int][]string{1: {"slide"}})
	seeds := []struct {
		name string
		data []byte
	}{
		{"a.pdf", pdf}, {"a.docx", docx}, {"a.pptx", pptx},
		{"a.html", []byte("<html><head><title>t</title></head><body><p>x<table><tr><td>1<td>2</table><pre>p</pre></body></html>")},
		{"a.md", []byte("# T\n\nbody")}, {"a.json", []byte(`{"a": [1, "b"]}`)}, {"a.jsonl", []byte("{}\n[1]\n")},
		{"a.csv", []byte("a,b\n1,\"2\"\n")}, {"a.txt", []byte("\xFF\xFEh\x00i\x00")}, {"", pdf}, {"", docx}, {"x", []byte("PK\x03\x04")},
	}
	xs := writeXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", "<< /Length 30 >>\nstream\nBT 9 0 0 9 1 1 Tm (Hi) Tj ET\nendstream"},
		"/Size 6 /Root 1 0 R", func(offs []int, self int) []xrefEntry {
			e := []xrefEntry{{0, 0, 65535}}
			for _, o := range offs {
				e = append(e, xrefEntry{1, o, 0})
			}
			return append(e, xrefEntry{1, self, 0})
		})
	seeds = append(seeds, struct {
		name string
		data []byte
	}{"x.pdf", xs})
	for _, s := range seeds {
		f.Add(s.name, s.data)
	}
	opts := Options{MaxBytes: 1 << 20, MaxTextBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		doc, err := opts.Extract(context.Background(), name, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Title) {
			t.Fatalf("invalid UTF-8 from %q", name)
		}
		if strings.TrimSpace(doc.Text) == "" {
			t.Fatalf("blank text from %q", name)
		}
		if strings.Contains(doc.Text, "\r") {
			t.Fatalf("carriage return in the text of %q", name)
		}
	})
}
