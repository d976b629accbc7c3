package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func mustExtract(t *testing.T, name string, data []byte) *Document {
	t.Helper()
	doc, err := Extract(context.Background(), name, data)
	if err != nil {
		t.Fatalf("Extract(%q): %v", name, err)
	}
	if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Title) {
		t.Fatalf("Extract(%q): not valid UTF-8", name)
	}
	return doc
}

func wantErr(t *testing.T, name string, data []byte, class error, contains string) {
	t.Helper()
	doc, err := Extract(context.Background(), name, data)
	if !errors.Is(err, class) {
		t.Fatalf("Extract(%q) = %v, %v; want %v", name, doc, err, class)
	}
	if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(contains)) {
		t.Fatalf("Extract(%q) error %q does not say %q", name, err, contains)
	}
	var e *Error
	if !errors.As(err, &e) || e.Message == "" || e.Message[:1] != strings.ToUpper(e.Message[:1]) {
		t.Fatalf("Extract(%q) error %#v is not an *Error with a sentence for a message", name, err)
	}
}

func TestPDF(t *testing.T) {
	// Page 1 draws its second line first, and a word in two pieces; page 2
	// is compressed and uses TJ with kerning and a wide gap.
	page1 := `BT /F1 12 Tf 72 680 Td (Second line of text.) Tj ET
BT /F1 12 Tf 72 700 Td (Quarterly) Tj 90 0 Td (report) Tj ET
BT /F1 12 Tf 72 600 Td (A new paragraph after a gap.) Tj ET`
	page2 := `BT /F1 12 Tf 72 700 Td [(W) 80 (orld) -3000 (Peace)] TJ ET
BT /F1 10 Tf 72 680 Td (Caf\351 cr\350me) Tj ET`
	data := buildPDF(t, "Annual Report 2024", pdfPage{content: page1}, pdfPage{content: page2, compress: true})
	doc := mustExtract(t, "report.pdf", data)
	want := "Quarterly report\nSecond line of text.\n\nA new paragraph after a gap.\n\nWorld Peace\nCafé crème"
	if doc.Text != want {
		t.Fatalf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if doc.Title != "Annual Report 2024" || doc.Kind != "pdf" {
		t.Fatalf("title %q kind %q", doc.Title, doc.Kind)
	}
	// Sniffed without an extension, and with a PDF 2.0 header.
	if doc := mustExtract(t, "upload", data); doc.Kind != "pdf" {
		t.Fatalf("sniffed kind %q", doc.Kind)
	}
	v2 := []byte(strings.Replace(string(data), "%PDF-1.4", "%PDF-2.0", 1))
	if doc := mustExtract(t, "v2.pdf", v2); !strings.Contains(doc.Text, "Quarterly report") {
		t.Fatalf("PDF 2.0: %q", doc.Text)
	}
}

// TestPDFSpacing shows strings the way typesetters space them: word
// spacing (Tw) on the space of the previous string, a gap made by
// character spacing (Tc) inside one string, a space squeezed to nothing
// inside a word, and a word drawn twice for a bold effect.
func TestPDFSpacing(t *testing.T) {
	page := `BT /F1 10 Tf 72 700 Td 2.5 Tw (1. Intr) Tj 41.42 0 Td 0 Tw (oduction) Tj ET
BT /F1 10 Tf 72 680 Td 3 Tc (lA) Tj ET
BT /F1 10 Tf 72 660 Td -0.4 Tc -5 Tw (nv o) Tj 0 Tc 0 Tw (ice) Tj ET
BT /F1 10 Tf 72 640 Td (Bold) Tj ET BT /F1 10 Tf 72.3 640 Td (Bold) Tj ET
BT /F1 10 Tf 0 1 -1 0 300 300 Tm (rotated) Tj ET`
	doc := mustExtract(t, "spacing.pdf", buildPDF(t, "", pdfPage{content: page}))
	want := "1. Introduction\nl A\nnvoice\nBold\n\nrotated"
	if doc.Text != want {
		t.Fatalf("text:\n%q\nwant\n%q", doc.Text, want)
	}
}

func TestPDFErrors(t *testing.T) {
	good := buildPDF(t, "", pdfPage{content: "BT /F1 12 Tf 72 700 Td (Hello) Tj ET"})
	tests := []struct {
		name, contains string
		data           []byte
	}{
		{"no text layer", "no text layer", buildPDF(t, "Scan", pdfPage{content: "0 0 m 100 100 l S"})},
		{"truncated", "cannot be parsed", good[:len(good)/2]},
		{"not a pdf", "not a PDF", []byte("hello, I am text")},
		{"garbage body", "cannot be parsed", append([]byte("%PDF-1.4\n"), strings.Repeat("garbage ", 50)+"\n%%EOF\n"...)},
		{"bad xref offset", "", []byte(strings.Replace(string(good), "startxref\n", "startxref\n9", 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, "f.pdf", tt.data, ErrInvalid, tt.contains)
		})
	}
}

func TestDocx(t *testing.T) {
	body := `<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Styled Title</w:t></w:r></w:p>` +
		para("Hello ", "world", ".") +
		`<w:p><w:r><w:t>Name</w:t><w:tab/><w:t>Value</w:t><w:br/><w:t>next line</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t>Kept</w:t></w:r><w:del w:id="1"><w:r><w:delText>deleted</w:delText></w:r></w:del>` +
		`<w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:t xml:space="preserve"> text</w:t></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc>` + para("a1") + `</w:tc><w:tc>` + para("b1") + para("more") + `</w:tc></w:tr>` +
		`<w:tr><w:tc>` + para("a2") + `</w:tc><w:tc>` + para("b2") + `</w:tc></w:tr></w:tbl>` +
		para("Caf&#233; &amp; cr&#232;me")
	doc := mustExtract(t, "notes.docx", buildDocx(t, "Core Title", body))
	want := "Styled Title\nHello world.\nName\tValue\nnext line\nKept text\na1 | b1 more\na2 | b2\n\nCafé & crème"
	if strings.TrimSpace(doc.Text) != want {
		t.Fatalf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if doc.Title != "Core Title" || doc.Kind != "docx" {
		t.Fatalf("title %q kind %q", doc.Title, doc.Kind)
	}
	// Without core.xml the Title style names the document; without an
	// extension the package is recognized.
	doc = mustExtract(t, "blob", buildDocx(t, "", body))
	if doc.Title != "Styled Title" || doc.Kind != "docx" {
		t.Fatalf("title %q kind %q", doc.Title, doc.Kind)
	}
}

func TestDocxNotes(t *testing.T) {
	doc := `<w:document xmlns:w="` + nsWord + `"><w:body>` + para("Body text.") + `</w:body></w:document>`
	notes := `<w:footnotes xmlns:w="` + nsWord + `"><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>` +
		`<w:footnote w:id="1">` + para("A footnote.") + `</w:footnote></w:footnotes>`
	got := mustExtract(t, "notes.docx", zipFiles(t, [2]string{"word/document.xml", doc}, [2]string{"word/footnotes.xml", notes},
		[2]string{"word/endnotes.xml", `<w:endnotes xmlns:w="` + nsWord + `"><w:endnote w:id="2">` + para("An endnote.") + `</w:endnote></w:endnotes>`}))
	if got.Text != "Body text.\n\nA footnote.\n\nAn endnote." {
		t.Fatalf("text %q", got.Text)
	}
}

func TestDocxStrict(t *testing.T) {
	// Strict Open XML names the same elements in another namespace.
	doc := `<w:document xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main"><w:body>` +
		para("Strict ", "text") + `</w:body></w:document>`
	got := mustExtract(t, "strict.docx", zipFiles(t, [2]string{"word/document.xml", doc}))
	if got.Text != "Strict text" {
		t.Fatalf("text %q", got.Text)
	}
}

func TestDocxErrors(t *testing.T) {
	tests := []struct {
		name, contains string
		data           []byte
	}{
		{"not a zip", "not a valid ZIP", []byte("PK\x03\x04 broken")},
		{"no document", "no word/document.xml", zipFiles(t, [2]string{"other.xml", "<a/>"})},
		{"bad xml", "not valid XML", zipFiles(t, [2]string{"word/document.xml", `<w:document xmlns:w="` + nsWord + `"><w:body><w:p>`})},
		{"no text", "no text", buildDocx(t, "Empty", "<w:p/>")},
		{"legacy or encrypted", "encrypted or in the legacy", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, "f.docx", tt.data, ErrInvalid, tt.contains)
		})
	}
}

