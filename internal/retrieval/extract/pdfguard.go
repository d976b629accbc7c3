package extract

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"

	"github.com/ledongthuc/pdf"
)

// The PDF parser trusts the cross-reference structure of a file: a /Prev
// chain that loops makes it loop forever, an object stream stored in
// itself makes it recurse until the process dies, and a huge /Size makes
// it allocate without bound. Panics can be recovered; these cannot. So
// before the parser sees a file, checkXref walks the same structure with
// bounds and refuses the files that would do that.

// maxXrefObjects bounds the objects a file may declare (about 128 MB of
// parser tables); real documents stay far below.
const maxXrefObjects = 1 << 22

var (
	reStartxref = regexp.MustCompile(`startxref\s+(\d+)`)
	rePrev      = regexp.MustCompile(`/Prev\s+(\d+)`)
	reXRefStm   = regexp.MustCompile(`/XRefStm\s+(\d+)`)
	reSize      = regexp.MustCompile(`/Size\s+(\d+)`)
	reW         = regexp.MustCompile(`/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s*\]`)
	reIndex     = regexp.MustCompile(`/Index\s*\[([\d\s]*)\]`)
	reFlate     = regexp.MustCompile(`/Filter\s*(?:\[\s*)?/FlateDecode\s*(?:\]|/|>|\s)`)
	reOtherFilt = regexp.MustCompile(`/Filter\s*(?:\[\s*)?/[A-Za-z0-9]+`)
	rePredictor = regexp.MustCompile(`/Predictor\s+(\d+)`)
	reColumns   = regexp.MustCompile(`/Columns\s+(\d+)`)
	reExtends   = regexp.MustCompile(`/Extends\s+(\d+)\s+\d+\s+R`)
	reObjHeader = regexp.MustCompile(`^\s*\d+\s+\d+\s+obj`)
)

// checkXref refuses a file whose cross-reference sections loop, declare
// too many objects, or nest object streams (directly or through /Extends).
// What it cannot read it leaves to the parser, which fails cleanly on it.
func checkXref(data []byte) error {
	tail := data[max(0, len(data)-2048):]
	ms := reStartxref.FindAllSubmatch(tail, -1)
	if len(ms) == 0 {
		return nil
	}
	start, err := strconv.ParseInt(string(ms[len(ms)-1][1]), 10, 64)
	if err != nil {
		return nil
	}
	limit := int64(min(maxXrefObjects, 10*len(data)+1024))
	inStream := map[int64]int64{} // object -> the object stream holding it
	offsets := map[int64]int64{}  // object -> file offset
	seen := map[int64]bool{}
	queue := []int64{start}
	for len(queue) > 0 {
		off := queue[0]
		queue = queue[1:]
		if seen[off] {
			return invalid("the PDF's cross-reference sections loop")
		}
		seen[off] = true
		if len(seen) > 4096 {
			return invalid("the PDF has too many cross-reference sections")
		}
		if off < 0 || off >= int64(len(data)) {
			continue
		}
		sec := data[off:]
		var dict []byte
		if bytes.HasPrefix(bytes.TrimLeft(sec, " \t\r\n\f\x00"), []byte("xref")) {
			d, err := checkXrefTable(sec, limit)
			if err != nil {
				return err
			}
			dict = d
		} else if reObjHeader.Match(sec[:min(len(sec), 64)]) {
			d, err := checkXrefStream(sec, limit, inStream, offsets)
			if err != nil {
				return err
			}
			dict = d
		}
		for _, re := range []*regexp.Regexp{rePrev, reXRefStm} {
			if m := re.FindSubmatch(dict); m != nil {
				if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil {
					queue = append(queue, n)
				}
			}
		}
	}
	for obj, stm := range inStream {
		if _, nested := inStream[stm]; nested {
			return invalid("the PDF stores object stream %d (holding object %d) inside an object stream", stm, obj)
		}
	}
	// /Extends chains of the object streams must end.
	checked := map[int64]bool{}
	for _, stm := range inStream {
		if checked[stm] {
			continue
		}
		chain := map[int64]bool{}
		for cur := stm; ; {
			if chain[cur] {
				return invalid("the PDF's object streams extend each other in a loop")
			}
			chain[cur] = true
			checked[cur] = true
			off, ok := offsets[cur]
			if !ok || off < 0 || off >= int64(len(data)) {
				break
			}
			m := reExtends.FindSubmatch(streamDict(data[off:]))
			if m == nil {
				break
			}
			next, err := strconv.ParseInt(string(m[1]), 10, 64)
			if err != nil {
				break
			}
			if _, nested := inStream[next]; nested {
				return invalid("the PDF's object stream %d extends a compressed object", cur)
			}
			cur = next
		}
	}
	return nil
}

