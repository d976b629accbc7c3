package index

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.DocID
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func TestBM25Toy(t *testing.T) {
	t.Parallel()
	// Words only, so the scores are plain BM25.
	ix := New(Options{DisableNgrams: true})
	ix.Add(
		Doc{ID: "d1", FileID: "f1", Text: "apple banana"},
		Doc{ID: "d2", FileID: "f2", Text: "apple apple cherry"},
		Doc{ID: "d3", FileID: "f3", Text: "cherry"},
	)
	if ix.Len() != 3 {
		t.Fatalf("Len = %d, want 3", ix.Len())
	}
	def := DefaultOptions()
	k1, b := def.K1, def.B
	avg := (2.0 + 3 + 1) / 3
	tfn := func(tf, l float64) float64 { return tf / (1 - b + b*l/avg) }
	sat := func(f float64) float64 { return f * (k1 + 1) / (k1 + f) }
	idf := func(df float64) float64 { return math.Log(1 + (3-df+0.5)/(df+0.5)) }

	t.Run("one term", func(t *testing.T) {
		hits := ix.Search(Query{Text: []string{"banana"}})
		if len(hits) != 1 || hits[0].DocID != "d1" || hits[0].FileID != "f1" {
			t.Fatalf("hits = %+v, want d1 only", hits)
		}
		// Normalised by the term's upper bound idf·(k1+1), the idf cancels.
		want := sat(tfn(1, 2)) / (k1 + 1)
		if !near(hits[0].Score, want) {
			t.Errorf("score = %v, want %v", hits[0].Score, want)
		}
	})
	t.Run("two terms", func(t *testing.T) {
		hits := ix.Search(Query{Text: []string{"apple cherry"}})
		if got := ids(hits); len(got) != 3 || got[0] != "d2" {
			t.Fatalf("hits = %v, want d2 first of three", got)
		}
		ia, ic := idf(2), idf(2)
		want := (ia*sat(tfn(2, 3)) + ic*sat(tfn(1, 3))) / ((ia + ic) * (k1 + 1))
		if !near(hits[0].Score, want) {
			t.Errorf("d2 score = %v, want %v", hits[0].Score, want)
		}
		// d3 is shorter than d1, so its one match weighs more.
		if hits[1].DocID != "d3" {
			t.Errorf("second = %s, want d3", hits[1].DocID)
		}
	})
	t.Run("no match", func(t *testing.T) {
		if hits := ix.Search(Query{Text: []string{"durian"}}); len(hits) != 0 {
			t.Errorf("hits = %+v, want none", hits)
		}
		if hits := ix.Search(Query{Text: []string{"the of"}}); len(hits) != 0 {
			t.Errorf("stopword query hits = %+v, want none", hits)
		}
	})
}

func TestTitleWeight(t *testing.T) {
	t.Parallel()
	docs := []Doc{
		{ID: "body", FileID: "f1", Title: "Fruit", Text: "notes on zebra stripes and fruit"},
		{ID: "title", FileID: "f2", Title: "Zebra", Text: "notes on stripes and fruit here"},
	}
	for _, tc := range []struct {
		weight float64
		first  string
	}{{1, "title"}, {0.001, "body"}} {
		ix := New(Options{TitleWeight: tc.weight, DisableNgrams: true})
		ix.Add(docs...)
		hits := ix.Search(Query{Text: []string{"zebra"}})
		if len(hits) != 2 || hits[0].DocID != tc.first {
			t.Errorf("TitleWeight %v: hits = %v, want %s first", tc.weight, ids(hits), tc.first)
		}
	}
}

func TestScoresInUnitRange(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "a", FileID: "f", Title: "Zebra", Text: "zebra zebra zebra zebra zebra zebra zebra zebra"},
		Doc{ID: "b", FileID: "f", Text: "a zebra among horses, horses and more horses"},
		Doc{ID: "c", FileID: "g", Text: "nothing to see"},
	)
	for _, q := range []string{"zebra", "zebras horses", "zebra zebra zebra", "horse"} {
		hits := ix.Search(Query{Text: []string{q}, Limit: 10})
		if len(hits) == 0 {
			t.Errorf("%q: no hits", q)
		}
		for i, h := range hits {
			if h.Score <= 0 || h.Score > 1 {
				t.Errorf("%q: score %v out of (0,1]", q, h.Score)
			}
			if i > 0 && h.Score > hits[i-1].Score {
				t.Errorf("%q: hits not sorted: %+v", q, hits)
			}
		}
	}
}

