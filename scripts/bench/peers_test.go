package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCompare: a figure more than 10% worse is flagged, whichever way
// "better" points; one within 10% or better is not.
func TestCompare(t *testing.T) {
	prev := []jsonRow{
		{ID: "c.small", HigherIsBetter: true, Medians: map[string]float64{"layerlab": 100, "olareg": 100}},
		{ID: "f.repush", HigherIsBetter: false, Medians: map[string]float64{"layerlab": 2.0}},
		{ID: "d.get", HigherIsBetter: true, Medians: map[string]float64{"layerlab": 1000}},
	}
	b, _ := json.Marshal(map[string]any{"results": prev})
	path := filepath.Join(t.TempDir(), "prev.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	now := []jsonRow{
		{ID: "c.small", HigherIsBetter: true, Medians: map[string]float64{"layerlab": 89, "olareg": 95}}, // ours 11% worse
		{ID: "f.repush", HigherIsBetter: false, Medians: map[string]float64{"layerlab": 2.3}},            // 13% slower
		{ID: "d.get", HigherIsBetter: true, Medians: map[string]float64{"layerlab": 1200}},               // better
	}
	if n := compareWith(path, now); n != 2 {
		t.Errorf("%d figures flagged, want 2", n)
	}
}

func TestCell(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want string
	}{
		{[]float64{225, 207, 236}, "225 [207–236]"},
		{[]float64{2.6}, "2.60"},
		{nil, "–"},
	} {
		if got := cell(c.v); got != c.want {
			t.Errorf("cell(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
