// Package extract turns an uploaded file into plain UTF-8 text for
// file_search: text, Markdown, HTML, PDF, Word (docx), PowerPoint (pptx),
// JSON, CSV and source code.
//
// Errors are classified the way a vector store file reports them in
// last_error.code: ErrUnsupported ("unsupported_file": a kind of file that
// has no text to search, such as an image or an archive) and ErrInvalid
// ("invalid_file": a supported kind that is corrupt, wrongly encoded, too
// large or without text). Code maps an error to that code.
package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Document is the text of a file.
type Document struct {
	// Title is the document's own title (PDF and Office metadata, an HTML
	// <title> or first <h1>, a leading Markdown "# " heading), "" if none.
	Title string
	// Text is the document's text, valid UTF-8 with "\n" line ends; blank
	// lines separate paragraphs and pages.
	Text string
	// Kind is the kind the file was read as: "txt", "md", "html", "pdf",
	// "docx", "pptx", "json", "csv" or "code".
	Kind string
}

// The error classes; every error Extract returns wraps one of them (or is
// the context's error).
var (
	// ErrUnsupported: no text can be taken from this kind of file.
	ErrUnsupported = errors.New("unsupported_file")
	// ErrInvalid: a supported kind, but the file is corrupt, wrongly
	// encoded, too large or has no text.
	ErrInvalid = errors.New("invalid_file")
)

// Code returns the last_error.code for an error of Extract:
// "unsupported_file", "invalid_file" or, for anything else,
// "server_error".
func Code(err error) string {
	switch {
	case errors.Is(err, ErrUnsupported):
		return "unsupported_file"
	case errors.Is(err, ErrInvalid):
		return "invalid_file"
	}
	return "server_error"
}

// Error is a classified extraction error. Its message is written for the
// user who uploaded the file (it becomes last_error.message); errors.Is
// matches it to ErrUnsupported or ErrInvalid.
type Error struct {
	// Code is "unsupported_file" or "invalid_file".
	Code string
	// Message says what is wrong and, where there is one, what to do.
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Is reports whether target is the sentinel of e's class.
func (e *Error) Is(target error) bool {
	return target == ErrUnsupported && e.Code == "unsupported_file" ||
		target == ErrInvalid && e.Code == "invalid_file"
}

func newError(code, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return &Error{Code: code, Message: msg}
}

func unsupported(format string, args ...any) error {
	return newError("unsupported_file", format, args...)
}

func invalid(format string, args ...any) error {
	return newError("invalid_file", format, args...)
}

// Defaults of Options.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultMaxTextBytes = 32 << 20
)

// Options bound the work of an extraction. Zero fields take the defaults.
type Options struct {
	// MaxBytes is the largest file accepted (default 64 MiB).
	MaxBytes int64
	// MaxTextBytes is the most text a file may yield (default 32 MiB,
	// about 8M tokens); it also bounds what is decompressed from a docx or
	// pptx.
	MaxTextBytes int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	return o
}

// Extract reads a file with the default Options.
func Extract(ctx context.Context, filename string, data []byte) (*Document, error) {
	return Options{}.Extract(ctx, filename, data)
}