func TestTrigramsMatchVariants(t *testing.T) {
	t.Parallel()
	docs := []Doc{
		{ID: "us", FileID: "f1", Text: "ischemia of the heart muscle"},
		{ID: "other", FileID: "f2", Text: "heart muscle growth"},
	}
	// Words alone tie the two on "heart"; trigrams of "ischaemia" find the
	// American spelling.
	ix := New(DefaultOptions())
	ix.Add(docs...)
	hits := ix.Search(Query{Text: []string{"ischaemia heart"}})
	if len(hits) != 2 || hits[0].DocID != "us" {
		t.Errorf("hits = %+v, want us first", hits)
	}
	words := New(Options{DisableNgrams: true})
	words.Add(docs...)
	if h := words.Search(Query{Text: []string{"ischaemia heart"}}); len(h) != 2 || h[0].Score != h[1].Score {
		t.Errorf("words only: hits = %+v, want a tie", h)
	}
	// NoRerank (ranker "none") is the words-only ranking, per query.
	if h := ix.Search(Query{Text: []string{"ischaemia heart"}, NoRerank: true}); len(h) != 2 || h[0].Score != h[1].Score {
		t.Errorf("NoRerank: hits = %+v, want a tie", h)
	}
}

func TestRemoveFileAndReplace(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "a1", FileID: "A", Text: "kinase signalling pathway"},
		Doc{ID: "a2", FileID: "A", Text: "kinase inhibitors"},
		Doc{ID: "b1", FileID: "B", Text: "kinase structure"},
	)
	if n := ix.RemoveFile("A"); n != 2 {
		t.Fatalf("RemoveFile = %d, want 2", n)
	}
	if ix.Len() != 1 {
		t.Fatalf("Len = %d, want 1", ix.Len())
	}
	hits := ix.Search(Query{Text: []string{"kinase inhibitors"}})
	if got := ids(hits); len(got) != 1 || got[0] != "b1" {
		t.Fatalf("after removal hits = %v, want [b1]", got)
	}
	if n := ix.RemoveFile("A"); n != 0 {
		t.Errorf("second RemoveFile = %d, want 0", n)
	}
	// Same ID again replaces the chunk.
	ix.Add(Doc{ID: "b1", FileID: "B", Text: "membrane transport"})
	if ix.Len() != 1 {
		t.Errorf("Len after replace = %d, want 1", ix.Len())
	}
	if hits := ix.Search(Query{Text: []string{"kinase"}}); len(hits) != 0 {
		t.Errorf("old text still found: %+v", hits)
	}
	if hits := ix.Search(Query{Text: []string{"membrane"}}); len(hits) != 1 {
		t.Errorf("new text not found: %+v", hits)
	}
}

func TestManyRemovalsCompact(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	for i := range 50 {
		ix.Add(Doc{ID: fmt.Sprint("c", i), FileID: fmt.Sprint("f", i%10), Text: fmt.Sprintf("common word%d text", i)})
	}
	for f := range 8 {
		ix.RemoveFile(fmt.Sprint("f", f))
	}
	if ix.Len() != 10 {
		t.Fatalf("Len = %d, want 10", ix.Len())
	}
	hits := ix.Search(Query{Text: []string{"common"}, Limit: 50})
	if len(hits) != 10 {
		t.Fatalf("hits = %d, want 10", len(hits))
	}
	for _, h := range hits {
		if h.FileID != "f8" && h.FileID != "f9" {
			t.Errorf("hit from removed file: %+v", h)
		}
	}
	if hits := ix.Search(Query{Text: []string{"word49"}}); len(hits) == 0 || hits[0].DocID != "c49" {
		t.Errorf("word49: hits = %+v, want c49 first", hits)
	}
}

func TestFilterLimitThreshold(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	for i := range 20 {
		ix.Add(Doc{ID: fmt.Sprint("d", i), FileID: fmt.Sprint("f", i%4), Text: fmt.Sprintf("protein folding %s", "x")})
	}
	ix.Add(Doc{ID: "best", FileID: "f0", Text: "protein folding protein folding kinetics"})

	t.Run("keep", func(t *testing.T) {
		hits := ix.Search(Query{Text: []string{"protein folding"}, Limit: 50, Keep: func(f string) bool { return f == "f1" }})
		if len(hits) != 5 {
			t.Fatalf("hits = %d, want 5", len(hits))
		}
		for _, h := range hits {
			if h.FileID != "f1" {
				t.Errorf("hit from %s", h.FileID)
			}
		}
	})
	t.Run("limit", func(t *testing.T) {
		if hits := ix.Search(Query{Text: []string{"protein"}, Limit: 3}); len(hits) != 3 {
			t.Errorf("hits = %d, want 3", len(hits))
		}
		if hits := ix.Search(Query{Text: []string{"protein"}}); len(hits) != 10 {
			t.Errorf("default limit hits = %d, want 10", len(hits))
		}
	})
	t.Run("threshold", func(t *testing.T) {
		all := ix.Search(Query{Text: []string{"protein folding kinetics"}, Limit: 50})
		if all[0].DocID != "best" {
			t.Fatalf("first = %s, want best", all[0].DocID)
		}
		cut := (all[0].Score + all[1].Score) / 2
		hits := ix.Search(Query{Text: []string{"protein folding kinetics"}, Limit: 50, ScoreThreshold: cut})
		if len(hits) != 1 || hits[0].DocID != "best" {
			t.Errorf("threshold %v: hits = %+v, want best only", cut, hits)
		}
		if hits := ix.Search(Query{Text: []string{"protein"}, ScoreThreshold: 1.01}); len(hits) != 0 {
			t.Errorf("threshold above 1 kept %d hits", len(hits))
		}
	})
}

