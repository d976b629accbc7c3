package index

import (
	"math"
	"slices"
	"sort"
)

// Query is one search.
type Query struct {
	// Text holds one or more query strings; a chunk's keyword score is its
	// best score over them.
	Text []string
	// Vector is the query's embedding, or nil for keyword search alone.
	Vector []float32
	// Limit is the most hits returned; 0 means 10.
	Limit int
	// ScoreThreshold drops hits scoring below it (0..1).
	ScoreThreshold float64
	// Keep filters by file; nil keeps every file.
	Keep func(fileID string) bool
}

// Hit is one search result.
type Hit struct {
	DocID  string
	FileID string
	// Score is in [0,1], higher is better. The keyword part is the chunk's
	// BM25F score (plus proximity bonus) divided by the most any chunk could
	// score for the same weighted query terms, that is the score of a chunk
	// holding every query term infinitely often and near each other: roughly
	// the share of the query's information the chunk matches. With vectors,
	// Score = (1-VectorWeight)·keyword + VectorWeight·max(0, cosine).
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
	qidx    []int8 // term id -> query term index+1, for proximity
	qterms  []qterm
	fb      map[uint32]float64
	last    []int32
	pairs   []float32
	pw      []float32
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

	useVec := len(q.Vector) > 0
	var results []scored
	switch {
	case len(q.Text) == 1 && !useVec:
		results = ix.keyword(s, q.Text[0], keep, limit)
		results = slices.Clone(results)
	default:
		results = ix.fused(s, q, keep, limit)
	}
	hits := make([]Hit, 0, len(results))
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
// combined by max over the strings, then mixed with cosine similarity.
func (ix *Index) fused(s *searchScratch, q Query, keep func(string) bool, limit int) []scored {
	depth := max(limit, ix.opts.RerankDepth)
	best := make(map[uint32]float32)
	for _, text := range q.Text {
		for _, r := range ix.keyword(s, text, keep, depth) {
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
			if !d.alive || len(d.vector) != len(q.Vector) || d.vnorm == 0 || qn == 0 {
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
	sort.Slice(xs, func(i, j int) bool {
		if xs[i].score != xs[j].score {
			return xs[i].score > xs[j].score
		}
		return xs[i].slot < xs[j].slot
	})
}

// keyword returns the top k chunks for one query string with normalised
// scores, best first, in scratch memory (valid until the next call on s).
func (ix *Index) keyword(s *searchScratch, text string, keep func(string) bool, k int) []scored {
	o := &ix.opts
	s.qterms = s.qterms[:0]
	ix.an.analyze(text, func(term string, _ int) {
		id, ok := ix.terms[term]
		if !ok || ix.df[id] == 0 {
			return
		}
		for i := range s.qterms {
			if s.qterms[i].id == id {
				s.qterms[i].w++
				return
			}
		}
		s.qterms = append(s.qterms, qterm{id: id, w: 1, idf: ix.idf(id)})
	})
	if len(s.qterms) == 0 || ix.live == 0 {
		return nil
	}
	depth := k
	if !o.DisableProximity {
		depth = max(depth, o.RerankDepth)
	}
	if !o.DisableFeedback {
		depth = max(depth, o.FeedbackDocs)
	}
	qt := s.qterms
	top := ix.retrieve(s, qt, keep, depth)
	ub := ix.upperBound(qt)
	if !o.DisableFeedback && len(top) > 0 {
		qt = ix.expand(s, top)
		top = ix.retrieve(s, qt, keep, depth)
		ub = ix.upperBound(qt)
	}
	// Proximity uses the original query's order: adjacent words in the
	// question are the phrases worth rewarding.
	if !o.DisableProximity && len(s.qterms) > 1 {
		ub += ix.proximity(s, qt[:len(s.qterms)], top)
		sortScored(top)
	}
	if ub > 0 {
		inv := float32(1 / ub)
		for i := range top {
			top[i].score = min(top[i].score*inv, 1)
		}
	}
	if len(top) > k {
		top = top[:k]
	}
	return top
}

// idf is BM25's inverse document frequency (Lucene's, never negative).
func (ix *Index) idf(id uint32) float64 {
	df := float64(ix.df[id])
	return math.Log(1 + (float64(ix.live)-df+0.5)/(df+0.5))
}

func (ix *Index) upperBound(qt []qterm) float64 {
	var ub float64
	for _, t := range qt {
		ub += t.w * t.idf * (ix.opts.K1 + 1)
	}
	return ub
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

// expand builds the RM3 query: the original terms (weights summing to 1)
// mixed with the heaviest terms of the feedback documents, each weighted by
// its share of the documents' text times the document's score share.
func (ix *Index) expand(s *searchScratch, top []scored) []qterm {
	o := &ix.opts
	nfb := min(o.FeedbackDocs, len(top))
	if s.fb == nil {
		s.fb = make(map[uint32]float64)
	}
	clear(s.fb)
	var total float64
	for _, r := range top[:nfb] {
		total += float64(r.score)
	}
	for _, r := range top[:nfb] {
		d := &ix.docs[r.slot]
		l := float64(d.textLen + d.titleLen)
		if l == 0 || total == 0 {
			continue
		}
		dw := float64(r.score) / total / l
		for _, p := range d.terms {
			s.fb[p.doc] += dw * float64(p.tf+p.title)
		}
	}
	type tw struct {
		id uint32
		w  float64
	}
	cand := make([]tw, 0, len(s.fb))
	for id, w := range s.fb {
		cand = append(cand, tw{id, w})
	}
	sort.Slice(cand, func(i, j int) bool {
		if cand[i].w != cand[j].w {
			return cand[i].w > cand[j].w
		}
		return cand[i].id < cand[j].id
	})
	cand = cand[:min(len(cand), o.FeedbackTerms)]
	var fbSum, qSum float64
	for _, c := range cand {
		fbSum += c.w
	}
	for _, t := range s.qterms {
		qSum += t.w
	}
	lam := o.FeedbackWeight
	out := make([]qterm, 0, len(s.qterms)+len(cand))
	for _, t := range s.qterms {
		t.w = (1 - lam) * t.w / qSum
		out = append(out, t)
	}
	for _, c := range cand {
		w := lam * c.w / fbSum
		if i := slices.IndexFunc(out, func(t qterm) bool { return t.id == c.id }); i >= 0 {
			out[i].w += w
			continue
		}
		out = append(out, qterm{id: c.id, w: w, idf: ix.idf(c.id)})
	}
	return out
}

// proximity adds to each of top a bonus for pairs of query terms adjacent
// in the query that occur within ProximityWindow positions of each other in
// the chunk text (either order), saturated like a BM25 term with weight the
// lesser idf of the two. It returns the largest bonus possible.
func (ix *Index) proximity(s *searchScratch, qt []qterm, top []scored) float64 {
	o := &ix.opts
	if len(qt) > 127 {
		qt = qt[:127]
	}
	if cap(s.qidx) < len(ix.postings) {
		s.qidx = make([]int8, len(ix.postings))
	}
	s.qidx = s.qidx[:len(ix.postings)]
	for i, t := range qt {
		s.qidx[t.id] = int8(i + 1)
	}
	defer func() {
		for _, t := range qt {
			s.qidx[t.id] = 0
		}
	}()
	nq := len(qt)
	if cap(s.last) < nq {
		s.last = make([]int32, nq)
		s.pairs = make([]float32, nq)
	}
	last, pairs := s.last[:nq], s.pairs[:nq]
	// Pair i joins query terms i and i+1.
	pw := s.pw[:0]
	var ub float64
	for i := 0; i+1 < nq; i++ {
		w := o.ProximityWeight * math.Min(qt[i].w*qt[i].idf, qt[i+1].w*qt[i+1].idf) * (o.K1 + 1)
		ub += w
		pw = append(pw, float32(w))
	}
	s.pw = pw
	win := int32(o.ProximityWindow)
	k1 := float32(o.K1)
	for ti := range top {
		d := &ix.docs[top[ti].slot]
		for i := range last {
			last[i] = -1 << 30
			pairs[i] = 0
		}
		for pos, id := range d.seq {
			if id == noTerm {
				continue
			}
			j := int(s.qidx[id]) - 1
			if j < 0 {
				continue
			}
			p := int32(pos)
			if j > 0 && p-last[j-1] <= win {
				pairs[j-1]++
			}
			if j+1 < nq && p-last[j+1] <= win {
				pairs[j]++
			}
			last[j] = p
		}
		var bonus float32
		for i := 0; i+1 < nq; i++ {
			if c := pairs[i]; c > 0 {
				bonus += pw[i] * c / (k1 + c)
			}
		}
		top[ti].score += bonus
	}
	return ub
}
