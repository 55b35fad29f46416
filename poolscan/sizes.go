package poolscan

// TopSizes keeps the n sizes with the most blocks, in size order, and
// folds the rest into one entry of Size 0.
func TopSizes(sizes []SizeCount, n int) []SizeCount {
	if len(sizes) <= n {
		return sizes
	}
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	// a partial selection sort: n is small.
	for i := 0; i < n; i++ {
		for j := i + 1; j < len(idx); j++ {
			if sizes[idx[j]].Blocks > sizes[idx[i]].Blocks {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	keep := map[int]bool{}
	for _, i := range idx[:n] {
		keep[i] = true
	}
	var out []SizeCount
	var other int64
	for i, s := range sizes {
		if keep[i] {
			out = append(out, s)
		} else {
			other += s.Blocks
		}
	}
	return append(out, SizeCount{0, other})
}
