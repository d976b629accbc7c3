package index

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Analyzer turns text into index terms: it splits on anything that is not a
// letter or digit (keeping decimals and in-word apostrophes), lower-cases,
// drops English stopwords and stems with Porter2. Compounds get extra terms
// so their spellings meet: "IL-6" also yields "il6", and "IL6" also "il"
// and "6". An Analyzer is immutable and safe for concurrent use.
type Analyzer struct {
	stop map[string]struct{}
	stem bool
}

// AnalyzerOptions chooses what an Analyzer does beyond splitting and
// lower-casing.
type AnalyzerOptions struct {
	// NoStem keeps words unstemmed.
	NoStem bool
	// Stopwords replaces the default English list; an empty non-nil slice
	// keeps every word.
	Stopwords []string
}

// NewAnalyzer returns an Analyzer with the given options.
func NewAnalyzer(o AnalyzerOptions) *Analyzer {
	list := o.Stopwords
	if list == nil {
		list = englishStopwords
	}
	a := &Analyzer{stop: make(map[string]struct{}, len(list)), stem: !o.NoStem}
	for _, w := range list {
		a.stop[w] = struct{}{}
	}
	return a
}

// Terms returns the analyzed terms of text in order, stopwords left out.
func (a *Analyzer) Terms(text string) []string {
	var out []string
	a.analyze(text, func(term string) { out = append(out, term) }, nil)
	return out
}

// analyze calls emit for each term of text. If word is not nil it gets each
// lower-cased word that is not a stopword, before stemming, for character
// n-grams.
func (a *Analyzer) analyze(text string, emit func(term string), word func(w string)) {
	var sb strings.Builder
	prev, prevEnd := "", -1 // last raw word and the byte offset after it
	term := func(w string) string {
		if a.stem {
			w = Stem(w)
		}
		return w
	}
	flush := func(start, end int) {
		if sb.Len() == 0 {
			return
		}
		w := sb.String()
		sb.Reset()
		w = strings.TrimRight(w, "'")
		if w == "" {
			return
		}
		if _, stop := a.stop[w]; !stop {
			if word != nil {
				word(w)
			}
			emit(term(w))
			// "il-6" also yields "il6", and "il6" also "il" and "6", so the
			// two spellings meet.
			if prevEnd >= 0 && start == prevEnd+1 && (text[prevEnd] == '-' || text[prevEnd] == '/') && len(prev)+len(w) <= 12 {
				emit(term(prev + w))
			}
			if i := letterDigitSplit(w); i > 0 {
				emit(term(w[:i]))
				emit(term(w[i:]))
			}
		}
		prev, prevEnd = w, end
	}
	start := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if sb.Len() == 0 {
				start = i
			}
			sb.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’') && sb.Len() > 0 && i+size < len(text) && isWordByte(text[i+size]):
			// An apostrophe inside a word ("alzheimer's") stays: the stemmer
			// strips possessives.
			sb.WriteByte('\'')
		case (r == '.' || r == ',') && sb.Len() > 0 && i > 0 && isDigit(text[i-1]) && i+1 < len(text) && isDigit(text[i+1]):
			// A decimal point or thousands separator inside a number keeps
			// the number whole ("1.5", "10,000").
			if r == '.' {
				sb.WriteByte('.')
			}
		default:
			flush(start, i)
		}
		i += size
	}
	flush(start, len(text))
}

// letterDigitSplit returns where a word of ASCII letters then digits (or
// digits then letters) changes from one to the other, or 0.
func letterDigitSplit(w string) int {
	if len(w) < 2 {
		return 0
	}
	split := 0
	for i := 1; i < len(w); i++ {
		a, b := w[i-1], w[i]
		if !isWordByte(a) || !isWordByte(b) {
			return 0
		}
		if isDigit(a) != isDigit(b) {
			if split != 0 {
				return 0
			}
			split = i
		}
	}
	return split
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// englishStopwords are English function words that carry no topic. The
// negations no, nor and not stay indexed: stopping them measured slightly
// worse on SciFact (tuning nDCG@10 0.736 against 0.738).
var englishStopwords = strings.Fields(`
a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself
of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself yourselves`)
