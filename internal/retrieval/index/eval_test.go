package index

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The SciFact evaluation reads BEIR's SciFact from ../shared/data/scifact
// beside the module root, indexing each abstract as the server indexes a
// Markdown file "<id>.md" of one chunk. Options were tuned only on the
// training queries with odd ids; the even ones are held out. Run it with
// go test ./internal/retrieval/index -run SciFact -v.

type scifact struct {
	docs    []Doc
	queries []sfQuery
}

type sfQuery struct {
	id   int
	text string
	rels map[string]int // corpus id -> graded gain
}

// loadSciFact reads the data set, or skips the test when it is absent.
func loadSciFact(tb testing.TB) *scifact {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("module root not found")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data", "scifact")
	if _, err := os.Stat(filepath.Join(data, "corpus.jsonl.gz")); err != nil {
		tb.Skipf("SciFact not found at %s", data)
	}
	sf := &scifact{}

	f, err := os.Open(filepath.Join(data, "corpus.jsonl.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(gz)
	for dec.More() {
		var d struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := dec.Decode(&d); err != nil {
			tb.Fatal(err)
		}
		// Index the abstract as the server would a Markdown file "<id>.md"
		// whose first line is the title heading.
		sf.docs = append(sf.docs, Doc{ID: d.ID, FileID: d.ID, Title: d.Title, Text: "# " + d.Title + "\n\n" + d.Text})
	}

	qrels := map[int]map[string]int{}
	qf, err := os.Open(filepath.Join(data, "qrels", "train.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer qf.Close()
	sc := bufio.NewScanner(qf)
	for first := true; sc.Scan(); first = false {
		fields := strings.Split(sc.Text(), "\t")
		if first || len(fields) != 3 {
			continue
		}
		qid, err1 := strconv.Atoi(fields[0])
		gain, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil {
			tb.Fatalf("bad qrels line %q", sc.Text())
		}
		if qrels[qid] == nil {
			qrels[qid] = map[string]int{}
		}
		qrels[qid][fields[1]] = gain
	}

	qb, err := os.ReadFile(filepath.Join(data, "queries.train.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(qb)), "\n") {
		var q struct {
			ID   string `json:"_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			tb.Fatal(err)
		}
		id, err := strconv.Atoi(q.ID)
		if err != nil {
			tb.Fatal(err)
		}
		if rels := qrels[id]; len(rels) > 0 {
			sf.queries = append(sf.queries, sfQuery{id: id, text: q.Text, rels: rels})
		}
	}
	return sf
}

// metrics are means over queries with judgments.
type metrics struct {
	n                 int
	ndcg10, r10, r100 float64
}

func (m metrics) String() string {
	return fmt.Sprintf("nDCG@10 %.4f  R@10 %.4f  R@100 %.4f  (%d queries)", m.ndcg10, m.r10, m.r100, m.n)
}

// evaluate runs every query and returns metrics for the tuning (odd ids),
// held-out (even ids) and all queries.
func evaluate(ix *Index, qs []sfQuery) (tune, held, all metrics) {
	add := func(m *metrics, ndcg, r10, r100 float64) {
		m.n++
		m.ndcg10 += ndcg
		m.r10 += r10
		m.r100 += r100
	}
	for _, q := range qs {
		// nDCG@10 and recall@10 from a search for 10 hits, as a client
		// asks; recall@100 from one for 100.
		ndcg, r10, _ := judge(ix.Search(Query{Text: []string{q.text}, Limit: 10}), q.rels)
		_, _, r100 := judge(ix.Search(Query{Text: []string{q.text}, Limit: 100}), q.rels)
		add(&all, ndcg, r10, r100)
		if q.id%2 == 1 {
			add(&tune, ndcg, r10, r100)
		} else {
			add(&held, ndcg, r10, r100)
		}
	}
	for _, m := range []*metrics{&tune, &held, &all} {
		if m.n > 0 {
			m.ndcg10 /= float64(m.n)
			m.r10 /= float64(m.n)
			m.r100 /= float64(m.n)
		}
	}
	return tune, held, all
}

// judge computes nDCG@10 (trec_eval: linear gains, log2 discount, ideal
// from all judged documents), recall@10 and recall@100 for one query.
func judge(hits []Hit, rels map[string]int) (ndcg, r10, r100 float64) {
	var dcg float64
	found10, found100, nrel := 0, 0, 0
	for i, h := range hits {
		g, ok := rels[h.DocID]
		if !ok || g <= 0 {
			continue
		}
		if i < 10 {
			dcg += float64(g) / math.Log2(float64(i+2))
			found10++
		}
		if i < 100 {
			found100++
		}
	}
	gains := make([]int, 0, len(rels))
	for _, g := range rels {
		if g > 0 {
			gains = append(gains, g)
			nrel++
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(gains)))
	var idcg float64
	for i, g := range gains {
		if i == 10 {
			break
		}
		idcg += float64(g) / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0, 0, 0
	}
	return dcg / idcg, float64(found10) / float64(nrel), float64(found100) / float64(nrel)
}

func TestSciFact(t *testing.T) {
	sf := loadSciFact(t)
	ix := New(DefaultOptions())
	ix.Add(sf.docs...)
	tune, held, all := evaluate(ix, sf.queries)
	t.Logf("tune (odd ids)  %v", tune)
	t.Logf("held-out (even) %v", held)
	t.Logf("all             %v", all)
	// What the defaults achieved when they were chosen (held-out nDCG@10
	// 0.7010, tune 0.7381, all 0.7191, all recall@100 0.9283), less a small
	// margin: a regression fails here.
	for _, c := range []struct {
		name       string
		got, floor float64
	}{
		{"held-out nDCG@10", held.ndcg10, 0.695},
		{"tune nDCG@10", tune.ndcg10, 0.73},
		{"all nDCG@10", all.ndcg10, 0.71},
		{"all recall@100", all.r100, 0.92},
	} {
		if c.got < c.floor {
			t.Errorf("%s = %.4f, want >= %.3f", c.name, c.got, c.floor)
		}
	}
}

// TestSciFactSweep prints the metrics of option variants; it runs only
// with ASSISTD_SCIFACT_SWEEP=1 and tunes on the odd-id queries alone.
func TestSciFactSweep(t *testing.T) {
	if os.Getenv("ASSISTD_SCIFACT_SWEEP") == "" {
		t.Skip("set ASSISTD_SCIFACT_SWEEP=1 to sweep options")
	}
	sf := loadSciFact(t)
	for _, v := range sweepVariants() {
		ix := New(v.opts)
		ix.Add(sf.docs...)
		tune, held, all := evaluate(ix, sf.queries)
		t.Logf("%-40s tune %.4f/%.4f/%.4f  held %.4f  all %.4f", v.name, tune.ndcg10, tune.r10, tune.r100, held.ndcg10, all.ndcg10)
	}
}

type variant struct {
	name string
	opts Options
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// BenchmarkSearch runs the SciFact queries, in turn, against the SciFact
// corpus with the default options.
func BenchmarkSearch(b *testing.B) {
	sf := loadSciFact(b)
	ix := New(DefaultOptions())
	ix.Add(sf.docs...)
	qs := make([]Query, len(sf.queries))
	for i, q := range sf.queries {
		qs[i] = Query{Text: []string{q.text}, Limit: 10}
	}
	b.ReportAllocs()
	// CPU time per search, besides wall time, for a machine shared with
	// other work.
	cpu0 := threadCPU(b)
	n := 0
	for ; b.Loop(); n++ {
		ix.Search(qs[n%len(qs)])
	}
	b.ReportMetric(float64(threadCPU(b)-cpu0)/float64(n), "cpu-ns/op")
}

// threadCPU returns the process's user+system CPU time in nanoseconds.
func threadCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
