package index

import (
	"reflect"
	"testing"
)

func TestTrigrams(t *testing.T) {
	t.Parallel()
	decode := func(k gramKey) string {
		return string([]rune{rune(k >> 42), rune(k >> 21 & (1<<21 - 1)), rune(k & (1<<21 - 1))})
	}
	for _, tc := range []struct {
		word string
		want []string
	}{
		{"cell", []string{"_ce", "cel", "ell", "ll_"}},
		{"b", []string{"_b_"}},
		{"il", []string{"_il", "il_"}},
		{"tnfα", []string{"_tn", "tnf", "nfα", "fα_"}},
		{"", nil},
	} {
		var got []string
		trigrams(tc.word, func(k gramKey) { got = append(got, decode(k)) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("trigrams(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
