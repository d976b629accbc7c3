package extract

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPDF extracts a 20-page PDF of justified text.
func BenchmarkPDF(b *testing.B) {
	var pages []pdfPage
	for p := range 20 {
		var c strings.Builder
		for l := range 45 {
			fmt.Fprintf(&c, "BT /F1 10 Tf 72 %d Td 0.9 Tw (Line %d of page %d has words that wrap across) Tj 300 0 Td (the width of the page as) Tj ET\n", 750-15*l, l, p)
		}
		pages = append(pages, pdfPage{content: c.String(), compress: true})
	}
	data := buildPDF(b, "Bench", pages...)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), "b.pdf", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDocx extracts a Word document of 2,000 paragraphs.
func BenchmarkDocx(b *testing.B) {
	var body strings.Builder
	for i := range 2000 {
		body.WriteString(para(fmt.Sprintf("Paragraph %d says something ", i), "about retrieval and chunking."))
	}
	data := buildDocx(b, "Bench", body.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), "b.docx", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTML extracts a 1 MB HTML page.
func BenchmarkHTML(b *testing.B) {
	var page strings.Builder
	page.WriteString("<html><head><title>Bench</title><style>p{}</style></head><body>")
	for page.Len() < 1<<20 {
		page.WriteString("<div class=\"x\"><p>Some <b>text</b> with <a href=\"#\">links</a> and &amp; entities.</p><table><tr><td>1</td><td>2</td></tr></table></div>\n")
	}
	data := []byte(page.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), "b.html", data); err != nil {
			b.Fatal(err)
		}
	}
}
