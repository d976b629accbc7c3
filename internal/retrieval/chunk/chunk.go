// Package chunk cuts extracted text into the token windows that file_search
// indexes, following OpenAI's chunking strategies: "static" (windows of
// max_chunk_size_tokens that overlap by chunk_overlap_tokens) and "auto"
// (static with 800 and 400).
//
// Tokens are counted with a tiktoken encoding (cl100k_base by default).
// Every chunk is a region of the input: its Text is input[Start:End], so a
// citation can point back at the exact bytes.
package chunk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// Limits and defaults of the static strategy, as OpenAI documents them.
const (
	MinChunkSizeTokens     = 100
	MaxChunkSizeTokens     = 4096
	DefaultChunkSizeTokens = 800
	DefaultOverlapTokens   = 400
)

// Strategy is a static chunking strategy.
type Strategy struct {
	// MaxChunkSizeTokens is the largest chunk, 100 to 4096.
	MaxChunkSizeTokens int
	// ChunkOverlapTokens is how many tokens consecutive chunks share, 0 to
	// MaxChunkSizeTokens/2.
	ChunkOverlapTokens int
}

// Auto is the "auto" strategy: static with 800 tokens and an overlap of 400.
func Auto() Strategy {
	return Strategy{MaxChunkSizeTokens: DefaultChunkSizeTokens, ChunkOverlapTokens: DefaultOverlapTokens}
}

// ErrInvalidStrategy is wrapped by the errors of Strategy.Validate.
var ErrInvalidStrategy = errors.New("invalid chunking strategy")

// Validate reports whether s is within OpenAI's limits.
func (s Strategy) Validate() error {
	if s.MaxChunkSizeTokens < MinChunkSizeTokens || s.MaxChunkSizeTokens > MaxChunkSizeTokens {
		return fmt.Errorf("%w: max_chunk_size_tokens must be between %d and %d, got %d",
			ErrInvalidStrategy, MinChunkSizeTokens, MaxChunkSizeTokens, s.MaxChunkSizeTokens)
	}
	if s.ChunkOverlapTokens < 0 {
		return fmt.Errorf("%w: chunk_overlap_tokens must not be negative, got %d", ErrInvalidStrategy, s.ChunkOverlapTokens)
	}
	if s.ChunkOverlapTokens > s.MaxChunkSizeTokens/2 {
		return fmt.Errorf("%w: chunk_overlap_tokens (%d) must not exceed half of max_chunk_size_tokens (%d)",
			ErrInvalidStrategy, s.ChunkOverlapTokens, s.MaxChunkSizeTokens)
	}
	return nil
}

// Chunk is one window of the input.
type Chunk struct {
	// Index is the chunk's position among the document's chunks, from 0.
	Index int
	// Text is input[Start:End].
	Text string
	// Tokens is the number of tokens of Text.
	Tokens int
	// Start and End are byte offsets into the input.
	Start, End int
}

// Chunker cuts texts with one strategy and one encoding. It holds the
// loaded codec, so build one and reuse it; it is safe for concurrent use.
type Chunker struct {
	tok      *tokenizerCache
	strategy Strategy
}

// New returns a Chunker for the strategy, counting tokens with enc
// ("" means cl100k_base).
func New(s Strategy, enc tokenizer.Encoding) (*Chunker, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if enc == "" {
		enc = tokenizer.Cl100kBase
	}
	codec, err := tokenizer.Get(enc)
	if err != nil {
		return nil, fmt.Errorf("chunk: encoding %q: %w", enc, err)
	}
	return &Chunker{tok: newTokenizerCache(codec), strategy: s}, nil
}

// Strategy returns the strategy the Chunker applies.
func (c *Chunker) Strategy() Strategy { return c.strategy }

// Count returns the number of tokens of text.
func (c *Chunker) Count(text string) (int, error) {
	if !utf8.ValidString(text) {
		return 0, ErrInvalidUTF8
	}
	return c.tok.count(text)
}

// ErrInvalidUTF8 is returned for a text that is not valid UTF-8: the
// tokenizer would replace the bad bytes and the chunks would no longer be
// regions of the text.
var ErrInvalidUTF8 = errors.New("chunk: text is not valid UTF-8")

