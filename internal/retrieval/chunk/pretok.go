package chunk

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// Tokenizing is most of the cost of chunking, and most of that is the
// tokenizer module's backtracking regular expression that splits text into
// pieces before byte-pair encoding. For cl100k_base and o200k_base the
// split is done here by hand (the same pieces, checked against the module
// in the tests) and the encoding of each piece is cached, since prose
// repeats its words: a tenfold speed-up. Other encodings use the module
// as it is.

// splitCl100k calls yield with the pieces of s that cl100k_base's pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// matches, leftmost alternative first as a backtracking engine does. s must
// be valid UTF-8.
func splitCl100k(s string, yield func(piece string)) {
	for i := 0; i < len(s); {
		n := matchCl100k(s[i:])
		yield(s[i : i+n])
		i += n
	}
}

// matchCl100k returns the length of the piece at the start of s (> 0).
func matchCl100k(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if c := contraction(s); c > 0 {
		return c
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if unicode.IsLetter(r) {
		return n + letters(s[n:])
	}
	if r != '\r' && r != '\n' && !unicode.IsNumber(r) {
		if l := letters(s[n:]); l > 0 {
			return n + l
		}
	}
	// \p{N}{1,3}
	if unicode.IsNumber(r) {
		return digits(s, n)
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	start := 0
	if r == ' ' {
		start = n
	}
	if p := punct(s[start:]); p > 0 {
		i := start + p
		for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
			i++
		}
		return i
	}
	return matchSpace(s)
}

// matchSpace matches the white space alternatives shared by both
// patterns, \s*[\r\n]+|\s+(?!\S)|\s+, at the start of s, which starts
// with white space.
func matchSpace(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	end := n
	lastNL := -1
	if r == '\r' || r == '\n' {
		lastNL = 0
	}
	for end < len(s) {
		r2, n2 := utf8.DecodeRuneInString(s[end:])
		if !unicode.IsSpace(r2) {
			break
		}
		if r2 == '\r' || r2 == '\n' {
			lastNL = end
		}
		end += n2
	}
	// \s*[\r\n]+: up to the last line break of the run.
	if lastNL >= 0 {
		return lastNL + 1
	}
	// \s+(?!\S): the run, less its last character when text follows.
	if end == len(s) {
		return end
	}
	_, last := utf8.DecodeLastRuneInString(s[:end])
	if end-last > 0 {
		return end - last
	}
	// \s+
	return end
}

// letters is the length of the run of letters at the start of s.
func letters(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) {
			break
		}
		i += n
	}
	return i
}

// punct is the length of the run of characters at the start of s that are
// neither white space, letters nor numbers.
func punct(s string) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || unicode.IsLetter(r) || unicode.IsNumber(r) {
			break
		}
		i += n
	}
	return i
}

// splitO200k calls yield with the pieces of s that o200k_base's pattern
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// matches, as a backtracking engine does. s must be valid UTF-8.
func splitO200k(s string, yield func(piece string)) {
	for i := 0; i < len(s); {
		n := matchO200k(s[i:])
		yield(s[i : i+n])
		i += n
	}
}

// upperish and lowerish are the two letter classes of o200k_base's
// pattern; they overlap on Lm, Lo and marks.
func upperish(r rune) bool {
	if r < utf8.RuneSelf { // most text: spare the table lookups
		return 'A' <= r && r <= 'Z'
	}
	return unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M)
}

func lowerish(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M)
}

// prefixClass is [^\r\n\p{L}\p{N}].
func prefixClass(r rune) bool {
	return r != '\r' && r != '\n' && !unicode.IsLetter(r) && !unicode.IsNumber(r)
}

