// Command retrieval measures file_search on SciFact through assistd's own
// HTTP API. It builds the binary, starts `assistd serve` (no embedding
// provider unless -embeddings-* flags say otherwise), uploads every
// abstract of the corpus as one Markdown file ("# title" then the text),
// adds them to one vector store through file batches, waits until every
// file is ingested, then sends each query to
// POST /v1/vector_stores/{id}/search and scores the ranking against the
// judgments. It prints nDCG@10, recall@10, recall@100, queries/s and
// ingestion time, for the tuning queries (odd ids), the held-out ones (even
// ids) and all of them.
//
// The API returns at most 50 results a search (the spec's limit), so the
// ranks 51–100 of recall@100 come from a second search that excludes the
// first 50 files with an attribute filter ({"type":"nin","key":"doc"}).
//
// Usage, from the repository root:
//
//	go run ./bench/retrieval [-data ../shared/data/scifact] [-queries FILE -qrels FILE]
//	                         [-database postgres://…] [-clients 8] [-passes 3] [-check]
//
// The data is read at run time and never copied anywhere.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assistd/assistd/bench/internal/benchkit"
)

// Targets (issue 4, Measurement).
const (
	targetNDCG   = 0.70
	targetQPS    = 1000
	targetIngest = 30 * time.Second
)

