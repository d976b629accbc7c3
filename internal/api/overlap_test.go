package api

import "testing"

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "abc", 0},
		{"abc", "", 0},
		{"hello world", "world peace", 5},
		{"aaaa", "aaab", 3},
		{"abcabc", "abcabcx", 6},
		{"xyz", "abc", 0},
		{"abab", "ababab", 4},
		{"the cat sat", "sat on the mat", 3},
	} {
		if got := overlap(c.a, c.b); got != c.want {
			t.Errorf("overlap(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