// Extract reads the text of a file named filename. The kind comes from the
// extension, and from the content when the extension is missing or
// unknown. Hostile input yields an error, never a panic.
func (o Options) Extract(ctx context.Context, filename string, data []byte) (doc *Document, err error) {
	o = o.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if int64(len(data)) > o.MaxBytes {
		return nil, invalid("the file is %d bytes, more than the limit of %d", len(data), o.MaxBytes)
	}
	if len(data) == 0 {
		return nil, invalid("the file is empty")
	}
	kind, err := detect(filename, data)
	if err != nil {
		return nil, err
	}
	defer func() {
		// The parsers of PDF and XML are fed hostile bytes; a bug in them
		// must cost this file only.
		if r := recover(); r != nil {
			doc, err = nil, invalid("the %s file could not be parsed (%v)", kind, r)
		}
	}()
	e := &extraction{ctx: ctx, opts: o}
	switch kind {
	case "pdf":
		doc, err = e.pdf(data)
	case "docx":
		doc, err = e.docx(data)
	case "pptx":
		doc, err = e.pptx(data)
	case "html":
		doc, err = e.html(data)
	default:
		var text string
		if text, err = decodeText(data); err != nil {
			return nil, err
		}
		switch kind {
		case "json":
			doc, err = jsonText(text)
		case "jsonl":
			doc, err = jsonLinesText(ctx, text)
			kind = "json"
		case "csv", "tsv":
			doc, err = csvText(ctx, text, kind == "tsv")
			kind = "csv"
		case "md":
			doc = &Document{Text: text, Title: markdownTitle(text)}
		default:
			doc = &Document{Text: text}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc.Kind = kind
	doc.Text = normalizeNewlines(doc.Text)
	if kind == "docx" || kind == "pptx" {
		// Empty paragraphs are spacing, not text: one blank line at most.
		doc.Text = collapseBlankLines(doc.Text)
	}
	doc.Title = strings.Join(strings.Fields(doc.Title), " ")
	if strings.TrimSpace(doc.Text) == "" {
		return nil, invalid("no text could be extracted from the %s file", kind)
	}
	if len(doc.Text) > o.MaxTextBytes {
		return nil, invalid("the file holds more than %d bytes of text; split it into smaller files", o.MaxTextBytes)
	}
	if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Title) {
		// The parsers decode to UTF-8; this is a last guard.
		doc.Text = strings.ToValidUTF8(doc.Text, "\uFFFD")
		doc.Title = strings.ToValidUTF8(doc.Title, "\uFFFD")
	}
	return doc, nil
}

// extraction carries what the parsers of one file share.
type extraction struct {
	ctx  context.Context
	opts Options
}

// kinds maps extensions to kinds; "code" covers source and other text
// formats read as they are. The list follows the file types OpenAI's
// file_search accepts, plus common text formats.
var kinds = map[string]string{
	".txt": "txt", ".text": "txt", ".log": "txt", ".rst": "txt", ".adoc": "txt", ".org": "txt",
	".md": "md", ".markdown": "md", ".mdx": "md",
	".html": "html", ".htm": "html", ".xhtml": "html",
	".pdf":  "pdf",
	".docx": "docx", ".pptx": "pptx",
	".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
	".csv": "csv", ".tsv": "tsv",
	".c": "code", ".h": "code", ".cc": "code", ".cpp": "code", ".cxx": "code", ".hpp": "code", ".hh": "code",
	".cs": "code", ".css": "code", ".scss": "code", ".less": "code",
	".go": "code", ".java": "code", ".kt": "code", ".kts": "code", ".scala": "code", ".groovy": "code",
	".js": "code", ".mjs": "code", ".cjs": "code", ".jsx": "code", ".ts": "code", ".tsx": "code",
	".py": "code", ".pyi": "code", ".rb": "code", ".php": "code", ".pl": "code", ".pm": "code", ".lua": "code",
	".rs": "code", ".swift": "code", ".m": "code", ".mm": "code", ".r": "code", ".jl": "code", ".dart": "code",
	".sh": "code", ".bash": "code", ".zsh": "code", ".fish": "code", ".ps1": "code", ".bat": "code", ".cmd": "code",
	".sql": "code", ".tex": "code", ".bib": "code", ".xml": "code", ".svg": "code", ".yaml": "code", ".yml": "code",
	".toml": "code", ".ini": "code", ".cfg": "code", ".conf": "code", ".properties": "code", ".env": "code",
	".proto": "code", ".graphql": "code", ".vue": "code", ".svelte": "code", ".erl": "code", ".ex": "code",
	".exs": "code", ".hs": "code", ".ml": "code", ".clj": "code", ".elm": "code", ".fs": "code", ".vb": "code",
	".zig": "code", ".nim": "code", ".tf": "code", ".gradle": "code", ".cmake": "code", ".mk": "code",
	".diff": "code", ".patch": "code", ".srt": "code", ".vtt": "code",
}

// known binary kinds, refused by extension with a hint.
var refused = map[string]string{
	".doc": "legacy Word .doc files are not supported; save the document as .docx",
	".ppt": "legacy PowerPoint .ppt files are not supported; save the presentation as .pptx",
	".xls": "spreadsheets are not supported; export the sheet as .csv", ".xlsx": "spreadsheets are not supported; export the sheet as .csv",
	".rtf":  "RTF files are not supported; save the document as .docx or .txt",
	".odt":  "OpenDocument files are not supported; save the document as .docx",
	".epub": "EPUB files are not supported",
}

// detect picks the kind of a file: by extension first, then by content.
func detect(filename string, data []byte) (string, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, `\`, "/")))
	if k, ok := kinds[ext]; ok {
		return k, nil
	}
	if hint, ok := refused[ext]; ok {
		return "", unsupported("%s", hint)
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(filename, `\`, "/")))
	switch base {
	case "makefile", "dockerfile", "readme", "license", "changelog", "gemfile", "rakefile", "procfile":
		return "code", nil
	}
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "pdf", nil
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		switch {
		case zipHas(data, "word/document.xml"):
			return "docx", nil
		case zipHas(data, "ppt/presentation.xml"):
			return "pptx", nil
		}
		return "", unsupported("a ZIP archive (%s) is not a supported file; upload the files it holds", describe(filename))
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		return "", unsupported("a legacy Office file (%s) is not supported; save it as .docx or .pptx", describe(filename))
	}
	ct := http.DetectContentType(data)
	switch {
	case strings.HasPrefix(ct, "text/html"):
		return "html", nil
	case strings.HasPrefix(ct, "text/xml"):
		return "code", nil
	case strings.HasPrefix(ct, "text/plain"):
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && jsonValid(trimmed) {
			return "json", nil
		}
		return "txt", nil
	}
	if ext == "" {
		return "", unsupported("the file's content (%s) is not text or a supported document", ct)
	}
	return "", unsupported("%s files (%s) are not supported", ext, ct)
}

func describe(filename string) string {
	if filename == "" {
		return "no name"
	}
	return filename
}

// decodeText returns data as UTF-8 text: a UTF-8 byte order mark is
// dropped and UTF-16 (with a byte order mark, or plainly ASCII-in-UTF-16)
// is decoded. Binary data and invalid UTF-8 are errors.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		data = data[3:]
	case bytes.HasPrefix(data, []byte("\xFF\xFE")):
		return utf16Text(data[2:], false)
	case bytes.HasPrefix(data, []byte("\xFE\xFF")):
		return utf16Text(data[2:], true)
	default:
		if be, ok := looksUTF16(data); ok {
			return utf16Text(data, be)
		}
	}
	if looksBinary(data) {
		return "", invalid("the file holds binary data, not text")
	}
	if !utf8.Valid(data) {
		return "", invalid("the text is not valid UTF-8 (first bad byte at offset %d); save it as UTF-8", firstInvalid(data))
	}
	return string(data), nil
}

func utf16Text(b []byte, bigEndian bool) (string, error) {
	if len(b)%2 != 0 {
		return "", invalid("the UTF-16 text has an odd number of bytes")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	s := string(utf16.Decode(u))
	if strings.ContainsRune(s, 0) {
		return "", invalid("the file holds binary data, not text")
	}
	if strings.Count(s, "\uFFFD") > len(u)/100+1 {
		return "", invalid("the UTF-16 text has unpaired surrogates")
	}
	return s, nil
}

// looksUTF16 recognizes UTF-16 without a byte order mark from its zero
// bytes: mostly-ASCII text has one in every other position.
func looksUTF16(b []byte) (bigEndian, ok bool) {
	n := min(len(b), 4096) &^ 1
	if n < 8 {
		return false, false
	}
	var evenZero, oddZero int
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			evenZero++
		}
		if b[i+1] == 0 {
			oddZero++
		}
	}
	half := n / 2
	switch {
	case evenZero > half*9/10 && oddZero == 0:
		return true, true
	case oddZero > half*9/10 && evenZero == 0:
		return false, true
	}
	return false, false
}

// looksBinary reports NUL bytes or many control characters in the first
// 8 KiB.
func looksBinary(b []byte) bool {
	b = b[:min(len(b), 8192)]
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b {
			ctl++
		}
	}
	return ctl > len(b)/20
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// markdownTitle is the text of a "# " heading on the document's first
// non-blank line (after YAML front matter, whose title: wins).
func markdownTitle(text string) string {
	lines := strings.Split(normalizeNewlines(text), "\n")
	i := 0
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == "---" {
		for j := 1; j < len(lines) && j < 200; j++ {
			l := strings.TrimSpace(lines[j])
			if l == "---" || l == "..." {
				i = j + 1
				break
			}
			if t, ok := strings.CutPrefix(l, "title:"); ok {
				if t = strings.Trim(strings.TrimSpace(t), `"'`); t != "" {
					return t
				}
			}
		}
	}
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if t, ok := strings.CutPrefix(l, "# "); ok {
			return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t), "#"))
		}
		return ""
	}
	return ""
}

// collapseBlankLines trims trailing white space off every line and keeps
// at most one blank line in a row.
func collapseBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// collapse replaces runs of white space by one space.
func collapse(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}
