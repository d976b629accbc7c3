package benchkit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Stats summarises samples (nearest-rank percentiles).
type Stats struct {
	N                  int
	P50, P99, Max, Min time.Duration
}

// Summarize sorts a copy of samples and summarises it; no samples give
// zero Stats.
func Summarize(samples []time.Duration) Stats {
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s) == 0 {
		return Stats{}
	}
	return Stats{N: len(s), P50: Percentile(s, 0.50), P99: Percentile(s, 0.99), Max: s[len(s)-1], Min: s[0]}
}

// Percentile returns the nearest-rank percentile p (0..1) of sorted
// samples, 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Millis formats d in milliseconds with the given number of decimals,
// e.g. "1.25 ms".
func Millis(d time.Duration, decimals int) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', decimals, 64) + " ms"
}

// MiB formats a byte count in MiB, e.g. "12.3 MiB".
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Table collects the rows of a measure / target / measured / verdict table.
type Table struct {
	widths [3]int
	rows   [][4]string
	// Miss is set once a row with a verdict missed its target.
	Miss bool
}

// NewTable returns a table whose first three columns are padded to the
// given widths.
func NewTable(measure, target, measured int) *Table {
	return &Table{widths: [3]int{measure, target, measured}}
}

// Row adds a row; ok nil means the row has no verdict, otherwise it is "ok"
// or "MISS".
func (t *Table) Row(name, target, measured string, ok *bool) {
	verdict := ""
	if ok != nil {
		verdict = "MISS"
		if *ok {
			verdict = "ok"
		} else {
			t.Miss = true
		}
	}
	t.rows = append(t.rows, [4]string{name, target, measured, verdict})
}

// Print writes the header, the rows and an empty line to standard output.
func (t *Table) Print() {
	t.line("measure", "target", "measured", "")
	for _, r := range t.rows {
		t.line(r[0], r[1], r[2], r[3])
	}
	fmt.Println()
}

// ExitCode is 1 when check is set and a target was missed, 0 otherwise.
func (t *Table) ExitCode(check bool) int {
	if check && t.Miss {
		return 1
	}
	return 0
}

func (t *Table) line(a, b, c, d string) {
	fmt.Printf("%-*s %-*s %-*s %s\n", t.widths[0], a, t.widths[1], b, t.widths[2], c, d)
}

// OK returns a pointer to b, for Row.
func OK(b bool) *bool { return &b }
