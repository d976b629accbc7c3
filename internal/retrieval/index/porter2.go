package index

// This file implements the English (Porter2) stemmer as described by Martin
// Porter's Snowball project ("The English (Porter2) stemming algorithm").
// It works on lower-case ASCII words; the analyzer passes anything else
// through unchanged.

// Stem returns the Porter2 stem of a lower-case word. Words of one or two
// letters and words with bytes outside a-z and the apostrophe come back as
// they are.
func Stem(word string) string {
	if len(word) <= 2 {
		return word
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if (c < 'a' || c > 'z') && c != '\'' {
			return word
		}
	}
	if s, ok := stemExceptions1[word]; ok {
		return s
	}
	var buf [64]byte
	var w []byte
	if len(word) <= len(buf) {
		w = append(buf[:0], word...)
	} else {
		w = []byte(word)
	}
	w = stemBytes(w)
	return string(w)
}

// stemExceptions1 are the special forms checked before any step.
var stemExceptions1 = map[string]string{
	"skis":   "ski",
	"skies":  "sky",
	"dying":  "die",
	"lying":  "lie",
	"tying":  "tie",
	"idly":   "idl",
	"gently": "gentl",
	"ugly":   "ugli",
	"early":  "earli",
	"only":   "onli",
	"singly": "singl",
	// Invariant words.
	"sky":    "sky",
	"news":   "news",
	"howe":   "howe",
	"atlas":  "atlas",
	"cosmos": "cosmos",
	"bias":   "bias",
	"andes":  "andes",
}

// stemExceptions2 are left alone once step 1a is done.
var stemExceptions2 = map[string]bool{
	"inning": true, "outing": true, "canning": true, "herring": true, "earring": true,
	"proceed": true, "exceed": true, "succeed": true,
}

// isVowel reports whether c is a Porter2 vowel (a capital Y, which marks a
// consonant y, is not).
func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func isDouble(w []byte) bool {
	n := len(w)
	if n < 2 || w[n-1] != w[n-2] {
		return false
	}
	switch w[n-1] {
	case 'b', 'd', 'f', 'g', 'm', 'n', 'p', 'r', 't':
		return true
	}
	return false
}

func isLiEnding(c byte) bool {
	switch c {
	case 'c', 'd', 'e', 'g', 'h', 'k', 'm', 'n', 'r', 't':
		return true
	}
	return false
}

// endsShortSyllable reports whether w ends in a short syllable: a vowel
// followed by a non-vowel other than w, x or Y and preceded by a non-vowel,
// or a vowel at the start of the word followed by a non-vowel.
func endsShortSyllable(w []byte) bool {
	n := len(w)
	if n == 2 {
		return isVowel(w[0]) && !isVowel(w[1])
	}
	if n < 3 {
		return false
	}
	c := w[n-1]
	return !isVowel(w[n-3]) && isVowel(w[n-2]) && !isVowel(c) && c != 'w' && c != 'x' && c != 'Y'
}

func hasSuffix(w []byte, s string) bool {
	if len(w) < len(s) {
		return false
	}
	return string(w[len(w)-len(s):]) == s
}

func containsVowel(w []byte) bool {
	for _, c := range w {
		if isVowel(c) {
			return true
		}
	}
	return false
}

// regions returns the starts of R1 and R2.
func regions(w []byte) (r1, r2 int) {
	r1 = len(w)
	for _, p := range [...]string{"gener", "commun", "arsen"} {
		if len(w) >= len(p) && string(w[:len(p)]) == p {
			r1 = len(p)
			break
		}
	}
	if r1 == len(w) {
		r1 = afterVC(w, 0)
	}
	r2 = afterVC(w, r1)
	return r1, r2
}

// afterVC returns the index just past the first non-vowel that follows a
// vowel at or after start, or len(w).
func afterVC(w []byte, start int) int {
	for i := start + 1; i < len(w); i++ {
		if !isVowel(w[i]) && isVowel(w[i-1]) {
			return i + 1
		}
	}
	return len(w)
}

