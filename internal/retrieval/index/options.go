package index

// Options are the index's tuned parameters. A zero field takes the default
// given in its comment, measured on SciFact's odd-numbered training queries
// (scifact_test.go); set a Disable field to turn a feature off.
type Options struct {
	// K1 is BM25's term-frequency saturation. Default 1.2.
	K1 float64
	// B is BM25's length normalisation of the text field. Default 0.75.
	B float64
	// TitleB is the length normalisation of the title field. Default 0.75.
	TitleB float64
	// TitleWeight is how much a title occurrence counts against one in the
	// text (BM25F). Default 1.
	TitleWeight float64

	// FeedbackDocs, FeedbackTerms and FeedbackWeight configure RM3
	// pseudo-relevance feedback: the first pass's best FeedbackDocs hits
	// lend their FeedbackTerms heaviest terms to a second pass, where they
	// weigh FeedbackWeight against 1-FeedbackWeight for the query. Defaults
	// 10, 10, 0.5.
	FeedbackDocs   int
	FeedbackTerms  int
	FeedbackWeight float64
	// DisableFeedback turns pseudo-relevance feedback off.
	DisableFeedback bool

	// ProximityWeight scales the bonus for adjacent query terms that occur
	// within ProximityWindow positions of each other, applied to the best
	// RerankDepth hits. Defaults 0.1, 8, 100.
	ProximityWeight float64
	ProximityWindow int
	RerankDepth     int
	// DisableProximity turns the proximity bonus off.
	DisableProximity bool

	// VectorWeight is the share of the cosine similarity in a hybrid score
	// (the keyword score has the rest). Default 0.5.
	VectorWeight float64

	// Analyzer configures tokenisation, stopwords and stemming.
	Analyzer AnalyzerOptions
}

// DefaultOptions returns the options New uses for zero fields.
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.K1, 1.2)
	def(&o.B, 0.75)
	def(&o.TitleB, 0.75)
	def(&o.TitleWeight, 1)
	defInt(&o.FeedbackDocs, 10)
	defInt(&o.FeedbackTerms, 10)
	def(&o.FeedbackWeight, 0.5)
	def(&o.ProximityWeight, 0.1)
	defInt(&o.ProximityWindow, 8)
	defInt(&o.RerankDepth, 100)
	def(&o.VectorWeight, 0.5)
	return o
}
