package index

func sweepVariants() []variant {
	base := DefaultOptions()
	vs := []variant{{"default", base}}
	with := func(name string, f func(o *Options)) {
		o := base
		f(&o)
		vs = append(vs, variant{name, o})
	}
	for _, r := range []int{20, 30, 50, 200} {
		with("depth "+ftoa(float64(r)), func(o *Options) { o.RerankDepth = r })
	}
	return vs
}