type options struct {
	bin, data, queries, qrels, database string
	clients, passes                     int
	limit                               int
	keep, check                         bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "assistd binary to use (default: build ./cmd/assistd into a temp dir)")
	flag.StringVar(&o.data, "data", filepath.Join("..", "shared", "data", "scifact"), "SciFact directory (corpus.jsonl.gz, queries.train.jsonl, qrels/train.tsv)")
	flag.StringVar(&o.queries, "queries", "", "queries JSONL (default: DATA/queries.train.jsonl)")
	flag.StringVar(&o.qrels, "qrels", "", "judgments TSV (default: DATA/qrels/train.tsv)")
	flag.StringVar(&o.database, "database", "", "PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
	flag.IntVar(&o.clients, "clients", 8, "concurrent HTTP clients for uploads and the throughput pass")
	flag.IntVar(&o.passes, "passes", 3, "passes over the queries for queries/s")
	flag.IntVar(&o.limit, "docs", 0, "index only the first N abstracts (0: all; for quick tries, the scores then mean little)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.Parse()
	if o.queries == "" {
		o.queries = filepath.Join(o.data, "queries.train.jsonl")
	}
	if o.qrels == "" {
		o.qrels = filepath.Join(o.data, "qrels", "train.tsv")
	}
	if o.clients < 1 || o.passes < 1 {
		fmt.Fprintln(os.Stderr, "retrieval: -clients and -passes must be positive")
		os.Exit(2)
	}
	benchkit.Main("retrieval", func() (int, error) { return run(o) })
}

type doc struct{ id, title, text string }

type query struct{ id, text string }

func run(o options) (int, error) {
	docs, err := readCorpus(filepath.Join(o.data, "corpus.jsonl.gz"), o.limit)
	if err != nil {
		return 1, err
	}
	queries, err := readQueries(o.queries)
	if err != nil {
		return 1, err
	}
	qrels, err := readQrels(o.qrels)
	if err != nil {
		return 1, err
	}
	queries = slices.DeleteFunc(queries, func(q query) bool { return len(qrels[q.id]) == 0 })

	tmp, bin, cleanup, err := benchkit.Prepare("assistd-bench-retrieval-", o.keep, o.bin)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	dbArgs, backend, dropDB, err := benchkit.Database(o.database)
	if err != nil {
		return 1, err
	}
	defer dropDB()
	data := filepath.Join(tmp, "data")
	env := benchkit.Env([]string{"OPENAI_", "ANTHROPIC_", "ASSISTD_"})
	key, err := benchkit.CreateKey(bin, data, env, dbArgs...)
	if err != nil {
		return 1, err
	}
	srv, err := benchkit.StartServer(bin, data, env, dbArgs...)
	if err != nil {
		return 1, err
	}
	defer srv.Stop()
	transport := &http.Transport{MaxIdleConnsPerHost: o.clients * 2}
	c := &benchkit.Client{Base: "http://" + srv.Addr, Key: key, HTTP: &http.Client{Transport: transport, Timeout: time.Minute}}

	ing, err := ingest(c, docs, o.clients)
	if err != nil {
		return 1, err
	}
	rssIngest, _ := benchkit.PeakRSS(srv.Cmd.Process.Pid)

	split := map[string][]query{}
	for _, q := range queries {
		n, _ := strconv.Atoi(q.id)
		name := "held-out (even ids)"
		if n%2 == 1 {
			name = "tune (odd ids)"
		}
		split[name] = append(split[name], q)
	}
	scores := map[string]metrics{}
	rankings, err := rankAll(c, ing.storeID, queries, o.clients)
	if err != nil {
		return 1, err
	}
	for name, qs := range split {
		scores[name] = evaluate(qs, rankings, qrels)
	}
	scores["all"] = evaluate(queries, rankings, qrels)

	qps, lat, err := throughput(c, ing.storeID, queries, o.clients, o.passes)
	if err != nil {
		return 1, err
	}
	rss, _ := benchkit.PeakRSS(srv.Cmd.Process.Pid)

	rep := benchkit.NewTable(56, 12, 34)
	for _, name := range []string{"held-out (even ids)", "tune (odd ids)", "all"} {
		m, ok := scores[name]
		if !ok {
			continue
		}
		var target string
		var pass *bool
		if name == "held-out (even ids)" {
			target, pass = fmt.Sprintf(">= %.2f", targetNDCG), benchkit.OK(m.ndcg10 >= targetNDCG)
		}
		rep.Row(fmt.Sprintf("nDCG@10, %s, n=%d", name, m.n), target, fmt.Sprintf("%.4f", m.ndcg10), pass)
		rep.Row("    recall@10 / recall@100", "", fmt.Sprintf("%.4f / %.4f", m.recall10, m.recall100), nil)
	}
	rep.Row(fmt.Sprintf("search queries/s (%d clients, %d passes, top 10)", o.clients, o.passes), fmt.Sprintf(">= %d", targetQPS), fmt.Sprintf("%.0f", qps), benchkit.OK(qps >= targetQPS))
	rep.Row("    latency p50 / p99", "", fmt.Sprintf("%s / %s", benchkit.Millis(lat.P50, 2), benchkit.Millis(lat.P99, 2)), nil)
	rep.Row(fmt.Sprintf("ingestion of %d abstracts (upload + index)", len(docs)), "<= "+targetIngest.String(), secs(ing.total), benchkit.OK(ing.total <= targetIngest))
	rep.Row("    uploads / indexing after the last batch", "", secs(ing.upload)+" / "+secs(ing.tail), nil)
	rep.Row("    first search after ingestion (index build)", "", benchkit.Millis(ing.firstSearch, 1), nil)
	rep.Row("server peak RSS after ingestion / at end", "", benchkit.MiB(rssIngest)+" / "+benchkit.MiB(rss), nil)

	fmt.Printf("\nassistd file_search on SciFact (%s, keyword search, no embedding provider)\n", backend)
	fmt.Printf("corpus %d abstracts, %d queries with judgments (%s)\n", len(docs), len(queries), o.queries)
	fmt.Printf("machine: %d CPUs, load average %s\n\n", runtime.NumCPU(), benchkit.LoadAvg())
	rep.Print()
	return rep.ExitCode(o.check), nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

type ingestion struct {
	storeID                          string
	upload, tail, total, firstSearch time.Duration
}

// ingest uploads every abstract, adds them to a new vector store in file
// batches (each file carrying its corpus id as attribute "doc") and waits
// until the store has ingested them all.
func ingest(c *benchkit.Client, docs []doc, clients int) (*ingestion, error) {
	start := time.Now()
	var vs struct {
		ID string `json:"id"`
	}
	if err := c.Do("POST", "/v1/vector_stores", map[string]any{"name": "scifact"}, &vs); err != nil {
		return nil, err
	}
	fileIDs := make([]string, len(docs))
	err := parallel(len(docs), clients, func(i int) (err error) {
		fileIDs[i], err = upload(c, docs[i].id+".md", "# "+docs[i].title+"\n\n"+docs[i].text)
		return err
	})
	if err != nil {
		return nil, err
	}
	uploaded := time.Now()
	const batch = 2000
	for lo := 0; lo < len(docs); lo += batch {
		hi := min(lo+batch, len(docs))
		files := make([]map[string]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			files = append(files, map[string]any{"file_id": fileIDs[i], "attributes": map[string]any{"doc": docs[i].id}})
		}
		if err := c.Do("POST", "/v1/vector_stores/"+vs.ID+"/file_batches", map[string]any{"files": files}, nil); err != nil {
			return nil, err
		}
	}
	added := time.Now()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var got struct {
			FileCounts struct {
				InProgress int `json:"in_progress"`
				Completed  int `json:"completed"`
				Failed     int `json:"failed"`
			} `json:"file_counts"`
		}
		if err := c.Do("GET", "/v1/vector_stores/"+vs.ID, nil, &got); err != nil {
			return nil, err
		}
		fc := got.FileCounts
		if fc.InProgress == 0 {
			if fc.Completed != len(docs) {
				return nil, fmt.Errorf("ingestion ended with %d completed and %d failed of %d files", fc.Completed, fc.Failed, len(docs))
			}
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ingestion still running after 10 minutes: %+v", fc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	done := time.Now()
	ing := &ingestion{storeID: vs.ID, upload: uploaded.Sub(start), tail: done.Sub(added), total: done.Sub(start)}
	t := time.Now()
	if _, err := search(c, vs.ID, map[string]any{"query": "warm up", "max_num_results": 1}); err != nil {
		return nil, err
	}
	ing.firstSearch = time.Since(t)
	return ing, nil
}

// upload sends one file with purpose assistants and returns its id.
func upload(c *benchkit.Client, name, content string) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("purpose", "assistants")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	fw.Write([]byte(content))
	mw.Close()
	req, err := http.NewRequest("POST", c.Base+"/v1/files", &body)
	if err != nil {
		return "", err
	}
	c.Header(req)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var f struct {
		ID string `json:"id"`
	}
	if err := c.Send(req, &f); err != nil {
		return "", err
	}
	return f.ID, nil
}

type hit struct {
	Attributes struct {
		Doc string `json:"doc"`
	} `json:"attributes"`
}

func search(c *benchkit.Client, storeID string, body map[string]any) ([]string, error) {
	var page struct {
		Data []hit `json:"data"`
	}
	if err := c.Do("POST", "/v1/vector_stores/"+storeID+"/search", body, &page); err != nil {
		return nil, err
	}
	var out []string
	for _, h := range page.Data {
		if !slices.Contains(out, h.Attributes.Doc) {
			out = append(out, h.Attributes.Doc)
		}
	}
	return out, nil
}

// rank returns the query's first 100 documents: the API's 50, then 50 more
// from a search excluding those.
func rank(c *benchkit.Client, storeID, text string) ([]string, error) {
	first, err := search(c, storeID, map[string]any{"query": text, "max_num_results": 50})
	if err != nil || len(first) < 50 {
		return first, err
	}
	more, err := search(c, storeID, map[string]any{"query": text, "max_num_results": 50,
		"filters": map[string]any{"type": "nin", "key": "doc", "value": first}})
	if err != nil {
		return nil, err
	}
	return append(first, more...), nil
}

func rankAll(c *benchkit.Client, storeID string, queries []query, clients int) (map[string][]string, error) {
	ranked := make([][]string, len(queries))
	err := parallel(len(queries), clients, func(i int) (err error) {
		ranked[i], err = rank(c, storeID, queries[i].text)
		return err
	})
	out := make(map[string][]string, len(queries))
	for i, q := range queries {
		out[q.id] = ranked[i]
	}
	return out, err
}

// parallel calls do(i) for i in [0, n) from clients goroutines and returns
// the first error (the others then stop taking work).
func parallel(n, clients int, do func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// throughput sends every query passes times from clients concurrent
// clients (top 10, as file_search asks) and returns queries/s and latency.
func throughput(c *benchkit.Client, storeID string, queries []query, clients, passes int) (float64, benchkit.Stats, error) {
	total := len(queries) * passes
	lat := make([]time.Duration, total)
	start := time.Now()
	err := parallel(total, clients, func(i int) error {
		t := time.Now()
		_, err := search(c, storeID, map[string]any{"query": queries[i%len(queries)].text, "max_num_results": 10})
		lat[i] = time.Since(t)
		return err
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, benchkit.Stats{}, err
	}
	return float64(total) / elapsed.Seconds(), benchkit.Summarize(lat), nil
}

type metrics struct {
	n                           int
	ndcg10, recall10, recall100 float64
}

// evaluate scores rankings against graded judgments: nDCG@10 with linear
// gains (trec_eval's ndcg_cut, as BEIR reports it) and recall@k.
func evaluate(queries []query, rankings map[string][]string, qrels map[string]map[string]int) metrics {
	var m metrics
	for _, q := range queries {
		rel := qrels[q.id]
		ranked := rankings[q.id]
		var dcg float64
		for i, d := range ranked[:min(10, len(ranked))] {
			dcg += float64(rel[d]) / math.Log2(float64(i+2))
		}
		gains := make([]int, 0, len(rel))
		for _, g := range rel {
			gains = append(gains, g)
		}
		sort.Sort(sort.Reverse(sort.IntSlice(gains)))
		var idcg float64
		for i, g := range gains[:min(10, len(gains))] {
			idcg += float64(g) / math.Log2(float64(i+2))
		}
		if idcg > 0 {
			m.ndcg10 += dcg / idcg
		}
		m.recall10 += recall(ranked, rel, 10)
		m.recall100 += recall(ranked, rel, 100)
		m.n++
	}
	if m.n > 0 {
		m.ndcg10 /= float64(m.n)
		m.recall10 /= float64(m.n)
		m.recall100 /= float64(m.n)
	}
	return m
}

func recall(ranked []string, rel map[string]int, k int) float64 {
	found, total := 0, 0
	for d, g := range rel {
		if g <= 0 {
			continue
		}
		total++
		if slices.Contains(ranked[:min(k, len(ranked))], d) {
			found++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(found) / float64(total)
}

func readCorpus(path string, limit int) ([]doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (is the SciFact data at -data?)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []doc
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, doc{d.ID, d.Title, d.Text})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, sc.Err()
}

func readQueries(path string) ([]query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []query
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var q struct {
			ID   string `json:"_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, query{q.ID, q.Text})
	}
	return out, nil
}

func readQrels(path string) (map[string]map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields", path, i+1)
		}
		g, err := strconv.Atoi(f[2])
		if err != nil {
			if i == 0 {
				continue // header
			}
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if out[f[0]] == nil {
			out[f[0]] = map[string]int{}
		}
		out[f[0]][f[1]] = g
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no judgments")
	}
	return out, nil
}
