package index

func sweepVariants() []variant {
	base := Options{DisableFeedback: true, DisableProximity: true}
	vs := []variant{{"bm25f default", base}}
	return vs
}
