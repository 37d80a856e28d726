//go:build linux

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// The CPU table: server CPU µs per reply of each implementation, and the
// ratios between them, as ranges over rounds. CPU per reply is the figure
// that depends least on the generator and on other load: a pinned server
// that is kept waiting spends no CPU.

// usPerReply is a run's server CPU per reply in µs; 0 without replies.
func usPerReply(r Result) float64 {
	if r.Responses == 0 {
		return 0
	}
	return r.CPUSeconds * 1e6 / float64(r.Responses)
}

// span is the range of a figure over rounds.
type span struct {
	Lo  float64 `json:"lo"`
	Med float64 `json:"median"`
	Hi  float64 `json:"hi"`
	N   int     `json:"rounds"`
}

func spanOf(v []float64) span {
	if len(v) == 0 {
		return span{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return span{Lo: s[0], Med: median(s), Hi: s[len(s)-1], N: len(s)}
}

// format prints "lo-hi" with prec decimals, one figure when they are equal,
// "-" when empty.
func (s span) format(prec int) string {
	if s.N == 0 {
		return "-"
	}
	lo, hi := fmt.Sprintf("%.*f", prec, s.Lo), fmt.Sprintf("%.*f", prec, s.Hi)
	if lo == hi {
		return lo
	}
	return lo + "-" + hi
}

// cpuColumn is one implementation's column; cpuRatio a ratio column a/b.
type cpuColumn struct{ label, impl string }
type cpuRatio struct{ label, a, b string }

// cpuRow is one workload's figures: per impl the µs per reply, per ratio
// the per-round ratios.
type cpuRow struct {
	Workload string          `json:"workload"`
	Micros   map[string]span `json:"us_per_reply"`
	Ratios   map[string]span `json:"ratios"`
}

// cpuRows computes the table from the runs (named workload/impl, with
// Round set). A ratio is taken within each round, so that both servers of
// a pair ran back to back.
func cpuRows(runs []Result, workloads []string, cols []cpuColumn, ratios []cpuRatio) []cpuRow {
	var rows []cpuRow
	for _, wl := range workloads {
		byRound := map[string]map[int]float64{}
		for _, r := range runs {
			w, im, ok := strings.Cut(r.Name, "/")
			if !ok || w != wl || r.Responses == 0 {
				continue
			}
			if byRound[im] == nil {
				byRound[im] = map[int]float64{}
			}
			byRound[im][r.Round] = usPerReply(r)
		}
		if len(byRound) == 0 {
			continue
		}
		row := cpuRow{Workload: wl, Micros: map[string]span{}, Ratios: map[string]span{}}
		for _, c := range cols {
			var v []float64
			for _, x := range byRound[c.impl] {
				v = append(v, x)
			}
			row.Micros[c.impl] = spanOf(v)
		}
		for _, q := range ratios {
			var v []float64
			for round, a := range byRound[q.a] {
				if b, ok := byRound[q.b][round]; ok && b > 0 {
					v = append(v, a/b)
				}
			}
			row.Ratios[q.label] = spanOf(v)
		}
		rows = append(rows, row)
	}
	return rows
}

// printCPUTable prints the rows; ratios are lower-is-better for the first
// implementation of each pair.
func printCPUTable(w io.Writer, rows []cpuRow, cols []cpuColumn, ratios []cpuRatio) {
	fmt.Fprintf(w, "%-15s", "workload")
	for _, c := range cols {
		fmt.Fprintf(w, " %13s", c.label)
	}
	for _, q := range ratios {
		fmt.Fprintf(w, " %13s", q.label)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "%-15s", r.Workload)
		for _, c := range cols {
			fmt.Fprintf(w, " %13s", r.Micros[c.impl].format(1))
		}
		for _, q := range ratios {
			fmt.Fprintf(w, " %13s", r.Ratios[q.label].format(2))
		}
		fmt.Fprintln(w)
	}
}