func matchO200k(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	// The two word alternatives, each with the optional prefix character
	// first (greedy), then without it.
	starts := [2]int{0, 0}
	ns := 1
	if prefixClass(r) {
		starts, ns = [2]int{n, 0}, 2
	}
	for _, st := range starts[:ns] {
		if m := o200kWordLower(s, st); m > 0 {
			return m
		}
	}
	for _, st := range starts[:ns] {
		if m := o200kWordUpper(s, st); m > 0 {
			return m
		}
	}
	// \p{N}{1,3}
	if unicode.IsNumber(r) {
		return digits(s, n)
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
	start := 0
	if r == ' ' {
		start = n
	}
	if p := punct(s[start:]); p > 0 {
		i := start + p
		for i < len(s) && (s[i] == '\r' || s[i] == '\n' || s[i] == '/') {
			i++
		}
		return i
	}
	return matchSpace(s)
}

// o200kWordLower matches [upperish]*[lowerish]+ contraction? from st, and
// returns the end of the match (0 for none). The upperish run gives back
// characters until a lowerish one can follow, as backtracking does.
func o200kWordLower(s string, st int) int {
	uEnd := st
	for uEnd < len(s) {
		r, n := utf8.DecodeRuneInString(s[uEnd:])
		if !upperish(r) {
			break
		}
		uEnd += n
	}
	for p := uEnd; ; {
		e := p
		for e < len(s) {
			r, n := utf8.DecodeRuneInString(s[e:])
			if !lowerish(r) {
				break
			}
			e += n
		}
		if e > p {
			return e + contraction(s[e:])
		}
		if p == st {
			return 0
		}
		_, n := utf8.DecodeLastRuneInString(s[st:p])
		p -= n
	}
}

// o200kWordUpper matches [upperish]+[lowerish]* contraction? from st.
func o200kWordUpper(s string, st int) int {
	e := st
	for e < len(s) {
		r, n := utf8.DecodeRuneInString(s[e:])
		if !upperish(r) {
			break
		}
		e += n
	}
	if e == st {
		return 0
	}
	for e < len(s) {
		r, n := utf8.DecodeRuneInString(s[e:])
		if !lowerish(r) {
			break
		}
		e += n
	}
	return e + contraction(s[e:])
}

// contraction is the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at the start
// of s, 0 if there is none.
func contraction(s string) int {
	if len(s) < 2 || s[0] != '\'' {
		return 0
	}
	switch s[1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if len(s) > 2 && s[2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if len(s) > 2 && s[2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// Bounds of the piece cache: pieces longer than maxCachedPiece bytes are
// rare and not worth keeping; the cache is emptied when it holds
// maxCachedPieces, which keeps its memory to a few MB.
const (
	maxCachedPiece  = 48
	maxCachedPieces = 1 << 16
)

// tokenizerCache tokenizes with a codec, splitting cl100k_base and
// o200k_base text by hand and caching the token lengths of each piece.
type tokenizerCache struct {
	codec tokenizer.Codec
	split func(string, func(string)) // nil: the codec's own split

	mu     sync.Mutex
	pieces map[string][]int32 // piece -> byte lengths of its tokens
}

func newTokenizerCache(codec tokenizer.Codec) *tokenizerCache {
	t := &tokenizerCache{codec: codec, pieces: map[string][]int32{}}
	switch codec.GetName() {
	case string(tokenizer.Cl100kBase):
		t.split = splitCl100k
	case string(tokenizer.O200kBase):
		t.split = splitO200k
	}
	return t
}

// offsets returns the byte offsets of the tokens of s: token i is
// s[off[i]:off[i+1]], and off ends with len(s).
func (t *tokenizerCache) offsets(s string, off []int) ([]int, error) {
	if cap(off) == 0 {
		off = make([]int, 0, len(s)/4+2) // about 4 bytes a token in prose
	}
	off = append(off[:0], 0)
	if t.split == nil {
		_, toks, err := t.codec.Encode(s)
		if err != nil {
			return nil, err
		}
		for _, tok := range toks {
			off = append(off, off[len(off)-1]+len(tok))
		}
		return off, nil
	}
	var err error
	pos := 0
	t.split(s, func(piece string) {
		if err != nil {
			return
		}
		var lens []int32
		if lens, err = t.piece(piece); err != nil {
			return
		}
		for _, l := range lens {
			pos += int(l)
			off = append(off, pos)
		}
	})
	return off, err
}

// count returns the number of tokens of s.
func (t *tokenizerCache) count(s string) (int, error) {
	if t.split == nil {
		return t.codec.Count(s)
	}
	n := 0
	var err error
	t.split(s, func(piece string) {
		if err != nil {
			return
		}
		var lens []int32
		lens, err = t.piece(piece)
		n += len(lens)
	})
	return n, err
}

// piece returns the byte lengths of the tokens of one piece.
func (t *tokenizerCache) piece(p string) ([]int32, error) {
	if len(p) <= maxCachedPiece {
		t.mu.Lock()
		lens, ok := t.pieces[p]
		t.mu.Unlock()
		if ok {
			return lens, nil
		}
	}
	_, toks, err := t.codec.Encode(p)
	if err != nil {
		return nil, err
	}
	lens := make([]int32, len(toks))
	total := 0
	for i, tok := range toks {
		lens[i] = int32(len(tok))
		total += len(tok)
	}
	if total != len(p) {
		// Not expected of tiktoken on valid UTF-8: keep the piece whole.
		lens = []int32{int32(len(p))}
	}
	if len(p) <= maxCachedPiece {
		t.mu.Lock()
		if len(t.pieces) >= maxCachedPieces {
			clear(t.pieces)
		}
		t.pieces[strings.Clone(p)] = lens
		t.mu.Unlock()
	}
	return lens, nil
}

// digits is the length of \p{N}{1,3} at the start of s, whose first rune
// (a number) is n bytes long.
func digits(s string, n int) int {
	i := n
	for k := 1; k < 3 && i < len(s); k++ {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsNumber(r) {
			break
		}
		i += size
	}
	return i
}
