package index

func sweepVariants() []variant {
	base := DefaultOptions()
	var vs []variant
	for _, g := range []float64{0.4, 0.5} {
		for _, k1 := range []float64{0.9, 1.2, 1.5} {
			for _, b := range []float64{0.6, 0.75, 0.9} {
				for _, tw := range []float64{1, 2} {
					o := base
					o.NgramWeight, o.K1, o.B, o.TitleWeight = g, k1, b, tw
					vs = append(vs, variant{"g" + ftoa(g) + " k1 " + ftoa(k1) + " b " + ftoa(b) + " tw " + ftoa(tw), o})
				}
			}
		}
	}
	return vs
}
