package extract

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests below have real writers make the files (groff, Ghostscript,
// Chromium, pandoc) when the machine has them, and skip otherwise: their
// output is what users upload, with subset fonts, kerning, justified
// spacing and two-byte encodings that hand-made files do not have.

const writerSentences = "Vector stores keep chunks of every file so that search finds relevant passages quickly. " +
	"Embeddings capture meaning while keywords capture exact terms like invoice numbers, dates and names. " +
	"The second paragraph has enough words to wrap across several lines so that the spaces between the words are stretched."

// normalized collapses white space, so that the line breaks a writer
// chose do not matter.
func normalized(s string) string { return strings.Join(strings.Fields(s), " ") }

func runTool(t *testing.T, dir string, stdin string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		// The tool is there but does not work here (no display, no
		// fonts...): that says nothing of the extraction.
		t.Skipf("%s does not run here: %v", name, err)
	}
	return out
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

func checkWriterText(t *testing.T, doc *Document) {
	t.Helper()
	got := normalized(doc.Text)
	for _, s := range strings.SplitAfter(writerSentences, ". ") {
		if s = strings.TrimSpace(s); !strings.Contains(got, s) {
			t.Fatalf("sentence %q missing from:\n%s", s, doc.Text)
		}
	}
}

func groffSource() string {
	half := strings.Index(writerSentences, "The second")
	return ".TL\nWriters Test\n.PP\n" + writerSentences[:half] + "\n.PP\n" + writerSentences[half:] + "\n"
}

func TestGroffPDF(t *testing.T) {
	need(t, "groff")
	pdf := runTool(t, t.TempDir(), groffSource(), "groff", "-ms", "-Tpdf")
	checkWriterText(t, mustExtract(t, "groff.pdf", pdf))
}

func TestGhostscriptPDF(t *testing.T) {
	need(t, "groff", "ps2pdf")
	dir := t.TempDir()
	ps := runTool(t, dir, groffSource(), "groff", "-ms", "-Tps")
	pdf := runTool(t, dir, string(ps), "ps2pdf", "-", "-")
	checkWriterText(t, mustExtract(t, "gs.pdf", pdf))
}

func TestChromiumPDF(t *testing.T) {
	need(t, "chromium")
	dir := t.TempDir()
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Chromium Writers Test</title>
<style>body{font-size:12pt;text-align:justify;width:14cm}</style></head><body>
<p>` + strings.Replace(writerSentences, "The second", "</p><p>The second", 1) + `</p>
<table border="1"><tr><th>Region</th><th>Sales</th></tr><tr><td>North</td><td>1,200</td></tr></table>
<p>Café crème, naïve — “quoted”; 检索增强生成; Ελληνικά; Русский.</p></body></html>`
	if err := os.WriteFile(filepath.Join(dir, "p.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.pdf")
	runTool(t, dir, "", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--print-to-pdf="+out, "file://"+filepath.Join(dir, "p.html"))
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := mustExtract(t, "chromium.pdf", pdf)
	checkWriterText(t, doc)
	for _, want := range []string{"Region Sales", "North 1,200", "Café crème, naïve — “quoted”; 检索增强生成; Ελληνικά; Русский."} {
		if !strings.Contains(normalized(doc.Text), want) {
			t.Fatalf("%q missing from:\n%s", want, doc.Text)
		}
	}
	if doc.Title != "Chromium Writers Test" {
		t.Fatalf("title %q", doc.Title)
	}
}

func TestPandoc(t *testing.T) {
	need(t, "pandoc")
	src := "---\ntitle: Pandoc Writers Test\n---\n\n# Introduction\n\n" + writerSentences +
		"\n\n| Region | Sales |\n|--------|-------|\n| North  | 1,200 |\n| South  | 980   |\n\n- first item\n- second item\n\nCafé crème — “quoted”.\n"
	for _, format := range []string{"docx", "pptx", "html"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out."+format)
			runTool(t, dir, src, "pandoc", "-f", "markdown", "-s", "-o", out)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			doc := mustExtract(t, "out."+format, data)
			if doc.Kind != format || doc.Title != "Pandoc Writers Test" {
				t.Fatalf("kind %q title %q", doc.Kind, doc.Title)
			}
			checkWriterText(t, doc)
			for _, want := range []string{"Introduction", "Region | Sales\nNorth | 1,200\nSouth | 980", "first item\nsecond item", "Café crème — “quoted”."} {
				if !strings.Contains(doc.Text, want) {
					t.Fatalf("%q missing from:\n%s", want, doc.Text)
				}
			}
			if strings.Contains(doc.Text, "\n\n\n") {
				t.Fatalf("more than one blank line in a row:\n%q", doc.Text)
			}
		})
	}
}