// Chunk cuts text into chunks. A text of at most MaxChunkSizeTokens tokens
// is one chunk; a longer one is cut into windows of at most that many
// tokens, each starting ChunkOverlapTokens before the previous one ended.
// Cuts are moved back to a paragraph, sentence or word boundary when one
// lies in the second half of the window, so words are not split. Leading
// and trailing white space is left out of the chunks; a blank text has no
// chunks.
func (c *Chunker) Chunk(ctx context.Context, text string) ([]Chunk, error) {
	base := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
	body := strings.TrimRightFunc(text[base:], unicode.IsSpace)
	if body == "" {
		return nil, nil
	}
	if !utf8.ValidString(body) {
		return nil, ErrInvalidUTF8
	}
	// off[i] is the byte offset of token i in body; the tokens are
	// consecutive substrings of body, so off[ntok] == len(body).
	off, err := c.tok.offsets(body, nil)
	if err != nil {
		return nil, fmt.Errorf("chunk: tokenize: %w", err)
	}
	ntok := len(off) - 1
	if off[ntok] != len(body) { // not expected of tiktoken; refuse rather than cut wrong
		return nil, errors.New("chunk: tokens do not cover the text")
	}
	size, overlap := c.strategy.MaxChunkSizeTokens, c.strategy.ChunkOverlapTokens
	if ntok <= size {
		return []Chunk{{Index: 0, Text: body, Tokens: ntok, Start: base, End: base + len(body)}}, nil
	}

	var out []Chunk
	for start := 0; start < ntok; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+size, ntok)
		if end < ntok {
			end = c.cut(body, off, start, end)
		}
		ch, end, err := c.window(body, off, start, end)
		if err != nil {
			return nil, err
		}
		if ch.Text != "" {
			ch.Index = len(out)
			ch.Start += base
			ch.End += base
			out = append(out, ch)
		}
		if end == ntok {
			break
		}
		next := max(end-overlap, start+1)
		start = startAt(body, off, next, end)
	}
	return out, nil
}

// window is the chunk of tokens [start, end) with its white space trimmed.
// The tokens of a window re-tokenized alone can differ at the edges from
// the document's tokenization (" passages" is one token, "passages" two),
// so the count is taken again and the window shrunk in the rare case it
// went over the maximum; the window's end is
// returned with it.
func (c *Chunker) window(body string, off []int, start, end int) (Chunk, int, error) {
	for {
		s, e := off[start], off[end]
		for s < e {
			r, n := utf8.DecodeRuneInString(body[s:e])
			if !unicode.IsSpace(r) {
				break
			}
			s += n
		}
		for e > s {
			r, n := utf8.DecodeLastRuneInString(body[s:e])
			if !unicode.IsSpace(r) {
				break
			}
			e -= n
		}
		text := body[s:e]
		n, err := c.tok.count(text)
		if err != nil {
			return Chunk{}, end, fmt.Errorf("chunk: tokenize: %w", err)
		}
		if n <= c.strategy.MaxChunkSizeTokens || end-start <= 1 {
			return Chunk{Text: text, Tokens: n, Start: s, End: e}, end, nil
		}
		end = wordBoundaryBefore(body, off, start, end-(n-c.strategy.MaxChunkSizeTokens))
	}
}

// cut picks the end of the window [start, end): the best boundary in its
// second half, preferring a paragraph break, then a line break or the end
// of a sentence, then any white space; end itself when there is none.
func (c *Chunker) cut(body string, off []int, start, end int) int {
	lo := start + (end-start)/2
	best, bestRank := -1, 0
	for k := end; k > lo; k-- {
		r := boundaryRank(body, off[k])
		if r > bestRank {
			best, bestRank = k, r
			if r == rankParagraph {
				break
			}
		}
	}
	if best > 0 {
		return best
	}
	return boundaryBefore(body, off, start, end)
}

// Boundary ranks, better ones higher.
const (
	rankNone = iota
	rankWord
	rankSentence
	rankParagraph
)

// boundaryRank rates cutting body at byte i.
func boundaryRank(body string, i int) int {
	if i <= 0 || i >= len(body) || !utf8.RuneStart(body[i]) {
		return rankNone
	}
	prev, _ := utf8.DecodeLastRuneInString(body[:i])
	next, _ := utf8.DecodeRuneInString(body[i:])
	switch {
	case strings.HasSuffix(body[:i], "\n\n") || strings.HasPrefix(body[i:], "\n\n") ||
		prev == '\n' && strings.HasPrefix(body[i:], "\n"):
		return rankParagraph
	case prev == '\n' || next == '\n':
		return rankSentence
	case unicode.IsSpace(next) && strings.ContainsRune(".!?;:", prev):
		return rankSentence
	case unicode.IsSpace(next) || unicode.IsSpace(prev):
		return rankWord
	}
	return rankNone
}

// wordBoundaryBefore returns the last boundary of any rank in the second
// half of (start, end], or boundaryBefore when there is none.
func wordBoundaryBefore(body string, off []int, start, end int) int {
	for k := end; k > start+(end-start)/2; k-- {
		if boundaryRank(body, off[k]) > rankNone {
			return k
		}
	}
	return boundaryBefore(body, off, start, end)
}

// boundaryBefore returns the last token boundary k in (start, end] that
// does not split a UTF-8 character, start+1 if there is none.
func boundaryBefore(body string, off []int, start, end int) int {
	for k := end; k > start; k-- {
		if k == len(off)-1 || utf8.RuneStart(body[off[k]]) {
			return k
		}
	}
	return start + 1
}

// startAt moves the start of the next window from k forward to a word
// boundary if one comes before limit, so a chunk does not begin mid-word,
// and never into the middle of a UTF-8 character.
func startAt(body string, off []int, k, limit int) int {
	for j := k; j < limit && j < k+16; j++ {
		if boundaryRank(body, off[j]) > rankNone {
			return j
		}
	}
	for j := k; j < len(off)-1; j++ {
		if utf8.RuneStart(body[off[j]]) {
			return j
		}
	}
	return k
}
