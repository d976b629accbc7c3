package engine

import (
	"fmt"
	"testing"
)

// TestFilePathAnnotations: each sandbox link to a written file is
// annotated with character (not byte) offsets; the longest known path wins,
// a longer name or an unknown file is not a match, and punctuation ends a
// link.
func TestFilePathAnnotations(t *testing.T) {
	files := map[string]string{"/mnt/data/out.csv": "file-1", "/mnt/data/out.csv.gz": "file-2", "/mnt/data/sub/é.txt": "file-3"}
	cases := []struct {
		text string
		want string // file:start:end per annotation
	}{
		{"[x](sandbox:/mnt/data/out.csv)", "file-1:4:29"},
		{"é sandbox:/mnt/data/out.csv.", "file-1:2:27"},
		{"sandbox:/mnt/data/out.csv.gz and sandbox:/mnt/data/out.csv", "file-2:0:28 file-1:33:58"},
		{"sandbox:/mnt/data/out.csv2 sandbox:/mnt/data/out.csvx sandbox:/mnt/data/other.csv sandbox:/mnt/data/out.csv.bak", ""},
		{"«sandbox:/mnt/data/sub/é.txt»", "file-3:1:28"},
		{"no links here", ""},
	}
	for _, c := range cases {
		got := ""
		for _, a := range filePathAnnotations(c.text, files) {
			if a.Type != "file_path" || a.FilePath == nil || []rune(c.text)[a.StartIndex] != 's' || string([]rune(c.text)[a.StartIndex:a.EndIndex]) != a.Text {
				t.Errorf("%q: bad annotation %+v", c.text, a)
			}
			if got != "" {
				got += " "
			}
			got += fmt.Sprintf("%s:%d:%d", a.FilePath.FileID, a.StartIndex, a.EndIndex)
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
		}
	}
	if a := filePathAnnotations("sandbox:/mnt/data/out.csv", nil); a != nil {
		t.Errorf("no files: %v", a)
	}
}