// streamDict is the text from an object's start to its "stream" keyword
// (or the first 64 KiB when there is none).
func streamDict(sec []byte) []byte {
	w := sec[:min(len(sec), 64<<10)]
	if i := bytes.Index(w, []byte("stream")); i >= 0 {
		return w[:i]
	}
	return w
}

// checkXrefTable reads the subsection headers of a classic table and
// returns its trailer dictionary.
func checkXrefTable(sec []byte, limit int64) ([]byte, error) {
	s := &scanner{b: sec}
	s.token() // "xref"
	for {
		tok := s.token()
		if tok == nil || string(tok) == "trailer" {
			break
		}
		first, err1 := strconv.ParseInt(string(tok), 10, 64)
		count, err2 := strconv.ParseInt(string(s.token()), 10, 64)
		if err1 != nil || err2 != nil {
			return nil, nil // the parser reports the damage
		}
		if first < 0 || count < 0 || first+count > limit {
			return nil, invalid("the PDF declares %d objects, more than the limit of %d", first+count, limit)
		}
		for range 3 * count {
			if s.token() == nil {
				return nil, nil
			}
		}
	}
	rest := sec[s.pos:]
	return rest[:min(len(rest), 64<<10)], nil
}

// checkXrefStream reads a cross-reference stream: its size, and which
// objects it says are in object streams and where the others are.
func checkXrefStream(sec []byte, limit int64, inStream, offsets map[int64]int64) ([]byte, error) {
	dict := streamDict(sec)
	if m := reSize.FindSubmatch(dict); m != nil {
		if n, err := strconv.ParseInt(string(m[1]), 10, 64); err != nil || n > limit {
			return nil, invalid("the PDF declares %s objects, more than the limit of %d", m[1], limit)
		}
	}
	w := reW.FindSubmatch(dict)
	if w == nil {
		return dict, nil
	}
	var widths [3]int
	total := 0
	for i := range 3 {
		n, err := strconv.Atoi(string(w[i+1]))
		if err != nil || n > 8 {
			return dict, nil
		}
		widths[i] = n
		total += n
	}
	if total == 0 {
		return dict, nil
	}
	raw, ok := streamData(sec, len(dict))
	if !ok {
		return dict, nil
	}
	switch {
	case reFlate.Match(dict):
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return dict, nil
		}
		raw, _ = io.ReadAll(io.LimitReader(zr, 64<<20)) // a truncated stream still yields its start
	case reOtherFilt.Match(dict):
		return dict, nil // not a filter seen on cross-reference streams: the parser decides
	}
	if m := rePredictor.FindSubmatch(dict); m != nil {
		if p, _ := strconv.Atoi(string(m[1])); p >= 10 {
			cols := 1
			if c := reColumns.FindSubmatch(dict); c != nil {
				cols, _ = strconv.Atoi(string(c[1]))
			}
			if cols != total {
				return dict, nil
			}
			raw = unpredictPNG(raw, cols)
		}
	}
	// The entries' object numbers come from /Index (default 0 up).
	var ranges []int64
	if m := reIndex.FindSubmatch(dict); m != nil {
		for _, f := range bytes.Fields(m[1]) {
			n, err := strconv.ParseInt(string(f), 10, 64)
			if err != nil {
				return dict, nil
			}
			ranges = append(ranges, n)
		}
	} else {
		ranges = []int64{0, int64(len(raw) / total)}
	}
	pos := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] < 0 || ranges[i+1] < 0 || ranges[i]+ranges[i+1] > limit {
			return nil, invalid("the PDF declares objects beyond the limit of %d", limit)
		}
		for obj := ranges[i]; obj < ranges[i]+ranges[i+1] && pos+total <= len(raw); obj++ {
			typ := int64(1) // the default when the type field is absent
			if widths[0] > 0 {
				typ = field(raw[pos : pos+widths[0]])
			}
			f2 := field(raw[pos+widths[0] : pos+widths[0]+widths[1]])
			pos += total
			switch typ {
			case 1:
				if _, ok := offsets[obj]; !ok {
					offsets[obj] = f2
				}
			case 2:
				inStream[obj] = f2
			}
		}
	}
	return dict, nil
}