func TestZipBombIsBounded(t *testing.T) {
	// 20 MB of markup that compresses to a few KB: reading stops at the
	// limit (4 x MaxTextBytes of XML) instead of inflating it all.
	huge := `<w:document xmlns:w="` + nsWord + `"><w:body>` + para("some text") + strings.Repeat("<w:p/>", 20<<20/6) + `</w:body></w:document>`
	data := zipFiles(t, [2]string{"word/document.xml", huge})
	if len(data) > 200<<10 {
		t.Fatalf("the bomb is %d bytes compressed", len(data))
	}
	_, err := Options{MaxTextBytes: 100_000}.Extract(context.Background(), "bomb.docx", data)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than 400000 bytes") {
		t.Fatalf("err = %v", err)
	}
	// The text cap holds as well.
	text := `<w:document xmlns:w="` + nsWord + `"><w:body>` + strings.Repeat(para("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 5000) + `</w:body></w:document>`
	_, err = Options{MaxTextBytes: 100_000}.Extract(context.Background(), "big.docx", zipFiles(t, [2]string{"word/document.xml", text}))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "more than 100000 bytes of text") {
		t.Fatalf("err = %v", err)
	}
}

func TestPptx(t *testing.T) {
	data := buildPptx(t, "Deck", map[int][]string{
		1:  {"Welcome", "to the deck"},
		2:  {"Second slide"},
		10: {"Tenth slide comes last"},
	})
	doc := mustExtract(t, "deck.pptx", data)
	want := "Welcome\nto the deck\n\nSecond slide\n\nTenth slide comes last"
	if strings.TrimSpace(doc.Text) != want || doc.Title != "Deck" {
		t.Fatalf("text %q title %q", doc.Text, doc.Title)
	}
}

