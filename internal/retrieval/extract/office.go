package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Office Open XML namespaces.
const (
	nsWord    = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsDrawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
	// The same vocabularies in Strict Open XML ("Strict Open XML
	// Document" in Word's Save As).
	nsWordStrict    = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsDrawingStrict = "http://purl.oclc.org/ooxml/drawingml/main"
	nsDC            = "http://purl.org/dc/elements/1.1/"
)

// zipHas reports whether data is a ZIP archive holding name.
func zipHas(data []byte, name string) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if f.Name == name {
			return true
		}
	}
	return false
}

// officeZip opens an Office Open XML package.
func officeZip(data []byte, kind string) (*zip.Reader, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) {
			return nil, invalid("the %s file is encrypted or in the legacy binary format; save it as a plain .%s", kind, kind)
		}
		return nil, invalid("the %s file is not a valid ZIP package: %v", kind, err)
	}
	return zr, nil
}

// openZipFile opens a member of the archive for streaming, reading at most
// limit decompressed bytes (more is an error, so that a ZIP bomb stops
// there); ok is false when there is no such member.
func openZipFile(zr *zip.Reader, name string, limit int) (rc io.ReadCloser, ok bool, err error) {
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return nil, true, invalid("%s in the package cannot be opened: %v", name, err)
		}
		return &limitedReadCloser{rc: r, left: int64(limit), limit: limit, name: name}, true, nil
	}
	return nil, false, nil
}

type limitedReadCloser struct {
	rc    io.ReadCloser
	left  int64
	limit int
	name  string
}

func (l *limitedReadCloser) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a member that ends exactly at the limit
		// from one that goes on.
		var one [1]byte
		if n, _ := l.rc.Read(one[:]); n > 0 {
			return 0, invalid("%s in the package is larger than %d bytes", l.name, l.limit)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedReadCloser) Close() error { return l.rc.Close() }

// readZipFile returns a member of the archive, at most limit bytes
// decompressed; ok is false when there is no such member.
func readZipFile(zr *zip.Reader, name string, limit int) (data []byte, ok bool, err error) {
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, true, invalid("%s in the package cannot be opened: %v", name, err)
		}
		defer rc.Close()
		// A ZIP bomb stops at the limit rather than filling memory.
		b, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
		if err != nil {
			return nil, true, invalid("%s in the package cannot be read: %v", name, err)
		}
		if len(b) > limit {
			return nil, true, invalid("%s in the package is larger than %d bytes", name, limit)
		}
		return b, true, nil
	}
	return nil, false, nil
}

// xmlLimit bounds the decompressed XML of one part: markup is several
// times the text it carries.
func (e *extraction) xmlLimit() int { return 4 * e.opts.MaxTextBytes }

// docx extracts word/document.xml, then the footnotes and endnotes. The
// title is dc:title of docProps/core.xml, or the first paragraph in the
// Title style.
func (e *extraction) docx(data []byte) (*Document, error) {
	zr, err := officeZip(data, "docx")
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	var styledTitle string
	for _, name := range []string{"word/document.xml", "word/footnotes.xml", "word/endnotes.xml"} {
		r, ok, err := openZipFile(zr, name, e.xmlLimit())
		if err != nil {
			return nil, err
		}
		if !ok {
			if name == "word/document.xml" {
				return nil, invalid("the docx package has no word/document.xml")
			}
			continue
		}
		t, st, err := e.wordText(name, r, e.opts.MaxTextBytes-text.Len())
		r.Close()
		if err != nil {
			return nil, err
		}
		if styledTitle == "" {
			styledTitle = st
		}
		if strings.TrimSpace(t) == "" {
			continue
		}
		if text.Len() > 0 {
			text.WriteString("\n\n")
		}
		text.WriteString(t)
	}
	title, err := coreTitle(zr)
	if err != nil {
		return nil, err
	}
	return &Document{Text: text.String(), Title: firstNonEmpty(title, styledTitle)}, nil
}