// streamData is the data of the stream whose dictionary ends at dictEnd.
func streamData(sec []byte, dictEnd int) ([]byte, bool) {
	rest := sec[dictEnd:]
	if !bytes.HasPrefix(rest, []byte("stream")) {
		return nil, false
	}
	rest = rest[len("stream"):]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		rest = rest[2:]
	case bytes.HasPrefix(rest, []byte("\n")), bytes.HasPrefix(rest, []byte("\r")):
		rest = rest[1:]
	}
	if i := bytes.Index(rest, []byte("endstream")); i >= 0 {
		return rest[:i], true
	}
	return rest, true
}

func field(b []byte) int64 {
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

// unpredictPNG undoes the PNG row filters (PDF predictors 10-15) on rows
// of cols bytes, each led by its filter type byte.
func unpredictPNG(raw []byte, cols int) []byte {
	if cols <= 0 {
		return nil
	}
	out := make([]byte, 0, len(raw))
	prev := make([]byte, cols)
	for len(raw) >= cols+1 {
		ft, row := raw[0], bytes.Clone(raw[1:cols+1])
		raw = raw[cols+1:]
		for i := range row {
			var left, up, upLeft byte
			if i > 0 {
				left, upLeft = row[i-1], prev[i-1]
			}
			up = prev[i]
			switch ft {
			case 1:
				row[i] += left
			case 2:
				row[i] += up
			case 3:
				row[i] += byte((int(left) + int(up)) / 2)
			case 4:
				row[i] += paeth(left, up, upLeft)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// scanner splits PDF text into white-space separated tokens.
type scanner struct {
	b   []byte
	pos int
}

func (s *scanner) token() []byte {
	for s.pos < len(s.b) && isPDFSpace(s.b[s.pos]) {
		s.pos++
	}
	start := s.pos
	for s.pos < len(s.b) && !isPDFSpace(s.b[s.pos]) {
		s.pos++
	}
	if start == s.pos {
		return nil
	}
	return s.b[start:s.pos]
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// Page tree and inherited attributes, walked with bounds: a Kids or Parent
// loop would otherwise spin forever.

const (
	maxPageTreeNodes = 1 << 17
	maxPageTreeDepth = 64
)

// pdfPages returns the pages of the document in order.
func pdfPages(r *pdf.Reader) []pdf.Page {
	var pages []pdf.Page
	nodes := 0
	// A node is known by its printed dictionary, which names its kids and
	// parent by reference: the parser keeps no object identity. Two pages
	// printing alike would show the same text anyway.
	seen := map[string]bool{}
	var walk func(v pdf.Value, depth int)
	walk = func(v pdf.Value, depth int) {
		if nodes++; nodes > maxPageTreeNodes || depth > maxPageTreeDepth || v.Kind() != pdf.Dict {
			return
		}
		key := v.String()
		if seen[key] {
			return
		}
		seen[key] = true
		kids := v.Key("Kids")
		if v.Key("Type").Name() == "Page" || kids.Kind() != pdf.Array {
			pages = append(pages, pdf.Page{V: v})
			return
		}
		for i := 0; i < kids.Len() && nodes <= maxPageTreeNodes; i++ {
			walk(kids.Index(i), depth+1)
		}
	}
	walk(r.Trailer().Key("Root").Key("Pages"), 0)
	return pages
}

// inherited looks key up in the page and its ancestors.
func inherited(page pdf.Value, key string) pdf.Value {
	v := page
	for range maxPageTreeDepth {
		if v.Kind() != pdf.Dict {
			break
		}
		if r := v.Key(key); !r.IsNull() {
			return r
		}
		v = v.Key("Parent")
	}
	return pdf.Value{}
}
