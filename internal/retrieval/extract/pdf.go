package extract

import (
	"bytes"
	"errors"
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
	pages := pdfPages(r)
	if len(pages) == 0 {
		return nil, invalid("the PDF has no pages")
	}
	var b strings.Builder
	var pageErr error
	for i, page := range pages {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		text, err := pageText(page)
		if err != nil {
			// One broken page does not lose the others.
			pageErr = fmt.Errorf("page %d: %v", i+1, err)
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
	if err := checkXref(data); err != nil {
		return nil, err
	}
	r, err = pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		msg := err.Error()
		if strings.Contains(strings.ToLower(msg), "encrypt") || strings.Contains(strings.ToLower(msg), "password") {
			return nil, invalid("the PDF is encrypted with a password; upload an unprotected copy")
		}
		return nil, invalid("the PDF cannot be parsed: %s", msg)
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

// pageText is the text of one page in reading order (see layout).
func pageText(p pdf.Page) (text string, err error) {
	pr := &pageReader{}
	defer func() {
		if r := recover(); r != nil {
			if r != errTooManyOps {
				text, err = "", fmt.Errorf("%v", r)
				return
			}
			// A page with an endless content stream keeps what was read.
			text, err = tidy(layout(pr.runs)), nil
		}
	}()
	if p.V.IsNull() || p.V.Key("Contents").Kind() == pdf.Null {
		return "", nil
	}
	pr.interpret(p.V.Key("Contents"), inherited(p.V, "Resources"), textState{ctm: identity, th: 1}, 0)
	return tidy(layout(pr.runs)), nil
}

// The content stream interpreter below follows the text operators of the
// PDF specification (9.4): it tracks the text and graphics matrices, font
// size, character and word spacing, horizontal scaling and rise, and the
// glyph widths of the fonts, so that every string shown gets its true
// position and width. (The parser's own Content ignores word spacing,
// which puts a gap inside words of justified text, and the widths of
// two-byte fonts.)

// matrix is a PDF transformation matrix [a b 0; c d 0; e f 1], applied to
// row vectors.
type matrix [3][3]float64

var identity = matrix{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}

func (m matrix) mul(n matrix) matrix {
	var r matrix
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				r[i][j] += m[i][k] * n[k][j]
			}
		}
	}
	return r
}

func translate(x, y float64) matrix { return matrix{{1, 0, 0}, {0, 1, 0}, {x, y, 1}} }

// matrixOf reads six numbers as a matrix; ok is false if they are not.
func matrixOf(args []pdf.Value) (matrix, bool) {
	if len(args) != 6 {
		return identity, false
	}
	m := identity
	for i := range 6 {
		k := args[i].Kind()
		if k != pdf.Integer && k != pdf.Real {
			return identity, false
		}
		m[i/2][i%2] = args[i].Float64()
	}
	return m, true
}

// textState is the part of the graphics state that text depends on.
type textState struct {
	ctm, tm, tlm               matrix
	tc, tw, th, tl, tfs, trise float64
	font                       *pdfFont
}

// run is one glyph shown on the page, in device space.
type run struct {
	x, y, w, size float64
	// dx, dy is the writing direction, a unit vector; (1, 0) for
	// horizontal text.
	dx, dy float64
	s      string
}

// pdfFont is what positioning needs of a font: its decoder and widths.
type pdfFont struct {
	enc     pdf.TextEncoding
	twoByte bool
	first   int
	widths  []float64       // simple fonts, from first
	cids    map[int]float64 // Type0 fonts, by CID
	missing float64         // width of codes not listed
	scale   float64         // glyph space to 1/1000 text space (Type3)
	known   bool            // the font gives widths at all
}

