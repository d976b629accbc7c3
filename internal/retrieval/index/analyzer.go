package index

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Analyzer turns text into index terms: it splits on anything that is not a
// letter or digit, lower-cases, drops English stopwords and stems with
// Porter2. An Analyzer is immutable and safe for concurrent use.
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
	a.analyze(text, func(term string, _ int) { out = append(out, term) })
	return out
}

// analyze calls emit for each term of text with its position; stopwords take
// a position but are not emitted, so distances between terms stay those of
// the text.
func (a *Analyzer) analyze(text string, emit func(term string, pos int)) {
	var sb strings.Builder
	pos := 0
	flush := func() {
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
			if a.stem {
				w = Stem(w)
			}
			emit(w, pos)
		}
		pos++
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
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
			flush()
		}
		i += size
	}
	flush()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// englishStopwords is a short list of English function words: long enough
// to drop the words that carry no topic, short enough to keep negations and
// quantities that claims turn on.
var englishStopwords = strings.Fields(`
a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself
of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself yourselves`)