func TestDrawingTable(t *testing.T) {
	cell := func(ps ...string) string {
		var b strings.Builder
		b.WriteString("<a:tc><a:txBody>")
		for _, p := range ps {
			b.WriteString("<a:p><a:r><a:t>" + p + "</a:t></a:r></a:p>")
		}
		b.WriteString("</a:txBody></a:tc>")
		return b.String()
	}
	xml := `<p:sld xmlns:a="` + nsDrawing + `" xmlns:p="p"><a:p><a:r><a:t>Before</a:t></a:r><a:br/><a:r><a:t>break</a:t></a:r></a:p><a:tbl>` +
		"<a:tr>" + cell("Region") + cell("Sales", "(EUR)") + "</a:tr><a:tr>" + cell("North") + cell("1,200") + "</a:tr></a:tbl></p:sld>"
	got, err := drawingText(strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Before\nbreak\nRegion | Sales (EUR)\nNorth | 1,200\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestHTML(t *testing.T) {
	page := `<!DOCTYPE html><html><head><title> The  Page &amp; Title </title>
<style>body { color: red }</style><script>var x = "<p>not text</p>";</script>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<h1>Main heading</h1><p>First   paragraph
with <b>bold</b> and <a href="#">a link</a>.</p>
<div>Block one</div><div>Block two<br>after break</div>
<ul><li>item one</li><li>item two</li></ul>
<table><tr><th>Name</th><th>Qty</th></tr><tr><td>apple</td><td>3</td></tr></table>
<pre>  code
    indented</pre>
<p hidden>secret</p><div aria-hidden="true">also hidden</div>
<p>Caf&eacute; &lt;tag&gt; &#x1F600;</p>
<svg><title>icon title</title><text>svg text</text></svg>
<footer>Footer text</footer></body></html>`
	doc := mustExtract(t, "page.html", []byte(page))
	want := "Main heading\n\nFirst paragraph with bold and a link.\n\nBlock one\nBlock two\nafter break\n\nitem one\nitem two\n\nName | Qty\napple | 3\n\n  code\n    indented\n\nCafé <tag> 😀\n\nFooter text"
	if doc.Text != want {
		t.Fatalf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if doc.Title != "The Page & Title" {
		t.Fatalf("title %q", doc.Title)
	}
}

func TestHTMLTitleAndHead(t *testing.T) {
	tests := []struct {
		name, page, title, text string
	}{
		{"h1 when no title", `<html><body><h1>From <i>H1</i></h1><h1>second</h1><p>x</p></body></html>`, "From H1", "From H1\n\nsecond\n\nx"},
		{"head never closed", `<html><head><title>T</title><meta charset="utf-8"><p>body text</p>`, "T", "body text"},
		{"fragment", `<p>just a fragment</p>`, "", "just a fragment"},
		{"unclosed script", `<p>before</p><script>never closed`, "", "before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustExtract(t, "x.htm", []byte(tt.page))
			if doc.Title != tt.title || doc.Text != tt.text {
				t.Fatalf("title %q text %q; want %q, %q", doc.Title, doc.Text, tt.title, tt.text)
			}
		})
	}
}

func TestHTMLCharset(t *testing.T) {
	page := []byte("<html><head><meta charset=\"windows-1252\"></head><body><p>Caf\xe9 \x93quoted\x94</p></body></html>")
	doc := mustExtract(t, "legacy.html", page)
	if doc.Text != "Café “quoted”" {
		t.Fatalf("text %q", doc.Text)
	}
	// Sniffed as HTML without an extension.
	if doc := mustExtract(t, "", []byte("<!DOCTYPE html><html><body><p>sniffed</p></body></html>")); doc.Kind != "html" || doc.Text != "sniffed" {
		t.Fatalf("kind %q text %q", doc.Kind, doc.Text)
	}
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var out []byte
	if bom {
		if bigEndian {
			out = append(out, 0xFE, 0xFF)
		} else {
			out = append(out, 0xFF, 0xFE)
		}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestText(t *testing.T) {
	text := "Hello, wörld 🙂\r\nsecond line\n"
	tests := []struct {
		name string
		file string
		data []byte
		kind string
		want string
	}{
		{"utf8", "a.txt", []byte(text), "txt", "Hello, wörld 🙂\nsecond line\n"},
		{"utf8 bom", "a.txt", append([]byte("\xEF\xBB\xBF"), text...), "txt", "Hello, wörld 🙂\nsecond line\n"},
		{"utf16le bom", "a.txt", utf16Bytes(text, false, true), "txt", "Hello, wörld 🙂\nsecond line\n"},
		{"utf16be bom", "a.txt", utf16Bytes(text, true, true), "txt", "Hello, wörld 🙂\nsecond line\n"},
		{"utf16le no bom", "a.txt", utf16Bytes("plain ascii text here", false, false), "txt", "plain ascii text here"},
		{"code", "main.go", []byte("package main\n\nfunc main() {}\n"), "code", "package main\n\nfunc main() {}\n"},
		{"yaml", "c.YAML", []byte("a: 1\n"), "code", "a: 1\n"},
		{"makefile", "Makefile", []byte("all:\n\tgo build\n"), "code", "all:\n\tgo build\n"},
		{"no extension", "NOTES", []byte("some notes"), "txt", "some notes"},
		{"unknown text extension", "data.weird", []byte("still text"), "txt", "still text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustExtract(t, tt.file, tt.data)
			if doc.Kind != tt.kind || doc.Text != tt.want {
				t.Fatalf("kind %q text %q; want %q, %q", doc.Kind, doc.Text, tt.kind, tt.want)
			}
		})
	}
}

func TestMarkdownTitle(t *testing.T) {
	tests := []struct{ text, title string }{
		{"# Getting Started\n\nBody", "Getting Started"},
		{"\n\n# Spaced  Title #\ntext", "Spaced Title"},
		{"Intro first\n# Not the title", ""},
		{"## Second level\ntext", ""},
		{"---\ntitle: \"Front Matter\"\n---\n# Heading", "Front Matter"},
		{"---\nauthor: x\n---\n# After Front Matter\n", "After Front Matter"},
	}
	for _, tt := range tests {
		doc := mustExtract(t, "README.md", []byte(tt.text))
		if doc.Title != tt.title || doc.Text != tt.text {
			t.Fatalf("%q: title %q text %q", tt.text, doc.Title, doc.Text)
		}
	}
}

func TestJSON(t *testing.T) {
	doc := mustExtract(t, "data.json", []byte(`{"name":"Ada","tags":["math","engines"],"nested":{"year":1843}}`))
	want := "{\n  \"name\": \"Ada\",\n  \"tags\": [\n    \"math\",\n    \"engines\"\n  ],\n  \"nested\": {\n    \"year\": 1843\n  }\n}"
	if doc.Text != want {
		t.Fatalf("text %q", doc.Text)
	}
	if doc := mustExtract(t, "s.json", []byte(`"just a string"`)); doc.Text != "just a string" {
		t.Fatalf("string document: %q", doc.Text)
	}
	if doc := mustExtract(t, "upload", []byte(` {"sniffed": true}`)); doc.Kind != "json" {
		t.Fatalf("sniffed kind %q", doc.Kind)
	}
	wantErr(t, "bad.json", []byte("{\"a\": 1,\n \"b\": }"), ErrInvalid, "line 2")
	doc = mustExtract(t, "rows.jsonl", []byte("{\"a\": 1}\n\n{\"b\": [1, 2]}\n"))
	if doc.Text != "{\"a\":1}\n{\"b\":[1,2]}\n" || doc.Kind != "json" {
		t.Fatalf("jsonl %q", doc.Text)
	}
	wantErr(t, "rows.jsonl", []byte("{\"a\": 1}\n{oops}\n"), ErrInvalid, "line 2")
}

func TestCSV(t *testing.T) {
	tests := []struct{ name, file, data, want string }{
		{"header", "t.csv", "name,city,age\nAda,London,36\n\"Lovelace, A.\",\"Marylebone\",\n", "name: Ada; city: London; age: 36\nname: Lovelace, A.; city: Marylebone\n"},
		{"no header", "t.csv", "1,2,3\n4,5,6\n", "1 | 2 | 3\n4 | 5 | 6\n"},
		{"semicolons", "t.csv", "a;b\nx;y\n", "a: x; b: y\n"},
		{"tsv", "t.tsv", "k\tv\none\ttwo, three\n", "k: one; v: two, three\n"},
		{"ragged", "t.csv", "h1,h2\nonly\na,b,extra\n", "h1: only\nh1: a; h2: b; extra\n"},
		{"header only", "t.csv", "alpha,beta\n", "alpha | beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustExtract(t, tt.file, []byte(tt.data))
			if doc.Text != tt.want || doc.Kind != "csv" {
				t.Fatalf("text %q, want %q", doc.Text, tt.want)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
	tests := []struct {
		name, file string
		data       []byte
		class      error
		contains   string
	}{
		{"image", "photo.png", png, ErrUnsupported, "image/png"},
		{"image without name", "", png, ErrUnsupported, "not text"},
		{"zip archive", "bundle.zip", zipFiles(t, [2]string{"a.txt", "x"}), ErrUnsupported, "ZIP archive"},
		{"legacy doc", "old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), ErrUnsupported, ".docx"},
		{"legacy office sniffed", "x", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest"), ErrUnsupported, "legacy Office"},
		{"binary as txt", "a.txt", []byte("ab\x00\x01\x02cd"), ErrInvalid, "binary"},
		{"latin1 as txt", "a.txt", []byte("caf\xe9 au lait"), ErrInvalid, "offset 3"},
		{"empty", "a.txt", nil, ErrInvalid, "empty"},
		{"blank", "a.md", []byte(" \n\t\n"), ErrInvalid, "no text"},
		{"odd utf16", "a.txt", []byte("\xFF\xFEa\x00b"), ErrInvalid, "odd number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.file, tt.data, tt.class, tt.contains)
			_, err := Extract(context.Background(), tt.file, tt.data)
			want := map[error]string{ErrInvalid: "invalid_file", ErrUnsupported: "unsupported_file"}[tt.class]
			if Code(err) != want {
				t.Fatalf("Code = %q, want %q", Code(err), want)
			}
		})
	}
	if Code(errors.New("disk on fire")) != "server_error" {
		t.Fatal("an unclassified error is not server_error")
	}
	wrapped := fmt.Errorf("ingest: %w", invalid("bad bytes"))
	if !errors.Is(wrapped, ErrInvalid) || errors.Is(wrapped, ErrUnsupported) || Code(wrapped) != "invalid_file" {
		t.Fatalf("a wrapped error lost its class: %v", wrapped)
	}
}

func TestLimits(t *testing.T) {
	_, err := Options{MaxBytes: 10}.Extract(context.Background(), "a.txt", []byte("more than ten bytes"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "limit of 10") {
		t.Fatalf("size cap: %v", err)
	}
	_, err = Options{MaxTextBytes: 10}.Extract(context.Background(), "a.txt", []byte("more than ten bytes"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "split it") {
		t.Fatalf("text cap: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := buildPDF(t, "", pdfPage{content: "BT /F1 12 Tf 72 700 Td (Hello) Tj ET"})
	for _, f := range []string{"a.txt", "a.pdf", "a.html"} {
		if _, err := Extract(ctx, f, data); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v", f, err)
		}
	}
}