func newFont(v pdf.Value) *pdfFont {
	f := &pdfFont{scale: 1}
	pf := pdf.Font{V: v}
	f.enc = pf.Encoder()
	switch v.Key("Subtype").Name() {
	case "Type0":
		f.twoByte = true
		desc := v.Key("DescendantFonts").Index(0)
		f.missing = 1000
		if dw := desc.Key("DW"); dw.Kind() == pdf.Integer || dw.Kind() == pdf.Real {
			f.missing = dw.Float64()
		}
		f.cids = map[int]float64{}
		w := desc.Key("W")
		for i := 0; i < w.Len() && len(f.cids) < 1<<16; {
			c := int(w.Index(i).Int64())
			if next := w.Index(i + 1); next.Kind() == pdf.Array {
				for j := 0; j < next.Len() && j < 1<<16; j++ {
					f.cids[c+j] = next.Index(j).Float64()
				}
				i += 2
				continue
			}
			last, width := int(w.Index(i+1).Int64()), w.Index(i+2).Float64()
			for c2 := c; c2 <= last && c2-c < 1<<16; c2++ {
				f.cids[c2] = width
			}
			i += 3
		}
		f.known = true
	default:
		f.first = int(v.Key("FirstChar").Int64())
		ws := v.Key("Widths")
		for i := 0; i < ws.Len() && i < 1<<16; i++ {
			f.widths = append(f.widths, ws.Index(i).Float64())
		}
		f.missing = v.Key("FontDescriptor").Key("MissingWidth").Float64()
		if fm := v.Key("FontMatrix"); fm.Len() == 6 && fm.Index(0).Float64() != 0 {
			f.scale = fm.Index(0).Float64() * 1000
		}
		f.known = len(f.widths) > 0
	}
	return f
}

// width is the advance of a code in 1/1000 of the font size.
func (f *pdfFont) width(code int) float64 {
	if !f.known {
		// No widths (one of the standard 14 fonts): an average glyph.
		if code == ' ' {
			return 250
		}
		return 500
	}
	if f.cids != nil {
		if w, ok := f.cids[code]; ok {
			return w
		}
		return f.missing
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) {
		return f.widths[i] * f.scale
	}
	return f.missing * f.scale
}

// errTooManyOps stops the interpretation of a hostile content stream (too
// many operators or glyphs); the page keeps what was read.
var errTooManyOps = errors.New("too many operators")

const (
	maxPageOps    = 2_000_000
	maxPageGlyphs = 500_000 // a dense page has a few thousand
	maxFormDepth  = 6
)

type pageReader struct {
	runs []run
	ops  int
}

