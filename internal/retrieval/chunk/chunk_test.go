package chunk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

func TestStrategyValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Strategy
		ok   bool
	}{
		{"auto", Auto(), true},
		{"smallest", Strategy{100, 50}, true},
		{"largest", Strategy{4096, 2048}, true},
		{"no overlap", Strategy{800, 0}, true},
		{"too small", Strategy{99, 0}, false},
		{"too large", Strategy{4097, 0}, false},
		{"overlap over half", Strategy{800, 401}, false},
		{"negative overlap", Strategy{800, -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.s, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidStrategy) {
				t.Fatalf("error %v does not wrap ErrInvalidStrategy", err)
			}
			if _, err := New(tt.s, ""); (err == nil) != tt.ok {
				t.Fatalf("New(%+v) = %v, want ok=%v", tt.s, err, tt.ok)
			}
		})
	}
	if s := Auto(); s.MaxChunkSizeTokens != 800 || s.ChunkOverlapTokens != 400 {
		t.Fatalf("Auto() = %+v, want 800/400", s)
	}
}

func TestUnknownEncoding(t *testing.T) {
	if _, err := New(Auto(), "no_such_encoding"); err == nil {
		t.Fatal("New with an unknown encoding succeeded")
	}
}

// prose builds a deterministic text of n sentences in paragraphs.
func prose(seed uint64, n int) string {
	words := strings.Fields("the vector store keeps chunks of every file so that search finds " +
		"relevant passages quickly while embeddings capture meaning and keywords capture exact " +
		"terms like invoice numbers dates names retrieval augmented generation grounding citations")
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for i := range n {
		k := 6 + r.IntN(14)
		for j := range k {
			w := words[r.IntN(len(words))]
			if j == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if j < k-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
		if i%7 == 6 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// check asserts what every chunking must hold and returns the chunks.
func check(t *testing.T, c *Chunker, text string) []Chunk {
	t.Helper()
	chunks, err := c.Chunk(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	max := c.Strategy().MaxChunkSizeTokens
	for i, ch := range chunks {
		if ch.Index != i {
			t.Fatalf("chunk %d has Index %d", i, ch.Index)
		}
		if ch.Start < 0 || ch.End > len(text) || ch.Start >= ch.End || text[ch.Start:ch.End] != ch.Text {
			t.Fatalf("chunk %d: Text is not text[%d:%d]", i, ch.Start, ch.End)
		}
		if !utf8.ValidString(ch.Text) {
			t.Fatalf("chunk %d is not valid UTF-8", i)
		}
		n, err := c.Count(ch.Text)
		if err != nil {
			t.Fatal(err)
		}
		if n != ch.Tokens {
			t.Fatalf("chunk %d: Tokens = %d, the text counts %d", i, ch.Tokens, n)
		}
		if n > max {
			t.Fatalf("chunk %d has %d tokens, more than %d", i, n, max)
		}
		if strings.TrimSpace(ch.Text) != ch.Text {
			t.Fatalf("chunk %d has leading or trailing white space", i)
		}
		if i > 0 && ch.Start <= chunks[i-1].Start {
			t.Fatalf("chunk %d starts at %d, not after chunk %d (%d)", i, ch.Start, i-1, chunks[i-1].Start)
		}
	}
	// The chunks cover the text: no gap between consecutive chunks other
	// than white space.
	if trimmed := strings.TrimSpace(text); trimmed != "" {
		if len(chunks) == 0 {
			t.Fatal("no chunks for a non-blank text")
		}
		if strings.TrimSpace(text[:chunks[0].Start]) != "" || strings.TrimSpace(text[chunks[len(chunks)-1].End:]) != "" {
			t.Fatal("the chunks miss the beginning or the end of the text")
		}
		for i := 1; i < len(chunks); i++ {
			if gap := chunks[i].Start - chunks[i-1].End; gap > 0 && strings.TrimSpace(text[chunks[i-1].End:chunks[i].Start]) != "" {
				t.Fatalf("text between chunks %d and %d is lost: %q", i-1, i, text[chunks[i-1].End:chunks[i].Start])
			}
		}
	}
	return chunks
}

func TestSmallDocumentIsOneChunk(t *testing.T) {
	c, err := New(Auto(), "")
	if err != nil {
		t.Fatal(err)
	}
	text := "  \n" + prose(1, 20) + "\n\n "
	n, _ := c.Count(strings.TrimSpace(text))
	if n > 800 || n < 100 {
		t.Fatalf("test text has %d tokens, want 100..800", n)
	}
	chunks := check(t, c, text)
	if len(chunks) != 1 || chunks[0].Text != strings.TrimSpace(text) || chunks[0].Tokens != n {
		t.Fatalf("got %d chunks (%+v), want the whole trimmed text as one of %d tokens", len(chunks), chunks, n)
	}
}

func TestBlankText(t *testing.T) {
	c, err := New(Auto(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", " ", "\n\t \n"} {
		chunks, err := c.Chunk(context.Background(), s)
		if err != nil || len(chunks) != 0 {
			t.Fatalf("Chunk(%q) = %v, %v; want no chunks", s, chunks, err)
		}
	}
}

func TestLongDocument(t *testing.T) {
	text := prose(2, 900)
	for _, s := range []Strategy{Auto(), {100, 50}, {100, 0}, {300, 37}, {4096, 2048}} {
		t.Run(fmt.Sprintf("%d_%d", s.MaxChunkSizeTokens, s.ChunkOverlapTokens), func(t *testing.T) {
			c, err := New(s, "")
			if err != nil {
				t.Fatal(err)
			}
			total, _ := c.Count(text)
			chunks := check(t, c, text)
			if total > s.MaxChunkSizeTokens && len(chunks) < 2 {
				t.Fatalf("%d tokens gave %d chunks", total, len(chunks))
			}
			for i, ch := range chunks {
				// Prose has a boundary in every half window: no word is split.
				if ch.Start > 0 && !isSpaceBefore(text, ch.Start) {
					t.Fatalf("chunk %d starts mid-word: %q", i, text[max(0, ch.Start-10):ch.Start+10])
				}
				if ch.End < len(text) && !isSpaceAt(text, ch.End) {
					t.Fatalf("chunk %d ends mid-word: %q", i, text[ch.End-10:min(len(text), ch.End+10)])
				}
				// Full windows are not much shorter than the maximum: cuts
				// only move back within the second half.
				if i < len(chunks)-1 && ch.Tokens < s.MaxChunkSizeTokens/2 {
					t.Fatalf("chunk %d has only %d tokens", i, ch.Tokens)
				}
				if i == 0 {
					continue
				}
				prev := chunks[i-1]
				shared := 0
				if ch.Start < prev.End {
					shared, _ = c.Count(text[ch.Start:prev.End])
				}
				// The overlap is the requested one, give or take the few
				// tokens moved to reach a word boundary.
				if d := shared - s.ChunkOverlapTokens; d > 2 || d < -20 {
					t.Fatalf("chunks %d and %d share %d tokens, want about %d", i-1, i, shared, s.ChunkOverlapTokens)
				}
			}
		})
	}
}

func isSpaceBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

func TestTextWithoutSpaces(t *testing.T) {
	// CJK, emoji and one endless "word": no boundaries to prefer, the
	// cuts must still keep characters whole and the windows within max.
	texts := map[string]string{
		"cjk":   strings.Repeat("検索拡張生成は文書の断片を埋め込みで探します。", 300),
		"emoji": strings.Repeat("🙂👍🏽🚀", 700),
		"word":  strings.Repeat("abcdefghij", 2000),
		"mixed": strings.Repeat("naïve café Zürich – ok; ", 400),
	}
	c, err := New(Strategy{100, 50}, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			if chunks := check(t, c, text); len(chunks) < 3 {
				t.Fatalf("got %d chunks", len(chunks))
			}
		})
	}
}

func TestO200k(t *testing.T) {
	c, err := New(Strategy{200, 20}, "o200k_base")
	if err != nil {
		t.Fatal(err)
	}
	check(t, c, prose(3, 300))
}

func TestContextCancelled(t *testing.T) {
	c, err := New(Strategy{100, 0}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Chunk(ctx, prose(4, 500)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	c, err := New(Strategy{200, 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Chunk(context.Background(), prose(5, 200))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := c.Chunk(context.Background(), prose(5, 200))
			if err == nil && (len(got) != len(want) || got[len(got)-1] != want[len(want)-1]) {
				err = errors.New("concurrent chunking differs")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// abstracts are 5,000 texts of about 300 tokens each.
func abstracts() []string {
	out := make([]string, 5000)
	for i := range out {
		out[i] = prose(uint64(i), 22)
	}
	return out
}

func BenchmarkChunk5000Abstracts(b *testing.B) {
	b.Run("cl100k_base", func(b *testing.B) { benchAbstracts(b, "cl100k_base") })
	b.Run("o200k_base", func(b *testing.B) { benchAbstracts(b, "o200k_base") })
}

func benchAbstracts(b *testing.B, enc tokenizer.Encoding) {
	c, err := New(Auto(), enc)
	if err != nil {
		b.Fatal(err)
	}
	docs := abstracts()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			if _, err := c.Chunk(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkChunk5000AbstractsCold includes building the Chunker (loading
// the codec) and filling its piece cache from nothing.
func BenchmarkChunk5000AbstractsCold(b *testing.B) {
	docs := abstracts()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := New(Auto(), "")
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range docs {
			if _, err := c.Chunk(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChunkLongDocument(b *testing.B) {
	c, err := New(Auto(), "")
	if err != nil {
		b.Fatal(err)
	}
	doc := prose(9, 20000) // about 300k tokens
	b.SetBytes(int64(len(doc)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Chunk(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzChunk(f *testing.F) {
	f.Add(prose(1, 60))
	f.Add(strings.Repeat("🙂 x", 300))
	f.Add(strings.Repeat("\n\n\t  ", 200) + prose(2, 40))
	c, err := New(Strategy{100, 50}, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			if _, err := c.Chunk(context.Background(), text); !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("invalid UTF-8: err = %v", err)
			}
			return
		}
		check(t, c, text)
	})
}
