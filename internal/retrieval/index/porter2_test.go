package index

import "testing"

func TestStem(t *testing.T) {
	t.Parallel()
	// Examples from the Porter2 description and its published sample vocabulary.
	cases := map[string]string{
		"caresses": "caress", "ponies": "poni", "ties": "tie", "cries": "cri", "cats": "cat",
		"gas": "gas", "gaps": "gap", "kiwis": "kiwi", "this": "this",
		"agreed": "agre", "feed": "feed", "hopping": "hop", "hoping": "hope", "falling": "fall",
		"luxuriate": "luxuri", "happy": "happi", "cry": "cri", "by": "by", "say": "say",
		"relational": "relat", "generalization": "general", "generously": "generous",
		"running": "run", "skies": "sky", "dying": "die", "news": "news", "proceed": "proceed",
		"consign": "consign", "consigned": "consign", "consignment": "consign",
		"consistency": "consist", "consistently": "consist", "consolation": "consol",
		"consolatory": "consolatori", "consolidate": "consolid", "consolingly": "consol",
		"consonant": "conson", "conspicuously": "conspicu", "conspiracy": "conspiraci",
		"conspirator": "conspir", "constable": "constabl", "constancy": "constanc",
		"knackeries": "knackeri", "kneaded": "knead", "kneeling": "kneel", "knees": "knee",
		"knightly": "knight", "knitting": "knit", "knives": "knive", "knocker": "knocker",
		"abandoned": "abandon", "abilities": "abil", "ability": "abil", "able": "abl",
		"yes": "yes", "youth": "youth", "sayings": "say", "innings": "inning", "succeeding": "succeed",
		"organization": "organ", "mitochondrial": "mitochondri", "proteins": "protein",
		"cells": "cell", "expression": "express", "inflammatory": "inflammatori",
		"alzheimer's": "alzheim", "'tis": "tis", "a": "a", "ab": "ab", "β": "β", "il6": "il6",
	}
	for in, want := range cases {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}
