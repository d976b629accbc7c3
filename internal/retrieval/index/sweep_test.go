package index

// sweepVariants are the ablations behind the defaults: each variant moves
// one option from DefaultOptions. Run with ASSISTD_SCIFACT_SWEEP=1.
func sweepVariants() []variant {
	base := DefaultOptions()
	vs := []variant{{"default", base}}
	with := func(name string, f func(o *Options)) {
		o := base
		f(&o)
		vs = append(vs, variant{name, o})
	}
	with("no trigram rerank", func(o *Options) { o.DisableNgrams = true })
	with("no stemming", func(o *Options) { o.Analyzer.NoStem = true })
	with("no stopwords", func(o *Options) { o.Analyzer.Stopwords = []string{} })
	for _, g := range []float64{0.3, 0.5} {
		with("trigram weight "+ftoa(g), func(o *Options) { o.NgramWeight = g })
	}
	for _, d := range []int{50, 200} {
		with("rerank depth "+ftoa(float64(d)), func(o *Options) { o.RerankDepth = d })
	}
	for _, k1 := range []float64{0.9, 1.5} {
		with("k1 "+ftoa(k1), func(o *Options) { o.K1 = k1 })
	}
	for _, b := range []float64{0.75, 0.9} {
		with("b "+ftoa(b), func(o *Options) { o.B = b })
	}
	with("title weight 1e-9", func(o *Options) { o.TitleWeight = 1e-9 })
	with("title weight 2", func(o *Options) { o.TitleWeight = 2 })
	return vs
}
