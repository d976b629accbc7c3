package extract

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

func jsonValid(b []byte) bool { return json.Valid(b) }

// jsonText is the JSON indented two spaces, keys in their order: readable,
// and the structure stays visible to the model.
func jsonText(text string) (*Document, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(text), "", "  "); err != nil {
		return nil, invalid("the JSON is not valid: %s", jsonError(text, err))
	}
	// A document that is one string is its text.
	var s string
	if json.Unmarshal(buf.Bytes(), &s) == nil {
		return &Document{Text: s}, nil
	}
	return &Document{Text: buf.String()}, nil
}

// jsonLinesText checks every line of JSON Lines and keeps them as they
// are, one record a line.
func jsonLinesText(ctx context.Context, text string) (*Document, error) {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(line)); err != nil {
			return nil, invalid("line %d is not valid JSON: %s", i+1, jsonError(line, err))
		}
		b.Write(buf.Bytes())
		b.WriteByte('\n')
	}
	return &Document{Text: b.String()}, nil
}

// jsonError says where a JSON syntax error is, as line and column.
func jsonError(text string, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && se.Offset <= int64(len(text)) {
		before := text[:se.Offset]
		line := strings.Count(before, "\n") + 1
		col := len(before) - strings.LastIndexByte(before, '\n')
		return err.Error() + " at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
	}
	return err.Error()
}

// csvText renders each row on its own line. When the first row looks like
// a header, every row reads "name: value; name: value", so that a chunk
// cut from the middle of the file still says what its values are;
// otherwise the cells are joined by " | ".
func csvText(ctx context.Context, text string, tabs bool) (*Document, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sniffDelimiter(text, tabs)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	var header []string
	var b strings.Builder
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("the CSV cannot be read: %v", err)
		}
		for i := range rec {
			rec[i] = collapse(rec[i])
		}
		if n == 0 && looksLikeHeader(rec) {
			header = rec
			continue
		}
		if allEmpty(rec) {
			continue
		}
		if header == nil {
			b.WriteString(strings.Join(rec, " | "))
			b.WriteByte('\n')
			continue
		}
		first := true
		for i, v := range rec {
			if v == "" {
				continue
			}
			if !first {
				b.WriteString("; ")
			}
			first = false
			if i < len(header) && header[i] != "" {
				b.WriteString(header[i])
				b.WriteString(": ")
			}
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	if header != nil && b.Len() == 0 { // a header alone is still text
		b.WriteString(strings.Join(header, " | "))
	}
	return &Document{Text: b.String()}, nil
}

// sniffDelimiter picks ',', ';' or tab from the first line, by count.
func sniffDelimiter(text string, tabs bool) rune {
	if tabs {
		return '\t'
	}
	line, _, _ := strings.Cut(text, "\n")
	best, bestN := ',', strings.Count(line, ",")
	for _, d := range []rune{';', '\t', '|'} {
		if n := strings.Count(line, string(d)); n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// looksLikeHeader: every cell is set, none is a number, and no two are
// the same.
func looksLikeHeader(rec []string) bool {
	if len(rec) < 2 {
		return false
	}
	seen := map[string]bool{}
	for _, c := range rec {
		if c == "" || seen[c] {
			return false
		}
		if _, err := strconv.ParseFloat(strings.ReplaceAll(c, ",", ""), 64); err == nil {
			return false
		}
		seen[c] = true
	}
	return true
}

func allEmpty(rec []string) bool {
	for _, c := range rec {
		if c != "" {
			return false
		}
	}
	return true
}
