package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

// printTable prints one line per metric measured — each registry's figure
// (cell formats its samples), ours against the second registry, ours as
// a fraction of the metric's ceiling (named by ceilName) — and returns the
// rows for the JSON report.
func printTable(ms []metric, res samples, regs []registry, ceil map[string]float64, ceilName func(string) string, cell func([]float64) string) []jsonRow {
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	header := "benchmark\tunit\t"
	for _, r := range regs {
		header += r.name + "\t"
	}
	if len(regs) > 1 {
		header += "vs best\t"
	}
	fmt.Fprintln(tw, header+"of ceiling\t")
	var rows []jsonRow
	for _, m := range ms {
		if res[m.id] == nil {
			continue
		}
		row := jsonRow{ID: m.id, Title: m.title, Unit: m.unit, HigherIsBetter: m.higherIsBetter, Medians: map[string]float64{}, Samples: res[m.id]}
		line := m.title + "\t" + m.unit + "\t"
		for _, r := range regs {
			row.Medians[r.name] = median(res[m.id][r.name])
			line += cell(res[m.id][r.name]) + "\t"
		}
		if len(regs) > 1 {
			var b float64
			row.Best, b = bestOther(row.Medians, regs[0].name, m.higherIsBetter)
			a := row.Medians[regs[0].name]
			if m.higherIsBetter && b > 0 {
				row.Advantage = a / b
			} else if !m.higherIsBetter && a > 0 {
				row.Advantage = b / a
			}
			line += fmt.Sprintf("%.2f×\t", row.Advantage)
		}
		if m.ceiling != "" && ceil[m.ceiling] > 0 {
			row.CeilingName, row.CeilingMiBPerSec = ceilName(m.ceiling), ceil[m.ceiling]
			row.CeilingFraction = row.Medians[regs[0].name] / ceil[m.ceiling]
			line += fmt.Sprintf("%.0f%% %s\t", 100*row.CeilingFraction, m.ceiling)
		} else {
			line += "\t"
		}
		fmt.Fprintln(tw, line)
		rows = append(rows, row)
	}
	tw.Flush()
	return rows
}
