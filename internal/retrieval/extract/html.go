package extract

import (
	"bytes"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// htmlSkipped are elements whose content is not the document's text.
var htmlSkipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Nav: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Canvas: true,
	atom.Select: true, atom.Button: true, atom.Head: true, atom.Audio: true, atom.Video: true,
}

// htmlParagraphs end a paragraph: a blank line before and after.
var htmlParagraphs = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Pre: true, atom.Blockquote: true, atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true, atom.Main: true,
	atom.Aside: true, atom.Figure: true, atom.Form: true, atom.Fieldset: true, atom.Details: true,
	atom.Address: true, atom.Hr: true,
}

// htmlLines are the other block elements: a line break before and after.
var htmlLines = map[atom.Atom]bool{
	atom.Div: true, atom.Br: true, atom.Li: true, atom.Tr: true, atom.Dt: true, atom.Dd: true,
	atom.Figcaption: true, atom.Caption: true, atom.Summary: true, atom.Legend: true, atom.Option: true,
	atom.Thead: true, atom.Tbody: true, atom.Tfoot: true, atom.Body: true, atom.Center: true,
}

// html extracts the text of an HTML document's body: skipped elements
// left out, white space collapsed except in <pre>, block elements on their
// own lines, table cells separated by " | ". The title is the <title>, or
// the first <h1>.
func (e *extraction) html(data []byte) (*Document, error) {
	r, err := htmlReader(data)
	if err != nil {
		return nil, err
	}
	z := html.NewTokenizer(r)
	z.SetMaxBuf(e.opts.MaxTextBytes)
	var (
		w                textWriter
		skip             []atom.Atom // open skipped elements
		pre              int
		inTitle, inH1    bool
		title, h1        strings.Builder
		h1Done, cellOpen bool
	)
	for n := 0; ; n++ {
		if n%4096 == 0 && e.ctx.Err() != nil {
			return nil, e.ctx.Err()
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return &Document{Text: w.String(), Title: firstNonEmpty(collapse(title.String()), collapse(h1.String()))}, nil
			}
			return nil, invalid("the HTML cannot be read: %v", z.Err())
		case html.TextToken:
			text := string(z.Text())
			switch {
			case inTitle:
				title.WriteString(text)
				continue
			case len(skip) > 0:
				continue
			}
			if inH1 {
				h1.WriteString(text)
			}
			if pre > 0 {
				w.raw(text)
			} else {
				w.text(text)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if len(skip) == 1 && skip[0] == atom.Head && !headChild(a) {
				skip = nil // </head> is optional: the body has begun
			}
			if a == atom.Title && tt == html.StartTagToken && (len(skip) == 0 || len(skip) == 1 && skip[0] == atom.Head) {
				inTitle = title.Len() == 0
				continue
			}
			if htmlSkipped[a] || (hasAttr && hidden(z)) {
				if tt == html.StartTagToken && !voidElement(a) {
					skip = append(skip, a)
				}
				continue
			}
			if len(skip) > 0 {
				continue
			}
			switch {
			case a == atom.Pre:
				pre++
				w.breakLine(2)
			case htmlParagraphs[a]:
				w.breakLine(2)
			case htmlLines[a]:
				w.breakLine(1)
				if a == atom.Tr {
					cellOpen = false
				}
			case a == atom.Td || a == atom.Th:
				if cellOpen {
					w.separator(" | ")
				}
				cellOpen = true
			}
			if a == atom.H1 && !h1Done {
				inH1 = true
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Title {
				inTitle = false
				continue
			}
			if len(skip) > 0 {
				// Close up to the matching skipped element; end tags of
				// other elements inside it change nothing.
				for i := len(skip) - 1; i >= 0; i-- {
					if skip[i] == a {
						skip = skip[:i]
						break
					}
				}
				continue
			}
			switch {
			case a == atom.Pre:
				pre = max(pre-1, 0)
				w.breakLine(2)
			case htmlParagraphs[a]:
				w.breakLine(2)
			case htmlLines[a]:
				w.breakLine(1)
			}
			if a == atom.H1 && inH1 {
				inH1, h1Done = false, true
			}
		}
	}
}

// htmlReader decodes the document to UTF-8 using its <meta charset> or
// byte order mark when it is not UTF-8 already.
func htmlReader(data []byte) (io.Reader, error) {
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		data = data[3:]
	}
	if utf8.Valid(data) {
		if looksBinary(data) {
			return nil, invalid("the file holds binary data, not HTML")
		}
		return bytes.NewReader(data), nil
	}
	if bytes.HasPrefix(data, []byte("\xFF\xFE")) || bytes.HasPrefix(data, []byte("\xFE\xFF")) {
		s, err := decodeText(data)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(s), nil
	}
	if looksBinary(data) {
		return nil, invalid("the file holds binary data, not HTML")
	}
	enc, name, _ := charset.DetermineEncoding(data, "text/html")
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil || !utf8.Valid(out) {
		return nil, invalid("the HTML is not valid UTF-8 nor in its declared charset %q", name)
	}
	return bytes.NewReader(out), nil
}

func hidden(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "hidden":
			return true
		case "aria-hidden":
			if string(v) == "true" {
				return true
			}
		}
		if !more {
			return false
		}
	}
}

// headChild reports elements that may appear in <head>.
func headChild(a atom.Atom) bool {
	switch a {
	case atom.Title, atom.Meta, atom.Link, atom.Style, atom.Script, atom.Noscript, atom.Base, atom.Template:
		return true
	}
	return false
}

func voidElement(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// textWriter assembles text from pieces: runs of white space become one
// space, and line breaks asked for between blocks are written only before
// the next text, at most one blank line.
type textWriter struct {
	b       strings.Builder
	brk     int    // pending line breaks, 0 to 2
	space   bool   // pending space
	sep     string // pending separator (table cells)
	lastNL  int    // trailing newlines written
	started bool
}

func (w *textWriter) String() string { return strings.TrimSpace(w.b.String()) }

func (w *textWriter) breakLine(n int) {
	w.brk = max(w.brk, n)
	w.sep = ""
}

func (w *textWriter) separator(s string) {
	if w.brk == 0 {
		w.sep = s
	}
}

// flush writes what is pending before a word.
func (w *textWriter) flush() {
	if !w.started {
		w.brk, w.space, w.sep = 0, false, ""
		w.started = true
		return
	}
	switch {
	case w.brk > 0:
		for i := w.lastNL; i < w.brk; i++ {
			w.b.WriteByte('\n')
		}
	case w.sep != "":
		w.b.WriteString(w.sep)
	case w.space:
		w.b.WriteByte(' ')
	}
	w.brk, w.space, w.sep = 0, false, ""
	w.lastNL = 0
}

// text writes text with its white space collapsed.
func (w *textWriter) text(s string) {
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) {
			if start >= 0 {
				w.word(s[start:i])
				start = -1
			}
			w.space = true
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		w.word(s[start:])
	}
}

func (w *textWriter) word(s string) {
	w.flush()
	w.b.WriteString(s)
}

// raw writes preformatted text as it is.
func (w *textWriter) raw(s string) {
	if s == "" {
		return
	}
	if w.started || strings.TrimSpace(s) != "" {
		w.flush()
	}
	s = normalizeNewlines(s)
	w.b.WriteString(s)
	w.lastNL = len(s) - len(strings.TrimRight(s, "\n"))
}
