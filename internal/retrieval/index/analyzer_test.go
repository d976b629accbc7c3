package index

import (
	"reflect"
	"testing"
)

func TestAnalyzerTerms(t *testing.T) {
	t.Parallel()
	an := NewAnalyzer(AnalyzerOptions{})
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"stem and stopwords", "The cells were dying in the Mitochondrial assays.", []string{"cell", "die", "mitochondri", "assay"}},
		{"case and punctuation", "TNF-α; CD4+ (T-cells)", []string{"tnf", "α", "tnfα", "cd4", "cd", "4", "t", "cell", "tcell"}},
		{"hyphen joins", "IL-6 and IL6", []string{"il", "6", "il6", "il6", "il", "6"}},
		{"decimals stay whole", "1.5 mg, 10,000 cases", []string{"1.5", "mg", "10000", "case"}},
		{"possessive", "Alzheimer's disease", []string{"alzheim", "diseas"}},
		{"negation kept", "does not cause", []string{"not", "caus"}},
		// Words outside a-z are lower-cased but not stemmed.
		{"unicode", "Café ÉCOLE naïve", []string{"café", "école", "naïve"}},
		{"empty", " -- ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := an.Terms(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Terms(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestAnalyzerOptions(t *testing.T) {
	t.Parallel()
	an := NewAnalyzer(AnalyzerOptions{NoStem: true, Stopwords: []string{}})
	got := an.Terms("The running cells")
	want := []string{"the", "running", "cells"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Terms = %q, want %q", got, want)
	}
}
