package extract

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// pdf extracts the text of each page in reading order, pages separated by
// blank lines; the title is the Title of the document information
// dictionary.
func (e *extraction) pdf(data []byte) (*Document, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, invalid("the file is not a PDF (it does not start with %%PDF-)")
	}
	r, err := openPDF(data)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	pages := r.NumPage()
	var pageErr error
	for i := 1; i <= pages; i++ {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		text, err := pageText(r.Page(i))
		if err != nil {
			// One broken page does not lose the others.
			pageErr = fmt.Errorf("page %d: %v", i, err)
			continue
		}
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(text)
		if b.Len() > e.opts.MaxTextBytes {
			return nil, invalid("the file holds more than %d bytes of text; split it into smaller files", e.opts.MaxTextBytes)
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		if pageErr != nil {
			return nil, invalid("the PDF's pages cannot be read (%v)", pageErr)
		}
		return nil, invalid("the PDF has no text layer (a scan? OCR is not supported)")
	}
	return &Document{Text: b.String(), Title: pdfTitle(r)}, nil
}

// openPDF opens data, recovering from the parser's panics. The parser
// accepts versions 1.0 to 1.7 only; a 2.0 header (the syntax it reads is
// the same) is presented as 1.7.
func openPDF(data []byte) (r *pdf.Reader, err error) {
	if len(data) > 9 && (data[5] != '1' || data[7] > '7' || (data[8] != '\n' && data[8] != '\r')) {
		fixed := bytes.Clone(data)
		copy(fixed, "%PDF-1.7")
		if fixed[8] != '\n' && fixed[8] != '\r' {
			fixed[8] = '\n' // the rest of the header line becomes a junk line, which is skipped
		}
		data = fixed
	}
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, invalid("the PDF cannot be parsed (%v)", p)
		}
	}()
	r, err = pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		msg := err.Error()
		if strings.Contains(strings.ToLower(msg), "encrypt") || strings.Contains(strings.ToLower(msg), "password") {
			return nil, invalid("the PDF is encrypted with a password; upload an unprotected copy")
		}
		return nil, invalid("the PDF cannot be parsed: %s", msg)
	}
	if r.NumPage() == 0 {
		return nil, invalid("the PDF has no pages")
	}
	return r, nil
}

func pdfTitle(r *pdf.Reader) (title string) {
	defer func() {
		if recover() != nil {
			title = ""
		}
	}()
	t := r.Trailer().Key("Info").Key("Title").Text()
	if !utf8.ValidString(t) {
		return ""
	}
	return strings.TrimSpace(t)
}

// pageText is the text of one page in reading order: the glyphs grouped
// into lines by baseline, lines from the top of the page down, glyphs left
// to right, with spaces where the gap between glyphs is wide. When the
// page's glyphs carry no positions, its text in content stream order.
func pageText(p pdf.Page) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%v", r)
		}
	}()
	if p.V.IsNull() {
		return "", nil
	}
	glyphs := p.Content().Text
	if len(glyphs) == 0 {
		plain, err := p.GetPlainText(nil)
		if err != nil {
			return "", err
		}
		return tidy(plain), nil
	}
	return tidy(layout(glyphs)), nil
}

type pdfLine struct {
	y, size float64
	glyphs  []pdf.Text
}

// layout orders glyphs into text.
func layout(glyphs []pdf.Text) string {
	var lines []*pdfLine
	// Glyphs mostly come line by line: try the last line first.
	for _, g := range glyphs {
		if g.S == "" || math.IsNaN(g.X) || math.IsNaN(g.Y) || math.IsInf(g.X, 0) || math.IsInf(g.Y, 0) {
			continue
		}
		if g.S == "\n" { // the parser marks the end of a TJ array so
			continue
		}
		size := math.Abs(g.FontSize)
		if size < 1 {
			size = 1
		}
		var line *pdfLine
		for i := len(lines) - 1; i >= 0 && i >= len(lines)-8; i-- {
			if math.Abs(lines[i].y-g.Y) <= 0.4*math.Max(size, lines[i].size) {
				line = lines[i]
				break
			}
		}
		if line == nil {
			line = &pdfLine{y: g.Y, size: size}
			lines = append(lines, line)
		}
		line.glyphs = append(line.glyphs, g)
	}
	// Top of the page first (PDF y grows upwards); lines at the same
	// height keep their order.
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].y > lines[j].y+0.4*math.Max(lines[i].size, lines[j].size) })
	var b strings.Builder
	prevY, prevSize := 0.0, 0.0
	for li, line := range lines {
		gs := line.glyphs
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].X < gs[j].X })
		if li > 0 {
			b.WriteByte('\n')
			// A gap of more than one and a half lines starts a paragraph.
			if prevY-line.y > 1.8*math.Max(prevSize, line.size) {
				b.WriteByte('\n')
			}
		}
		prevY, prevSize = line.y, line.size
		end := math.Inf(-1)
		for _, g := range gs {
			size := math.Max(math.Abs(g.FontSize), 1)
			if !math.IsInf(end, -1) && g.X-end > 0.15*size && !endsWithSpace(&b) && !isSpaceText(g.S) {
				b.WriteByte(' ')
			}
			b.WriteString(g.S)
			w := g.W
			if w <= 0 || math.IsNaN(w) {
				w = 0.5 * size * float64(utf8.RuneCountInString(g.S)) // no width known: an average glyph
			}
			end = math.Max(end, g.X+w)
		}
	}
	return b.String()
}

func endsWithSpace(b *strings.Builder) bool {
	s := b.String()
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsSpace(r)
}

func isSpaceText(s string) bool { return strings.TrimSpace(s) == "" }

// tidy drops control characters and invalid bytes the font decoding may
// leave, collapses runs of spaces within lines and trims the lines.
func tidy(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case r == 0xA0:
			return ' '
		case unicode.IsControl(r), r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	s = strings.Join(lines, "\n")
	for strings.Contains(s, "\n\n\n") {
		s = strings.ReplaceAll(s, "\n\n\n", "\n\n")
	}
	return strings.TrimSpace(s)
}
