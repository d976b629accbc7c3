package index

import "unicode/utf8"

// Character trigrams of words, with '_' marking the word's start and end
// ("cell" -> _ce cel ell ll_), match spellings and word forms the stemmer
// keeps apart (NLRP3/NALP3, ischaemia/ischemia, embryonal/embryonic).

// gramKey packs three runes into one map key.
type gramKey uint64

// trigrams calls fn for each trigram of word.
func trigrams(word string, fn func(gramKey)) {
	const edge = '_'
	r0, r1 := rune(edge), rune(-1)
	n := 0
	push := func(r rune) {
		if r1 >= 0 {
			fn(gramKey(uint64(r0)<<42 | uint64(r1)<<21 | uint64(r)))
		}
		r0, r1 = r1, r
		if r0 < 0 {
			r0 = edge
		}
		n++
	}
	for _, r := range word {
		if r == utf8.RuneError {
			continue
		}
		push(r)
	}
	if n > 0 {
		push(edge)
	}
}