func stemBytes(w []byte) []byte {
	if w[0] == '\'' {
		w = w[1:]
		if len(w) <= 2 {
			return w
		}
	}
	// Mark consonant y: at the start, or after a vowel.
	if w[0] == 'y' {
		w[0] = 'Y'
	}
	for i := 1; i < len(w); i++ {
		if w[i] == 'y' && isVowel(w[i-1]) {
			w[i] = 'Y'
		}
	}
	r1, r2 := regions(w)

	// Step 0: apostrophe suffixes.
	switch {
	case hasSuffix(w, "'s'"):
		w = w[:len(w)-3]
	case hasSuffix(w, "'s"):
		w = w[:len(w)-2]
	case hasSuffix(w, "'"):
		w = w[:len(w)-1]
	}

	// Step 1a.
	switch {
	case hasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case hasSuffix(w, "ied"), hasSuffix(w, "ies"):
		if len(w) > 4 {
			w = w[:len(w)-2]
		} else {
			w = w[:len(w)-1]
		}
	case hasSuffix(w, "us"), hasSuffix(w, "ss"):
	case hasSuffix(w, "s"):
		// Delete if the part before the s holds a vowel not just before it.
		if len(w) >= 3 && containsVowel(w[:len(w)-2]) {
			w = w[:len(w)-1]
		}
	}
	if stemExceptions2[string(w)] {
		return restoreY(w)
	}

	// Step 1b.
	switch {
	case hasSuffix(w, "eedly"):
		if len(w)-5 >= r1 {
			w = w[:len(w)-3]
		}
	case hasSuffix(w, "eed"):
		if len(w)-3 >= r1 {
			w = w[:len(w)-1]
		}
	default:
		n := 0
		switch {
		case hasSuffix(w, "ingly"):
			n = 5
		case hasSuffix(w, "edly"):
			n = 4
		case hasSuffix(w, "ing"):
			n = 3
		case hasSuffix(w, "ed"):
			n = 2
		}
		if n > 0 && containsVowel(w[:len(w)-n]) {
			w = w[:len(w)-n]
			switch {
			case hasSuffix(w, "at"), hasSuffix(w, "bl"), hasSuffix(w, "iz"):
				w = append(w, 'e')
			case isDouble(w):
				w = w[:len(w)-1]
			case r1 >= len(w) && endsShortSyllable(w):
				w = append(w, 'e')
			}
		}
	}

	// Step 1c: y or Y after a non-vowel that is not the first letter.
	if n := len(w); n > 2 && (w[n-1] == 'y' || w[n-1] == 'Y') && !isVowel(w[n-2]) {
		w[n-1] = 'i'
	}

	w = step2(w, r1)
	w = step3(w, r1, r2)
	w = step4(w, r2)

	// Step 5.
	if n := len(w); n > 0 {
		switch w[n-1] {
		case 'e':
			if n-1 >= r2 || (n-1 >= r1 && !endsShortSyllable(w[:n-1])) {
				w = w[:n-1]
			}
		case 'l':
			if n-1 >= r2 && n >= 2 && w[n-2] == 'l' {
				w = w[:n-1]
			}
		}
	}
	return restoreY(w)
}

func restoreY(w []byte) []byte {
	for i, c := range w {
		if c == 'Y' {
			w[i] = 'y'
		}
	}
	return w
}

type rule struct{ suffix, repl string }

// step2Rules are ordered so that a longer suffix comes before any suffix it
// ends with; the first match is the longest one.
var step2Rules = []rule{
	{"ization", "ize"}, {"ational", "ate"}, {"fulness", "ful"}, {"ousness", "ous"},
	{"iveness", "ive"}, {"tional", "tion"}, {"biliti", "ble"}, {"lessli", "less"},
	{"entli", "ent"}, {"ation", "ate"}, {"alism", "al"}, {"aliti", "al"},
	{"ousli", "ous"}, {"iviti", "ive"}, {"fulli", "ful"}, {"enci", "ence"},
	{"anci", "ance"}, {"abli", "able"}, {"izer", "ize"}, {"ator", "ate"},
	{"alli", "al"}, {"bli", "ble"}, {"ogi", "og"}, {"li", ""},
}

func step2(w []byte, r1 int) []byte {
	for _, r := range step2Rules {
		if !hasSuffix(w, r.suffix) {
			continue
		}
		start := len(w) - len(r.suffix)
		if start < r1 {
			return w
		}
		switch r.suffix {
		case "ogi":
			if start == 0 || w[start-1] != 'l' {
				return w
			}
		case "li":
			if start == 0 || !isLiEnding(w[start-1]) {
				return w
			}
		}
		return append(w[:start], r.repl...)
	}
	return w
}

var step3Rules = []rule{
	{"ational", "ate"}, {"tional", "tion"}, {"alize", "al"}, {"icate", "ic"},
	{"iciti", "ic"}, {"ative", ""}, {"ical", "ic"}, {"ness", ""}, {"ful", ""},
}

func step3(w []byte, r1, r2 int) []byte {
	for _, r := range step3Rules {
		if !hasSuffix(w, r.suffix) {
			continue
		}
		start := len(w) - len(r.suffix)
		if start < r1 || (r.suffix == "ative" && start < r2) {
			return w
		}
		return append(w[:start], r.repl...)
	}
	return w
}

var step4Suffixes = []string{
	"ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate",
	"iti", "ous", "ive", "ize", "ion", "al", "er", "ic",
}

func step4(w []byte, r2 int) []byte {
	for _, s := range step4Suffixes {
		if !hasSuffix(w, s) {
			continue
		}
		start := len(w) - len(s)
		if start < r2 {
			return w
		}
		if s == "ion" && (start == 0 || (w[start-1] != 's' && w[start-1] != 't')) {
			return w
		}
		return w[:start]
	}
	return w
}