// wordText is the text of a WordprocessingML part: paragraphs (w:p) on
// their own lines, w:t text, w:tab as a tab, w:br and w:cr as line breaks,
// table cells joined by " | " and rows on their own lines. Deleted
// revisions and field codes are left out. It also returns the first
// paragraph in the Title style. At most budget bytes of text are read.
func (e *extraction) wordText(name string, r io.Reader, budget int) (text, styledTitle string, err error) {
	var (
		b            strings.Builder
		para         strings.Builder
		styleTitle   bool
		cellDepth    int
		cellsInRow   []int // per open table: cells written in the current row
		inText       bool
		tokens       int
		skipDepth    int // inside w:del, w:instrText...
		paraHasStyle bool
	)
	endPara := func() {
		text := para.String()
		para.Reset()
		if styleTitle && styledTitle == "" {
			styledTitle = strings.TrimSpace(text)
		}
		styleTitle, paraHasStyle = false, false
		if cellDepth > 0 {
			// A paragraph inside a table cell: keep the cell on one line.
			if t := strings.TrimSpace(text); t != "" {
				if b.Len() > 0 && !strings.HasSuffix(b.String(), " | ") && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte(' ')
				}
				b.WriteString(t)
			}
			return
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	dec := xml.NewDecoder(r)
	dec.Strict = false
	for {
		if tokens++; tokens%4096 == 0 && e.ctx.Err() != nil {
			return "", "", e.ctx.Err()
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrInvalid) { // the size limit
			return "", "", err
		}
		if err != nil {
			return "", "", invalid("%s is not valid XML: %v", name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != nsWord && t.Name.Space != nsWordStrict {
				continue
			}
			if skipDepth > 0 {
				skipDepth++
				continue
			}
			switch t.Name.Local {
			case "del", "instrText", "delText":
				skipDepth = 1
			case "t":
				inText = true
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			case "pStyle":
				if !paraHasStyle {
					paraHasStyle = true
					styleTitle = attrValue(t, "val") == "Title"
				}
			case "tbl":
				cellsInRow = append(cellsInRow, 0)
			case "tr":
				if n := len(cellsInRow); n > 0 {
					cellsInRow[n-1] = 0
				}
			case "tc":
				if n := len(cellsInRow); n > 0 {
					if cellsInRow[n-1] > 0 {
						b.WriteString(" | ")
					}
					cellsInRow[n-1]++
				}
				cellDepth++
			}
		case xml.EndElement:
			if t.Name.Space != nsWord && t.Name.Space != nsWordStrict {
				continue
			}
			if skipDepth > 0 {
				skipDepth--
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				endPara()
			case "tc":
				cellDepth = max(cellDepth-1, 0)
			case "tr":
				b.WriteByte('\n')
			case "tbl":
				if n := len(cellsInRow); n > 0 {
					cellsInRow = cellsInRow[:n-1]
				}
				b.WriteByte('\n')
			}
		case xml.CharData:
			if inText && skipDepth == 0 {
				para.Write(t)
				if para.Len()+b.Len() > budget {
					return "", "", invalid("the file holds more than %d bytes of text; split it into smaller files", e.opts.MaxTextBytes)
				}
			}
		}
	}
	if para.Len() > 0 {
		endPara()
	}
	return b.String(), styledTitle, nil
}

// pptx extracts the slides in order (ppt/slides/slideN.xml), each a
// paragraph per a:p, slides separated by blank lines.
func (e *extraction) pptx(data []byte) (*Document, error) {
	zr, err := officeZip(data, "pptx")
	if err != nil {
		return nil, err
	}
	type slide struct {
		n    int
		name string
	}
	var slides []slide
	for _, f := range zr.File {
		dir, file := path.Split(f.Name)
		if dir != "ppt/slides/" || !strings.HasPrefix(file, "slide") || !strings.HasSuffix(file, ".xml") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(file, "slide"), ".xml")); err == nil {
			slides = append(slides, slide{n, f.Name})
		}
	}
	if len(slides) == 0 {
		return nil, invalid("the pptx package has no slides")
	}
	sort.Slice(slides, func(i, j int) bool { return slides[i].n < slides[j].n })
	var b strings.Builder
	for _, s := range slides {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		body, _, err := openZipFile(zr, s.name, e.xmlLimit())
		if err != nil {
			return nil, err
		}
		text, err := drawingText(body)
		body.Close()
		if errors.Is(err, ErrInvalid) {
			return nil, err
		}
		if err != nil {
			return nil, invalid("%s is not valid XML: %v", s.name, err)
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		b.WriteString(text)
		b.WriteString("\n")
		if b.Len() > e.opts.MaxTextBytes {
			return nil, invalid("the file holds more than %d bytes of text; split it into smaller files", e.opts.MaxTextBytes)
		}
	}
	title, err := coreTitle(zr)
	if err != nil {
		return nil, err
	}
	return &Document{Text: b.String(), Title: title}, nil
}

// drawingText is the text of DrawingML: a:t runs, a line per a:p, table
// cells (a:tc) joined by " | " with a line per row.
func drawingText(body io.Reader) (string, error) {
	var b strings.Builder
	dec := xml.NewDecoder(body)
	dec.Strict = false
	inText := false
	cells := 0 // open table cells
	var rowCells []int
	pendingSpace := false // a paragraph ended inside a cell
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != nsDrawing && t.Name.Space != nsDrawingStrict {
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = true
			case "br":
				if cells == 0 {
					b.WriteByte('\n')
				} else {
					b.WriteByte(' ')
				}
			case "tr":
				rowCells = append(rowCells, 0)
			case "tc":
				pendingSpace = false
				if n := len(rowCells); n > 0 {
					if rowCells[n-1] > 0 {
						b.WriteString(" | ")
					}
					rowCells[n-1]++
				}
				cells++
			}
		case xml.EndElement:
			if t.Name.Space != nsDrawing && t.Name.Space != nsDrawingStrict {
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				if cells == 0 {
					b.WriteByte('\n')
				} else {
					pendingSpace = true
				}
			case "tc":
				cells = max(cells-1, 0)
			case "tr":
				if n := len(rowCells); n > 0 {
					rowCells = rowCells[:n-1]
				}
				b.WriteByte('\n')
				pendingSpace = false
			}
		case xml.CharData:
			if inText && len(t) > 0 {
				if pendingSpace && cells > 0 {
					if s := b.String(); s != "" && !strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\n") {
						b.WriteByte(' ')
					}
				}
				pendingSpace = false
				b.Write(t)
			}
		}
	}
}

// coreTitle is dc:title from docProps/core.xml, "" if there is none.
func coreTitle(zr *zip.Reader) (string, error) {
	body, ok, err := readZipFile(zr, "docProps/core.xml", 1<<20)
	if err != nil || !ok {
		return "", nil // a missing or odd core.xml loses the title only
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = false
	in := false
	var title strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return strings.TrimSpace(title.String()), nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Space == nsDC && t.Name.Local == "title"
		case xml.EndElement:
			if in {
				return strings.TrimSpace(title.String()), nil
			}
		case xml.CharData:
			if in {
				title.Write(t)
			}
		}
	}
}

func attrValue(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
