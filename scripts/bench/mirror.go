package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"
)

// The pull-through cache (-only mirror): an upstream layerlab holding the
// big blob, and a layerlab mirroring hub/ from it. Measured, blob digests
// verified by the client:
//
//	direct  the blob pulled from the upstream itself
//	first   the first pull through the mirror (fetched, stored, streamed)
//	second  the next pull through the mirror (from its store)
//	local   the same blob pushed to the mirror's own repository and pulled
//	rss     the mirror's peak resident memory over all of it
//
// Targets: first ≥ 80% of direct, second as fast as local, RSS ≤ 64 MiB.

var mirrorMetrics = []metric{
	{"m.direct", "pull from the upstream, direct", "MiB/s", true, ""},
	{"m.first", "first pull through the mirror", "MiB/s", true, ""},
	{"m.second", "second pull through the mirror", "MiB/s", true, ""},
	{"m.local", "pull of a local blob of the mirror", "MiB/s", true, ""},
	{"m.rss", "mirror peak RSS", "MiB", false, ""},
}

func mirrorOf(bin, logLevel, upstream string) registry {
	return registry{name: "layerlab-mirror", start: func(root, addr, logFile string) *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr, "--root", root, "--log-format", "json", "--log-level", logLevel,
			"--mirror", "hub/=http://"+upstream)
		cmd.Stderr = openLog(logFile)
		return cmd
	}}
}

func benchMirror(bin, logLevel string, big payload, res samples) {
	up := launched(ours(bin, logLevel))
	defer up.stop()
	pushBlob(up.addr, "bench/big", big)
	m := launched(mirrorOf(bin, logLevel, up.addr))
	const who = "layerlab"
	res.add("m.direct", who, mibps(big.size, pull(up.addr, "bench/big", big, true)))
	res.add("m.first", who, mibps(big.size, pull(m.addr, "hub/bench/big", big, true)))
	res.add("m.second", who, mibps(big.size, pull(m.addr, "hub/bench/big", big, true)))
	pushBlob(m.addr, "bench/local", big)
	res.add("m.local", who, mibps(big.size, pull(m.addr, "bench/local", big, true)))
	res.add("m.rss", who, m.stop())
}

// reportMirror prints the mirror's figures and writes them beside the
// main results (out with -mirror before its extension).
func reportMirror(res samples, big payload, rounds int, out string) {
	fmt.Printf("\npull-through cache — blob %d MiB, %d round(s), medians, digests verified by the client\n\n", big.size>>20, rounds)
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tunit\tlayerlab\t")
	medians := map[string]float64{}
	for _, m := range mirrorMetrics {
		medians[m.id] = median(res[m.id]["layerlab"])
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t\n", m.title, m.unit, medians[m.id])
	}
	tw.Flush()
	ratio := func(a, b string) float64 {
		if medians[b] == 0 {
			return 0
		}
		return medians[a] / medians[b]
	}
	fmt.Printf("\nfirst/direct %.0f%% (target ≥ 80%%), second/local %.0f%% (target ~100%%), RSS %.1f MiB (target ≤ 64)\n",
		100*ratio("m.first", "m.direct"), 100*ratio("m.second", "m.local"), medians["m.rss"])
	ext := filepath.Ext(out)
	path := out[:len(out)-len(ext)] + "-mirror" + ext
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "rounds": rounds, "blob_bytes": big.size,
		"medians": medians, "samples": res, "first_of_direct": ratio("m.first", "m.direct"),
		"second_of_local": ratio("m.second", "m.local")}, "", "  ")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", path)
}
