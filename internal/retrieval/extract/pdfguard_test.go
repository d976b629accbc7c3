package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// writePDF writes objects 1..n (their bodies, streams included) with a
// classic cross-reference table; "{xref}" in trailer becomes the table's
// offset.
func writePDF(objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	trailer = strings.ReplaceAll(trailer, "{xref}", fmt.Sprint(xref))
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}

// xrefEntry is one entry of a cross-reference stream: type 1 (offset of
// object obj) or type 2 (in object stream f2 at index f3).
type xrefEntry struct {
	typ    byte
	f2, f3 int
}

// writeXrefStreamPDF writes objects 1..n and, as object n+1, a
// cross-reference stream whose entries entries() gives from the objects'
// offsets; dict adds keys to the stream's dictionary. The stream is
// compressed with the PNG Up predictor, as writers do.
func writeXrefStreamPDF(objs []string, dict string, entries func(offs []int, self int) []xrefEntry) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	self := b.Len()
	var rows []byte
	prev := make([]byte, 7)
	for _, e := range entries(offs, self) {
		row := []byte{e.typ, byte(e.f2 >> 24), byte(e.f2 >> 16), byte(e.f2 >> 8), byte(e.f2), byte(e.f3 >> 8), byte(e.f3)}
		rows = append(rows, 2) // Up
		for i := range row {
			rows = append(rows, row[i]-prev[i])
		}
		prev = row
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(rows)
	zw.Close()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /W [1 4 2] /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length %d %s >>\nstream\n",
		len(objs)+1, z.Len(), strings.ReplaceAll(dict, "{self}", fmt.Sprint(self)))
	b.Write(z.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", self)
	return b.Bytes()
}

// extractWithin runs Extract and fails the test if it does not return in
// time: these files made the parser loop forever or crash the process.
func extractWithin(t *testing.T, data []byte, limit time.Duration) (*Document, error) {
	t.Helper()
	type result struct {
		doc *Document
		err error
	}
	done := make(chan result, 1)
	go func() {
		doc, err := Extract(context.Background(), "hostile.pdf", data)
		done <- result{doc, err}
	}()
	select {
	case r := <-done:
		return r.doc, r.err
	case <-time.After(limit):
		t.Fatal("Extract did not return")
		return nil, nil
	}
}

func TestHostilePDFStructure(t *testing.T) {
	font := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
	content := "<< /Length 36 >>\nstream\nBT /F1 12 Tf 72 700 Td (Hello) Tj ET\nendstream"
	page := "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
	objs := func(pages, pg string) []string {
		return []string{"<< /Type /Catalog /Pages 2 0 R >>", pages, font, content, pg}
	}
	tests := []struct {
		name     string
		data     []byte
		contains string // "" when the file may be read: it just must not hang
	}{
		{"prev loop", writePDF(objs("<< /Type /Pages /Kids [5 0 R] /Count 1 >>", page), "/Root 1 0 R /Prev {xref}"), "loop"},
		{"xrefstm loop", writePDF(objs("<< /Type /Pages /Kids [5 0 R] /Count 1 >>", page), "/Root 1 0 R /XRefStm {xref}"), "loop"},
		{"huge table", []byte(strings.Replace(string(writePDF(objs("<< /Type /Pages /Kids [5 0 R] /Count 1 >>", page), "/Root 1 0 R")),
			"trailer\n", "2000000000 1\n0000000000 65535 f \ntrailer\n", 1)), "more than the limit"},
		{"kids loop", writePDF(objs("<< /Type /Pages /Kids [2 0 R 5 0 R 2 0 R] /Count 9 >>", page), "/Root 1 0 R"), ""},
		{"parent loop", writePDF(objs("<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 5 0 R /Contents 4 0 R >>"), "/Root 1 0 R"), ""},
		{"object stream in itself", writeXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>"}, "/Size 5 /Root 1 0 R",
			func(offs []int, self int) []xrefEntry {
				return []xrefEntry{{0, 0, 65535}, {1, offs[0], 0}, {2, 4, 0}, {1, self, 0}, {2, 4, 1}}
			}), "inside an object stream"},
		{"extends loop", writeXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>",
			"<< /Type /ObjStm /N 0 /First 1 /Extends 3 0 R /Length 1 >>\nstream\n \nendstream"}, "/Size 6 /Root 1 0 R",
			func(offs []int, self int) []xrefEntry {
				return []xrefEntry{{0, 0, 65535}, {1, offs[0], 0}, {1, offs[1], 0}, {1, offs[2], 0}, {1, self, 0}, {2, 3, 0}}
			}), "loop"},
		{"huge size", writeXrefStreamPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>"}, "/Size 2000000000 /Root 1 0 R",
			func(offs []int, self int) []xrefEntry { return []xrefEntry{{0, 0, 65535}, {1, offs[0], 0}} }), "more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := extractWithin(t, tt.data, 10*time.Second)
			if tt.contains == "" {
				if err != nil && !errors.Is(err, ErrInvalid) {
					t.Fatalf("unclassified error %v", err)
				}
				if err == nil && doc.Text != "Hello" {
					t.Fatalf("text %q, want the page once", doc.Text)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("err = %v, want invalid_file saying %q", err, tt.contains)
			}
		})
	}
}

func TestHugePageIsBounded(t *testing.T) {
	// One string of more glyphs than a page may keep: they stop at the
	// bound. (Slow under the race detector, hence the generous time.)
	content := "BT /F1 12 Tf 72 700 Td (" + strings.Repeat("ab ", maxPageGlyphs*6/10) + ") Tj ET"
	data := buildPDF(t, "", pdfPage{content: content, compress: true})
	doc, err := extractWithin(t, data, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(doc.Text, "ab"); n < maxPageGlyphs/3 || n > maxPageGlyphs/2+1 {
		t.Fatalf("%d words kept", n)
	}
}

// TestXrefStreamPDF reads a well-formed PDF whose objects are indexed by a
// compressed cross-reference stream, as PDF 1.5+ writers make them: the
// guard must let it through.
func TestXrefStreamPDF(t *testing.T) {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 700 Td (Hello stream) Tj ET\nendstream",
	}
	data := writeXrefStreamPDF(objs, "/Size 7 /Root 1 0 R", func(offs []int, self int) []xrefEntry {
		e := []xrefEntry{{0, 0, 65535}}
		for _, o := range offs {
			e = append(e, xrefEntry{1, o, 0})
		}
		return append(e, xrefEntry{1, self, 0})
	})
	if err := checkXref(data); err != nil {
		t.Fatal(err)
	}
	if doc := mustExtract(t, "ok.pdf", data); doc.Text != "Hello stream" {
		t.Fatalf("text %q", doc.Text)
	}
}

func TestUnpredictPNG(t *testing.T) {
	rows := [][]byte{{1, 2, 3}, {4, 6, 8}, {4, 6, 8}}
	var enc []byte
	prev := make([]byte, 3)
	for i, r := range rows {
		ft := byte(i % 3) // None, Sub, Up
		enc = append(enc, ft)
		for j := range r {
			switch ft {
			case 0:
				enc = append(enc, r[j])
			case 1:
				var left byte
				if j > 0 {
					left = r[j-1]
				}
				enc = append(enc, r[j]-left)
			case 2:
				enc = append(enc, r[j]-prev[j])
			}
		}
		prev = r
	}
	if got := unpredictPNG(enc, 3); !bytes.Equal(got, bytes.Join(rows, nil)) {
		t.Fatalf("got %v", got)
	}
}
