package index

import (
	"math"
	"slices"
)

// Query is one search.
type Query struct {
	// Text holds one or more query strings; a chunk's keyword score is its
	// best score over them.
	Text []string
	// Vector is the query's embedding, or nil for keyword search alone;
	// chunks whose vectors differ in dimension are compared on keywords
	// only.
	Vector []float32
	// Limit is the most hits returned; 0 means 10.
	Limit int
	// ScoreThreshold drops hits scoring below it (0..1).
	ScoreThreshold float64
	// Keep filters by file; nil keeps every file. It is called under the
	// index's read lock, so it must not call the Index.
	Keep func(fileID string) bool
	// NoRerank skips the trigram rerank (OpenAI's ranker "none"): words
	// alone, as the first pass ranks them.
	NoRerank bool
}

// Hit is one search result.
type Hit struct {
	DocID  string
	FileID string
	// Score is in [0,1], higher is better, and comparable across queries
	// enough for a threshold. The keyword score mixes two parts, each the
	// chunk's BM25 score divided by the most any chunk could score for the
	// query (one holding every query word, or trigram, infinitely often),
	// that is roughly the share of the query the chunk matches:
	// keyword = (1-NgramWeight)·words + NgramWeight·trigrams. A query none
	// of whose words is indexed is scored on trigrams alone, so at most
	// NgramWeight. With vectors, Score = (1-VectorWeight)·keyword +
	// VectorWeight·max(0, cosine).
	Score float64
}

// qterm is one weighted query term.
type qterm struct {
	id  uint32
	w   float64 // query weight
	idf float64
}

type scored struct {
	slot  uint32
	score float32
}

// searchScratch holds a search's working memory, pooled per Index so a
// search allocates little.
type searchScratch struct {
	acc     []float32
	touched []uint32
	top     []scored
	qterms  []qterm
	// qgram maps a trigram id to its query weight·idf·(k1+1), 0 when the
	// query lacks it; qgrams lists the ids set, to clear them.
	qgram  []float32
	qgrams []uint32
	qbits  []uint64 // the same set as a bitset, small enough for L1
	// missingWords and missingGrams are the query's words and trigrams
	// the index lacks (see coverage).
	missingWords []string
	missingGrams []gramKey
}