// interpret runs a content stream (a page's, or a form XObject's) with its
// resources, starting from state st.
func (pr *pageReader) interpret(strm, res pdf.Value, st textState, depth int) {
	fonts := map[string]*pdfFont{}
	var stack []textState
	pdf.Interpret(strm, func(stk *pdf.Stack, op string) {
		if pr.ops++; pr.ops > maxPageOps {
			panic(errTooManyOps)
		}
		args := make([]pdf.Value, stk.Len())
		for i := len(args) - 1; i >= 0; i-- {
			args[i] = stk.Pop()
		}
		num := func(i int) float64 { return args[i].Float64() }
		switch op {
		case "q":
			if len(stack) < 1024 {
				stack = append(stack, st)
			}
		case "Q":
			if n := len(stack); n > 0 {
				st, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if m, ok := matrixOf(args); ok {
				st.ctm = m.mul(st.ctm)
			}
		case "BT":
			st.tm, st.tlm = identity, identity
		case "Tm":
			if m, ok := matrixOf(args); ok {
				st.tm, st.tlm = m, m
			}
		case "TD":
			if len(args) == 2 {
				st.tl = -num(1)
			}
			fallthrough
		case "Td":
			if len(args) == 2 {
				st.tlm = translate(num(0), num(1)).mul(st.tlm)
				st.tm = st.tlm
			}
		case "T*":
			st.tlm = translate(0, -st.tl).mul(st.tlm)
			st.tm = st.tlm
		case "Tc", "Tw", "Tz", "TL", "Ts":
			if len(args) != 1 {
				return
			}
			switch v := num(0); op {
			case "Tc":
				st.tc = v
			case "Tw":
				st.tw = v
			case "Tz":
				st.th = v / 100
			case "TL":
				st.tl = v
			case "Ts":
				st.trise = v
			}
		case "Tf":
			if len(args) != 2 {
				return
			}
			name := args[0].Name()
			f, ok := fonts[name]
			if !ok {
				f = newFont(res.Key("Font").Key(name))
				fonts[name] = f
			}
			st.font, st.tfs = f, num(1)
		case "Tj":
			if len(args) == 1 {
				pr.show(&st, args[0].RawString())
			}
		case "'":
			if len(args) == 1 {
				st.tlm = translate(0, -st.tl).mul(st.tlm)
				st.tm = st.tlm
				pr.show(&st, args[0].RawString())
			}
		case "\"":
			if len(args) == 3 {
				st.tw, st.tc = num(0), num(1)
				st.tlm = translate(0, -st.tl).mul(st.tlm)
				st.tm = st.tlm
				pr.show(&st, args[2].RawString())
			}
		case "TJ":
			if len(args) != 1 {
				return
			}
			a := args[0]
			for i := 0; i < a.Len(); i++ {
				switch x := a.Index(i); x.Kind() {
				case pdf.String:
					pr.show(&st, x.RawString())
				case pdf.Integer, pdf.Real:
					st.tm = translate(-x.Float64()/1000*st.tfs*st.th, 0).mul(st.tm)
				}
			}
		case "Do":
			if len(args) != 1 || depth >= maxFormDepth {
				return
			}
			xo := res.Key("XObject").Key(args[0].Name())
			if xo.Kind() != pdf.Stream || xo.Key("Subtype").Name() != "Form" {
				return
			}
			inner := st
			if m, ok := matrixOf(valuesOf(xo.Key("Matrix"))); ok {
				inner.ctm = m.mul(st.ctm)
			}
			innerRes := xo.Key("Resources")
			if innerRes.Kind() != pdf.Dict {
				innerRes = res
			}
			pr.interpret(xo, innerRes, inner, depth+1)
		}
	})
}

func valuesOf(a pdf.Value) []pdf.Value {
	if a.Kind() != pdf.Array {
		return nil
	}
	out := make([]pdf.Value, a.Len())
	for i := range out {
		out[i] = a.Index(i)
	}
	return out
}

// show records the glyphs of a string shown with the current state, each
// with its own position and width, and advances the text matrix past
// them. Glyph by glyph, because spacing inside a string is visible too:
// some writers show "lA" with a character spacing as wide as a space.
func (pr *pageReader) show(st *textState, raw string) {
	f := st.font
	if f == nil {
		f = newFont(pdf.Value{})
		st.font = f
	}
	step := 1
	if f.twoByte {
		step = 2
	}
	m := st.tm.mul(st.ctm)
	size := math.Abs(st.tfs * math.Hypot(m[1][0], m[1][1]))
	xscale := math.Hypot(m[0][0], m[0][1])
	dx, dy := 1.0, 0.0
	if xscale > 0 {
		dx, dy = m[0][0]/xscale, m[0][1]/xscale
	}
	var tx float64 // advance so far, in text space
	for i := 0; i+step <= len(raw); i += step {
		if len(pr.runs) >= maxPageGlyphs {
			panic(errTooManyOps)
		}
		code := int(raw[i])
		if step == 2 {
			code = code<<8 | int(raw[i+1])
		}
		glyph := f.width(code) / 1000 * st.tfs * st.th
		adv := glyph + st.tc*st.th
		if step == 1 && code == ' ' {
			adv += st.tw * st.th // word spacing applies to the single-byte space only
		}
		// Spaces are not kept as text: what they are is a gap, and a gap
		// is found from the positions. (Some writers show a space glyph
		// squeezed to nothing by negative word spacing inside a word.)
		if text := f.enc.Decode(raw[i : i+step]); strings.TrimSpace(text) != "" {
			// The glyph's origin: (tx, rise) in text space, through the
			// text and graphics matrices.
			x := tx*m[0][0] + st.trise*m[1][0] + m[2][0]
			y := tx*m[0][1] + st.trise*m[1][1] + m[2][1]
			pr.runs = append(pr.runs, run{x: x, y: y, w: glyph * xscale, size: size, dx: dx, dy: dy, s: text})
		}
		tx += adv
	}
	st.tm = translate(tx, 0).mul(st.tm)
}

type pdfLine struct {
	y, size float64
	runs    []run
}

// layout orders the runs of a page into text: runs grouped into lines by
// baseline, lines from the top of the page down, runs left to right, a
// space where the gap between two runs is wider than a sliver of the font
// size, and a blank line where the gap between two lines is clearly wider
// than the page's usual line spacing.
func layout(runs []run) string {
	var lines []*pdfLine
	var turned []run
	for _, r := range runs {
		if bad(r.x) || bad(r.y) || bad(r.w) || bad(r.size) {
			continue
		}
		if r.dx < 0.98 { // not horizontal left to right: kept apart
			turned = append(turned, r)
			continue
		}
		size := max(r.size, 1)
		var line *pdfLine
		// Runs mostly come line by line: look at the last lines only.
		for i := len(lines) - 1; i >= 0 && i >= len(lines)-8; i-- {
			if math.Abs(lines[i].y-r.y) <= 0.4*max(size, lines[i].size) {
				line = lines[i]
				break
			}
		}
		if line == nil {
			line = &pdfLine{y: r.y, size: size}
			lines = append(lines, line)
		}
		line.size = max(line.size, size)
		line.runs = append(line.runs, r)
	}
	// Top of the page first (PDF y grows upwards); lines at the same
	// height keep their order.
	sort.SliceStable(lines, func(i, j int) bool {
		return lines[i].y > lines[j].y+0.4*max(lines[i].size, lines[j].size)
	})
	var gaps []float64
	for i := 1; i < len(lines); i++ {
		if g := lines[i-1].y - lines[i].y; g > 0 {
			gaps = append(gaps, g)
		}
	}
	sort.Float64s(gaps)
	paraGap := math.Inf(1)
	if len(gaps) > 0 {
		paraGap = 1.3 * gaps[(len(gaps)-1)/2] // the lower median
	}
	var b strings.Builder
	for li, line := range lines {
		rs := line.runs
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].x < rs[j].x })
		if li > 0 {
			b.WriteByte('\n')
			if lines[li-1].y-line.y > paraGap {
				b.WriteByte('\n')
			}
		}
		var prev *run
		for i := range rs {
			r := &rs[i]
			if prev != nil {
				// Fake bold and shadows draw the same string twice, a
				// hair apart.
				if r.s == prev.s && math.Abs(r.x-prev.x) < 0.1*r.size && math.Abs(r.y-prev.y) < 0.1*r.size {
					continue
				}
				gap := r.x - (prev.x + prev.w)
				if gap > 0.15*min(max(prev.size, 1), max(r.size, 1)) && !endsWithSpace(&b) && !startsWithSpace(r.s) {
					b.WriteByte(' ')
				}
			}
			b.WriteString(r.s)
			prev = r
		}
	}
	if t := turnedText(turned); t != "" {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
	}
	return b.String()
}

