package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"
)

// runScale measures every size and prints the growth table: each figure
// per size, and how it grew from one size to the next (size ratio beside).
func runScale(bin string, sizes []int, loadFor time.Duration, kept, out string) {
	results := make([]map[string]float64, len(sizes))
	for i, n := range sizes {
		results[i] = benchScale(bin, n, loadFor, kept)
	}
	prio := os.Getenv("REGISTRY_PRIORITY") // du and gc inherit it, as a user's would
	if prio == "" {
		prio = "idle (the default)"
	}
	fmt.Printf("\nlayerlab scale benchmark — filesystem store, one tiny image per repository, %d shared layers; %s, %d cores; du and gc at --priority %s\n\n",
		sharedLayers, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), prio)
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	header := "repositories\tunit\t"
	for i, n := range sizes {
		header += fmt.Sprintf("%d\t", n)
		if i > 0 {
			header += fmt.Sprintf("×%.0f\t", float64(n)/float64(sizes[i-1]))
		}
	}
	fmt.Fprintln(tw, header)
	type row struct {
		ID, Title, Unit string
		Values          map[int]float64
		Growth          []float64
	}
	var rows []row
	for _, m := range scaleMetrics {
		r := row{ID: m.id, Title: m.title, Unit: m.unit, Values: map[int]float64{}}
		line := m.title + "\t" + m.unit + "\t"
		for i, n := range sizes {
			v := results[i][m.id]
			r.Values[n] = v
			line += fmt.Sprintf("%.*f\t", digits(v), v)
			if i > 0 {
				g := 0.0
				if prev := results[i-1][m.id]; prev > 0 {
					g = v / prev
				}
				r.Growth = append(r.Growth, g)
				line += fmt.Sprintf("%.1f×\t", g)
			}
		}
		fmt.Fprintln(tw, line)
		rows = append(rows, r)
	}
	tw.Flush()
	fmt.Println("\n×N columns: how the figure grew from the size before (whole-store work may grow like the store; per-page and per-request work should stay near 1×)")
	os.MkdirAll(filepath.Dir(out), 0o755)
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "benchmark": "scale", "sizes": sizes,
		"cores": runtime.NumCPU(), "results": rows}, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", out)
}

func digits(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}