// Search returns the best hits for q, best first.
func (ix *Index) Search(q Query) []Hit {
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	keep := q.Keep
	if keep == nil {
		keep = func(string) bool { return true }
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := ix.scratch.Get().(*searchScratch)
	defer ix.scratch.Put(s)
	n := len(ix.docs)
	if cap(s.acc) < n {
		s.acc = make([]float32, n)
	}
	s.acc = s.acc[:n]

	var results []scored
	if len(q.Text) == 1 && len(q.Vector) == 0 {
		results = ix.keyword(s, q.Text[0], keep, limit, !q.NoRerank)
	} else {
		results = ix.fused(s, q, keep, limit)
	}
	hits := make([]Hit, 0, min(len(results), limit))
	for _, r := range results {
		if float64(r.score) < q.ScoreThreshold || len(hits) == limit {
			break
		}
		d := &ix.docs[r.slot]
		hits = append(hits, Hit{DocID: d.id, FileID: d.fileID, Score: float64(r.score)})
	}
	return hits
}

// fused handles several query strings and vectors: keyword scores are
// combined by max over the strings, then mixed with cosine similarity over
// every chunk whose vector has the query's dimension (brute force).
func (ix *Index) fused(s *searchScratch, q Query, keep func(string) bool, limit int) []scored {
	depth := limit
	if len(q.Vector) > 0 {
		// A chunk just past the keyword limit may still win on cosine.
		depth = max(limit, ix.opts.RerankDepth)
	}
	best := make(map[uint32]float32)
	for _, text := range q.Text {
		for _, r := range ix.keyword(s, text, keep, depth, !q.NoRerank) {
			if r.score > best[r.slot] {
				best[r.slot] = r.score
			}
		}
	}
	if len(q.Vector) > 0 {
		a := float32(ix.opts.VectorWeight)
		for slot, v := range best {
			best[slot] = (1 - a) * v
		}
		qn := norm32(q.Vector)
		for slot := range ix.docs {
			d := &ix.docs[slot]
			if qn == 0 || !d.alive || len(d.vector) != len(q.Vector) || d.vnorm == 0 {
				continue
			}
			cos := dot32(d.vector, q.Vector) / (d.vnorm * qn)
			if cos <= 0 {
				continue
			}
			if _, ok := best[uint32(slot)]; !ok && !keep(d.fileID) {
				continue
			}
			best[uint32(slot)] += a * cos
		}
	}
	out := make([]scored, 0, len(best))
	for slot, v := range best {
		out = append(out, scored{slot, min(v, 1)})
	}
	sortScored(out)
	return out
}

func norm32(v []float32) float32 { return float32(math.Sqrt(float64(dot32(v, v)))) }

func dot32(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sortScored(xs []scored) {
	slices.SortFunc(xs, func(a, b scored) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
}

// keyword returns the top k kept chunks for one query string with
// normalised scores, best first, in scratch memory (valid until the next
// call on s).
func (ix *Index) keyword(s *searchScratch, text string, keep func(string) bool, k int, rerank bool) []scored {
	o := &ix.opts
	s.qterms = s.qterms[:0]
	useGrams := !o.DisableNgrams && rerank
	if cap(s.qgram) < len(ix.gramDF) {
		s.qgram = make([]float32, len(ix.gramDF))
	}
	s.qgram = s.qgram[:len(ix.gramDF)]
	if nw := (len(ix.gramDF) + 63) / 64; cap(s.qbits) < nw {
		s.qbits = make([]uint64, nw)
	} else {
		s.qbits = s.qbits[:nw]
	}
	s.qgrams = s.qgrams[:0]
	s.missingWords, s.missingGrams = s.missingWords[:0], s.missingGrams[:0]
	// Query words and trigrams no chunk holds do not change the ranking,
	// but they lower every score by the share of the query's weight they
	// carry (at the idf of a term in no chunk): a store lacking most of the
	// query must not give its few partial matches high scores, so that
	// scores compare across stores and a threshold means the same in each.
	absent := ix.idfOf(0) * (o.K1 + 1)
	var gramUB, gramMissing float64
	gram := func(key gramKey) {
		id, ok := ix.gramIDs[key]
		if !ok || ix.gramDF[id] == 0 {
			if !slices.Contains(s.missingGrams, key) {
				s.missingGrams = append(s.missingGrams, key)
				gramMissing += absent
			}
			return
		}
		if s.qgram[id] != 0 {
			return // each query trigram counts once
		}
		w := ix.idfOf(ix.gramDF[id]) * (o.K1 + 1)
		s.qgram[id] = float32(w)
		s.qbits[id>>6] |= 1 << (id & 63)
		s.qgrams = append(s.qgrams, id)
		gramUB += w
	}
	var word func(string)
	if useGrams {
		word = func(w string) { trigrams(w, gram) }
	}
	ix.an.analyze(text, func(term string) {
		id, ok := ix.terms[term]
		if !ok || ix.df[id] == 0 {
			if !slices.Contains(s.missingWords, term) {
				s.missingWords = append(s.missingWords, term)
			}
			return
		}
		for i := range s.qterms {
			if s.qterms[i].id == id {
				return // a repeated query word counts once
			}
		}
		s.qterms = append(s.qterms, qterm{id: id, w: 1, idf: ix.idfOf(ix.df[id])})
	}, word)
	defer func() {
		for _, id := range s.qgrams {
			s.qgram[id] = 0
			s.qbits[id>>6] = 0
		}
	}()
	if len(s.qterms) == 0 && len(s.qgrams) == 0 || ix.live == 0 {
		return nil
	}
	depth := k
	if useGrams {
		depth = max(depth, o.RerankDepth)
	}
	top := ix.retrieve(s, s.qterms, keep, depth)
	var ub float64
	for _, t := range s.qterms {
		ub += t.w * t.idf * (o.K1 + 1)
	}
	coverage := 1.0
	if wordMissing := float64(len(s.missingWords)) * absent; ub > 0 {
		coverage = ub / (ub + wordMissing)
	} else if gramUB > 0 {
		coverage = gramUB / (gramUB + gramMissing)
	}
	ww := float32(1)
	if useGrams {
		ww = float32(1 - o.NgramWeight)
	}
	if ub > 0 {
		ww /= float32(ub)
	}
	for i := range top {
		top[i].score *= ww
	}
	if useGrams && len(s.qgrams) > 0 {
		if len(s.qterms) == 0 {
			// No query word is in the index (a misspelling, a spelling
			// variant): score every chunk on trigrams alone. Rare, and
			// linear in the index, so only then.
			top = ix.allKept(s, keep)
		}
		ix.rerankGrams(s, top, float32(o.NgramWeight/gramUB))
		top = slices.DeleteFunc(top, func(r scored) bool { return r.score == 0 })
		sortScored(top)
	}
	for i := range top {
		top[i].score = min(top[i].score, 1) * float32(coverage)
	}
	if len(top) > k {
		top = top[:k]
	}
	return top
}

// allKept returns every live chunk that keep accepts, scored 0, in s.top.
func (ix *Index) allKept(s *searchScratch, keep func(string) bool) []scored {
	out := s.top[:0]
	for slot := range ix.docs {
		if d := &ix.docs[slot]; d.alive && keep(d.fileID) {
			out = append(out, scored{slot: uint32(slot)})
		}
	}
	s.top = out
	return out
}

// idfOf is BM25's inverse document frequency (Lucene's, never negative).
func (ix *Index) idfOf(df int32) float64 {
	d := float64(df)
	return math.Log(1 + (float64(ix.live)-d+0.5)/(d+0.5))
}

// rerankGrams adds to each of top its trigram BM25 score times scale.
func (ix *Index) rerankGrams(s *searchScratch, top []scored, scale float32) {
	k1 := float32(ix.opts.K1)
	qg, bits := s.qgram, s.qbits
	for i := range top {
		norm := ix.gramNorm[top[i].slot]
		var sum float32
		for _, g := range ix.docs[top[i].slot].grams {
			id := g >> 8
			if bits[id>>6]&(1<<(id&63)) == 0 {
				continue
			}
			f := float32(g&0xff) * norm
			sum += qg[id] * f / (k1 + f)
		}
		top[i].score += sum * scale
	}
}

// retrieve scores every chunk holding a query term (BM25F) and returns the
// top k kept ones, best first, in s.top.
func (ix *Index) retrieve(s *searchScratch, qt []qterm, keep func(string) bool, k int) []scored {
	k1 := float32(ix.opts.K1)
	tw := float32(ix.opts.TitleWeight)
	acc, tn, ttn := s.acc, ix.textNorm, ix.titleNorm
	s.touched = s.touched[:0]
	for _, t := range qt {
		wt := float32(t.w * t.idf * (ix.opts.K1 + 1))
		for _, p := range ix.postings[t.id] {
			d := p.doc
			norm := tn[d]
			if norm == 0 {
				continue // removed
			}
			f := float32(p.tf)*norm + tw*float32(p.title)*ttn[d]
			if acc[d] == 0 {
				s.touched = append(s.touched, d)
			}
			acc[d] += wt * f / (k1 + f)
		}
	}
	// Select the top k with a min-heap on s.top, asking keep only for
	// chunks good enough to enter it.
	h := s.top[:0]
	for _, d := range s.touched {
		v := acc[d]
		acc[d] = 0
		if len(h) == k && !better(scored{d, v}, h[0]) {
			continue
		}
		if !keep(ix.docs[d].fileID) {
			continue
		}
		if len(h) < k {
			h = append(h, scored{d, v})
			siftUp(h, len(h)-1)
		} else {
			h[0] = scored{d, v}
			siftDown(h, 0)
		}
	}
	s.top = h
	sortScored(h)
	return h
}

// better orders hits: higher score, then lower slot for stable results.
func better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.slot < b.slot
}

// siftUp and siftDown keep h a min-heap under better (worst at h[0]).
func siftUp(h []scored, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && better(h[l], h[r]) {
			m = r
		}
		if !better(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