func TestMultipleQueryStrings(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "cats", FileID: "f1", Text: "cats purr"},
		Doc{ID: "dogs", FileID: "f2", Text: "dogs bark"},
		Doc{ID: "fish", FileID: "f3", Text: "fish swim"},
	)
	hits := ix.Search(Query{Text: []string{"cats", "dogs bark"}})
	if got := ids(hits); len(got) != 2 {
		t.Fatalf("hits = %v, want cats and dogs", got)
	}
	single := ix.Search(Query{Text: []string{"cats"}})
	for _, h := range hits {
		if h.DocID == "cats" && !near(h.Score, single[0].Score) {
			t.Errorf("cats score %v, want its single-query score %v", h.Score, single[0].Score)
		}
	}
}

func TestHybrid(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "kw", FileID: "f1", Text: "glucose metabolism", Vector: []float32{0, 1}},
		Doc{ID: "vec", FileID: "f2", Text: "unrelated words", Vector: []float32{1, 0}},
		Doc{ID: "novec", FileID: "f3", Text: "glucose"},
	)
	t.Run("vector alone finds a chunk without the words", func(t *testing.T) {
		hits := ix.Search(Query{Text: []string{"zzz"}, Vector: []float32{2, 0}})
		if len(hits) != 1 || hits[0].DocID != "vec" || !near(hits[0].Score, 0.5) {
			t.Errorf("hits = %+v, want vec at 0.5 (VectorWeight·cos 1)", hits)
		}
	})
	t.Run("fused", func(t *testing.T) {
		kw := ix.Search(Query{Text: []string{"glucose metabolism"}})
		hits := ix.Search(Query{Text: []string{"glucose metabolism"}, Vector: []float32{0.6, 0.8}, Limit: 3})
		if len(hits) != 3 || hits[0].DocID != "kw" {
			t.Fatalf("hits = %+v, want kw first of three", hits)
		}
		want := 0.5*kw[0].Score + 0.5*0.8
		if !near(hits[0].Score, want) {
			t.Errorf("kw score = %v, want %v", hits[0].Score, want)
		}
		for _, h := range hits {
			if h.Score < 0 || h.Score > 1 {
				t.Errorf("score %v out of range", h.Score)
			}
		}
	})
	t.Run("filter applies to vector hits", func(t *testing.T) {
		hits := ix.Search(Query{Text: []string{"zzz"}, Vector: []float32{1, 0}, Keep: func(f string) bool { return f != "f2" }})
		if len(hits) != 0 {
			t.Errorf("hits = %+v, want none", hits)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ix := New(DefaultOptions())
	ix.Add(Doc{ID: "stable", FileID: "keep", Text: "stable reference document about enzymes"})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			f := fmt.Sprint("f", i%5)
			ix.Add(Doc{ID: fmt.Sprint(f, "-", i%3), FileID: f, Text: fmt.Sprintf("enzymes kinetics round %d", i)})
			if i%7 == 0 {
				ix.RemoveFile(f)
			}
		}
	}()
	for range 2 {
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				hits := ix.Search(Query{Text: []string{"stable enzymes"}, Limit: 20})
				found := false
				for _, h := range hits {
					found = found || h.DocID == "stable"
				}
				if !found {
					t.Error("stable document missing during concurrent writes")
					return
				}
				_ = ix.Len()
			}
		}()
	}
	wg.Wait()
}

func TestTrigramFallback(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "hit", FileID: "f1", Text: "haemoglobin levels"},
		Doc{ID: "miss", FileID: "f2", Text: "kidney"},
	)
	// No document has the word "hemoglobin"; its trigrams still find one.
	hits := ix.Search(Query{Text: []string{"hemoglobin"}})
	if len(hits) != 1 || hits[0].DocID != "hit" {
		t.Fatalf("hits = %+v, want hit only", hits)
	}
	if s := hits[0].Score; s <= 0 || s > DefaultOptions().NgramWeight {
		t.Errorf("score %v, want in (0, NgramWeight]", s)
	}
	if hits := New(DefaultOptions()).Search(Query{Text: []string{"hemoglobin"}}); len(hits) != 0 {
		t.Errorf("empty index: %+v", hits)
	}
}

func TestFilterExcludingAllWordMatches(t *testing.T) {
	t.Parallel()
	ix := New(DefaultOptions())
	ix.Add(
		Doc{ID: "a", FileID: "f1", Text: "enzyme kinetics"},
		Doc{ID: "b", FileID: "f2", Text: "enzymatic activity"},
	)
	// The only word match is filtered out; no trigram-only scan of the
	// rest, so nothing comes back.
	hits := ix.Search(Query{Text: []string{"kinetics"}, Keep: func(f string) bool { return f == "f2" }})
	if len(hits) != 0 {
		t.Errorf("hits = %+v, want none", hits)
	}
}
