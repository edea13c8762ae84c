package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Peers: any registry binary measured beside ours, interleaved, through a
// command template. The project builds no peer the Go module proxy does
// not serve: a user builds one and points the bench at it, for example
//
//	-peer 'olareg=/path/to/olareg serve --addr 127.0.0.1 --port {port} --dir {dir}'
//
// {port} is a free port on 127.0.0.1, {addr} the same as host:port, {dir}
// a fresh, empty storage directory. The command is split at white space
// (no quoting); it must serve /v2/ on that port over plain HTTP.

// peerFlags collects repeated -peer flags.
type peerFlags []string

func (p *peerFlags) String() string { return strings.Join(*p, ", ") }

func (p *peerFlags) Set(v string) error {
	name, tmpl, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" || !strings.Contains(tmpl, "{port}") && !strings.Contains(tmpl, "{addr}") {
		return fmt.Errorf("want NAME=COMMAND with {port} or {addr} (and {dir}): %q", v)
	}
	*p = append(*p, v)
	return nil
}

// peer is a registry started from a command template.
func peer(spec string) registry {
	name, tmpl, _ := strings.Cut(spec, "=")
	name = strings.TrimSpace(name)
	return registry{name: name, start: func(root, addr, logFile string) *exec.Cmd {
		_, port, _ := net.SplitHostPort(addr)
		r := strings.NewReplacer("{port}", port, "{addr}", addr, "{dir}", root)
		args := strings.Fields(r.Replace(tmpl))
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout = openLog(logFile)
		cmd.Stderr = cmd.Stdout
		return cmd
	}}
}

// flushTime times a sync(2) right after a push: how long the data the
// registry left unflushed takes to reach the disk (ours fsyncs before it
// answers, so little is left). Other programs' dirty pages count too:
// on a shared machine it is noisy.
func flushTime() time.Duration {
	start := time.Now()
	syscall.Sync()
	return time.Since(start)
}

// withFlush is a push's throughput counting the flush of what it left
// unflushed: bytes over push time plus sync time.
func withFlush(bytes int64, push, flush time.Duration) float64 { return mibps(bytes, push+flush) }

// cell is a table cell: the median, and [min–max] with several samples.
func cell(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	m := median(v)
	if len(v) == 1 {
		return num(m)
	}
	return fmt.Sprintf("%s [%s–%s]", num(m), num(slices.Min(v)), num(slices.Max(v)))
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// bestOther is the best median among the registries other than ours.
func bestOther(medians map[string]float64, ours string, higherIsBetter bool) (string, float64) {
	best, bestV := "", 0.0
	for name, v := range medians {
		if name == ours || v == 0 {
			continue
		}
		if best == "" || higherIsBetter && v > bestV || !higherIsBetter && v < bestV {
			best, bestV = name, v
		}
	}
	return best, bestV
}

// compareWith compares this run's medians of every registry with a
// previous run's JSON and prints each figure more than 10% worse. It
// returns how many there were.
func compareWith(path string, rows []jsonRow) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fatal(fmt.Errorf("-compare: %w", err))
	}
	var prev struct{ Results []jsonRow }
	if err := json.Unmarshal(b, &prev); err != nil {
		fatal(fmt.Errorf("-compare %s: %w", path, err))
	}
	old := map[string]jsonRow{}
	for _, r := range prev.Results {
		old[r.ID] = r
	}
	fmt.Printf("\ncompared with %s (a figure more than 10%% worse is flagged):\n", path)
	worse := 0
	for _, r := range rows {
		o, ok := old[r.ID]
		if !ok {
			continue
		}
		for _, reg := range sortedKeys(r.Medians) {
			now, was := r.Medians[reg], o.Medians[reg]
			if was == 0 || now == 0 {
				continue
			}
			change := now / was
			if !r.HigherIsBetter {
				change = was / now
			}
			flag := ""
			if change < 0.9 {
				flag = "  WORSE"
				worse++
			}
			fmt.Printf("  %-40s %-12s %10s → %-10s %+6.1f%%%s\n", r.Title, reg, num(was), num(now), 100*(change-1), flag)
		}
	}
	fmt.Printf("%d figure(s) more than 10%% worse\n", worse)
	return worse
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