// turnedText joins glyphs written in another direction (rotated labels,
// vertical margins) in the order they were shown: a space where the next
// glyph is further along than the end of the last, a new line where it is
// off the last one's baseline.
func turnedText(runs []run) string {
	var b strings.Builder
	for i, r := range runs {
		if i > 0 {
			p := runs[i-1]
			vx, vy := r.x-p.x, r.y-p.y
			along := vx*p.dx + vy*p.dy
			across := -vx*p.dy + vy*p.dx
			size := max(min(p.size, r.size), 1)
			switch {
			case math.Abs(across) > 0.5*size || r.dx != p.dx || r.dy != p.dy || along < -0.5*size:
				b.WriteByte('\n')
			case along-p.w > 0.15*size:
				b.WriteByte(' ')
			}
		}
		b.WriteString(r.s)
	}
	return b.String()
}

func bad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

func endsWithSpace(b *strings.Builder) bool {
	s := b.String()
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsSpace(r)
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// ligatures are the presentation forms that fonts map f-ligatures to;
// searching "file" must find "ﬁle".
var ligatures = strings.NewReplacer("ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl", "ﬅ", "st", "ﬆ", "st")

// tidy drops control characters and invalid bytes the font decoding may
// leave, expands ligatures, collapses runs of spaces within lines, trims
// the lines and keeps at most one blank line in a row.
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
	s = ligatures.Replace(s)
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
