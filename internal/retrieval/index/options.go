package index

// Options are the index's tuned parameters. The defaults are the values
// measured best on SciFact's odd-numbered training queries
// (eval_test.go); a zero field takes its default, so Options{} is what
// ships.
type Options struct {
	// K1 is BM25's term-frequency saturation. Default 1.2.
	K1 float64
	// B is BM25's length normalisation of the text field (and of the
	// trigram bag). Default 0.6.
	B float64
	// TitleB is the length normalisation of the title field. Default 0.75.
	TitleB float64
	// TitleWeight is how much a title occurrence counts against one in the
	// text (BM25F). Default 1.
	TitleWeight float64

	// NgramWeight is the share of the character-trigram score in the
	// keyword score of the best RerankDepth chunks of the word search.
	// Defaults 0.4 and 100.
	NgramWeight float64
	RerankDepth int
	// DisableNgrams turns the trigram rerank off (plain BM25F).
	DisableNgrams bool

	// VectorWeight is the share of the cosine similarity in a hybrid score
	// (the keyword score has the rest). Default 0.5.
	VectorWeight float64

	// Analyzer configures tokenisation, stopwords and stemming.
	Analyzer AnalyzerOptions
}

// DefaultOptions returns the shipped options with every default filled in.
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.K1, 1.2)
	def(&o.B, 0.6)
	def(&o.TitleB, 0.75)
	def(&o.TitleWeight, 1)
	def(&o.NgramWeight, 0.4)
	def(&o.VectorWeight, 0.5)
	if o.RerankDepth == 0 {
		o.RerankDepth = 100
	}
	return o
}
