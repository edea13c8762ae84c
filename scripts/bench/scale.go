package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The scale benchmark (-only scale): the costs of a registry that grows.
// For each size in -scale-sizes it fills a store, serves it, and measures
// what should stay flat (a catalog page, /api/du, a manifest GET) and what
// may grow with the store but not faster (the whole catalog, du, gc), with
// the peak memory of each process.

var scaleMetrics = []metric{
	{"fill", "fill (direct store writes)", "s", false, ""},
	{"serve.start", "serve: start until /v2/ answers", "s", false, ""},
	{"catalog.walk", "catalog: whole walk, n=100, via Link", "s", false, ""},
	{"catalog.worst", "catalog: worst page", "ms", false, ""},
	{"catalog.p50", "catalog: page p50", "ms", false, ""},
	{"catalog.worst.at", "catalog: which page was the worst (1: the first)", "#", false, ""},
	{"catalog.cpu", "catalog: serve's CPU per page", "ms", false, ""},
	{"catalog2.walk", "catalog again: whole walk", "s", false, ""},
	{"catalog2.worst", "catalog again: worst page", "ms", false, ""},
	{"catalog2.p50", "catalog again: page p50", "ms", false, ""},
	{"catalog2.worst.at", "catalog again: which page was the worst", "#", false, ""},
	{"catalog2.cpu", "catalog again: serve's CPU per page", "ms", false, ""},
	{"du.api.first", "/api/du: first (makes the report)", "ms", false, ""},
	{"du.api.p50", "/api/du: cached p50", "ms", false, ""},
	{"du.api.worst", "/api/du: cached worst", "ms", false, ""},
	{"du.api.cpu", "/api/du: serve's CPU per cached answer", "ms", false, ""},
	{"du.cli", "registry du", "s", false, ""},
	{"gc.dry", "registry gc --dry-run", "s", false, ""},
	{"gc.delete", "registry gc, 10% of images deleted", "s", false, ""},
	{"get.p50", "manifest GET p50, alone", "ms", false, ""},
	{"get.p99", "manifest GET p99, alone", "ms", false, ""},
	{"get.dugc.p50", "manifest GET p50, while du + gc --dry-run run", "ms", false, ""},
	{"get.dugc.p99", "manifest GET p99, while du + gc --dry-run run", "ms", false, ""},
	{"get.dugc.paused.p50", "manifest GET p50, du + gc --dry-run paused", "ms", false, ""},
	{"get.dugc.paused.p99", "manifest GET p99, du + gc --dry-run paused", "ms", false, ""},
	{"get.gc.p50", "manifest GET p50, while gc deletes", "ms", false, ""},
	{"get.gc.p99", "manifest GET p99, while gc deletes", "ms", false, ""},
	{"get.gc.paused.p50", "manifest GET p50, gc paused", "ms", false, ""},
	{"get.gc.paused.p99", "manifest GET p99, gc paused", "ms", false, ""},
	{"get.dugc.ratio", "GET p99 du + gc --dry-run running ÷ paused", "×", false, ""},
	{"get.gc.ratio", "GET p99 gc running ÷ paused", "×", false, ""},
	{"rss.serve", "peak RSS: serve", "MiB", false, ""},
	{"rss.du", "peak RSS: registry du", "MiB", false, ""},
	{"rss.gcdry", "peak RSS: registry gc --dry-run", "MiB", false, ""},
	{"rss.gc", "peak RSS: registry gc", "MiB", false, ""},
}

func parseSizes(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			fatal(fmt.Errorf("-scale-sizes %q: want counts of 10 or more", s))
		}
		out = append(out, n)
	}
	return out
}

// benchScale measures one size: figures by metric id.
func benchScale(bin string, n int, loadFor time.Duration, kept string) map[string]float64 {
	res := map[string]float64{}
	root, err := os.MkdirTemp(workDir, "scale-")
	if err != nil {
		fatal(err)
	}
	store := filepath.Join(root, "store") // removed with workDir, after the report
	if kept != "" {
		store = filepath.Join(kept, strconv.Itoa(n))
	}
	t0 := time.Now()
	if refillKept(store, n) {
		fmt.Fprintf(os.Stderr, "scale %d: reusing the store kept in %s (fill shows 0)\n", n, store)
	} else {
		fmt.Fprintf(os.Stderr, "scale %d: filling…\n", n)
		fillStore(store, 0, n, 4, 1)
		res["fill"] = time.Since(t0).Seconds()
		markFilled(store, kept != "")
	}
	syscall.Sync()

	t0 = time.Now()
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--root", store, "--log-level", "error")
	cmd.Stderr = openLog(filepath.Join(workDir, "scale-serve.log"))
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	p := &running{cmd: cmd, addr: addr, root: root}
	track(p)
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 6000 {
			fatal(fmt.Errorf("serve did not start on %s", addr))
		}
		time.Sleep(20 * time.Millisecond)
	}
	res["serve.start"] = time.Since(t0).Seconds()

	// The first walk after the start reads every repository's directories;
	// the next one finds on the filesystem what the first kept.
	for _, walk := range []string{"catalog", "catalog2"} {
		fmt.Fprintf(os.Stderr, "scale %d: %s…\n", n, walk)
		cpu0 := cpuTime(cmd.Process.Pid)
		total, pages, worstAt := catalogWalk(addr, n)
		res[walk+".worst.at"] = float64(worstAt + 1)
		res[walk+".cpu"] = ms(cpuTime(cmd.Process.Pid)-cpu0) / float64(len(pages))
		res[walk+".walk"] = total.Seconds()
		res[walk+".worst"] = ms(pages[len(pages)-1])
		res[walk+".p50"] = ms(pages[len(pages)/2])
	}

	fmt.Fprintf(os.Stderr, "scale %d: /api/du…\n", n)
	t0 = time.Now()
	drain(get(addr, "/api/du"))
	res["du.api.first"] = ms(time.Since(t0))
	var lat []time.Duration
	cpu0 := cpuTime(cmd.Process.Pid)
	for i := 0; i < 50; i++ {
		t0 = time.Now()
		drain(get(addr, "/api/du"))
		lat = append(lat, time.Since(t0))
	}
	res["du.api.cpu"] = ms(cpuTime(cmd.Process.Pid)-cpu0) / 50
	sortDurations(lat)
	res["du.api.p50"], res["du.api.worst"] = ms(lat[len(lat)/2]), ms(lat[len(lat)-1])

	keep := func(i int) bool { return i%10 != 0 }
	fmt.Fprintf(os.Stderr, "scale %d: manifest GETs, alone…\n", n)
	res["get.p50"], res["get.p99"] = percentiles(getLoad(addr, n, keep, timed(loadFor), nil)[windowRan])

	fmt.Fprintf(os.Stderr, "scale %d: du and gc --dry-run, with manifest GETs…\n", n)
	pc := newPacer()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var by [3][]time.Duration
	wg.Add(1)
	go func() { defer wg.Done(); by = getLoad(addr, n, keep, stop, pc) }()
	var duT, dryT time.Duration
	var duRSS, dryRSS float64
	var cwg sync.WaitGroup
	cwg.Add(2)
	go func() { defer cwg.Done(); duT, duRSS = runChild(bin, pc, "du", "--root", store, "--json") }()
	go func() {
		defer cwg.Done()
		dryT, dryRSS = runChild(bin, pc, "gc", "--root", store, "--dry-run", "--json")
	}()
	cwg.Wait()
	pc.end()
	close(stop)
	wg.Wait()
	res["du.cli"], res["rss.du"], res["gc.dry"], res["rss.gcdry"] = duT.Seconds(), duRSS, dryT.Seconds(), dryRSS
	res["get.dugc.p50"], res["get.dugc.p99"] = percentiles(by[windowRan])
	res["get.dugc.paused.p50"], res["get.dugc.paused.p99"] = percentiles(by[windowPaused])

	fmt.Fprintf(os.Stderr, "scale %d: deleting 10%% of the images, then gc with manifest GETs…\n", n)
	deleteTenth(addr, n)
	pc = newPacer()
	stop = make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); by = getLoad(addr, n, keep, stop, pc) }()
	gcT, gcRSS := runChild(bin, pc, "gc", "--root", store, "--grace", "0s", "--json")
	pc.end()
	close(stop)
	wg.Wait()
	res["gc.delete"], res["rss.gc"] = gcT.Seconds(), gcRSS
	res["get.gc.p50"], res["get.gc.p99"] = percentiles(by[windowRan])
	res["get.gc.paused.p50"], res["get.gc.paused.p99"] = percentiles(by[windowPaused])
	for _, k := range []string{"get.dugc", "get.gc"} {
		if paused := res[k+".paused.p99"]; paused > 0 {
			res[k+".ratio"] = res[k+".p99"] / paused
		}
	}
	res["rss.serve"] = peakRSS(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	return res
}

func timed(d time.Duration) chan struct{} {
	c := make(chan struct{})
	time.AfterFunc(d, func() { close(c) })
	return c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func get(addr, path string) *http.Response {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		fatal(fmt.Errorf("GET %s: status %d", path, resp.StatusCode))
	}
	return resp
}

// catalogWalk follows the catalog's Link headers from the first page to
// the last: the whole time, every page's (sorted) and where the worst one
// came in the walk (0: the first page).
func catalogWalk(addr string, n int) (time.Duration, []time.Duration, int) {
	path, seen := "/v2/_catalog?n=100", 0
	var pages []time.Duration
	start := time.Now()
	for path != "" {
		t0 := time.Now()
		resp := get(addr, path)
		var body struct{ Repositories []string }
		decode(resp, &body)
		pages = append(pages, time.Since(t0))
		seen += len(body.Repositories)
		path = ""
		if l := resp.Header.Get("Link"); l != "" {
			path = l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
		}
	}
	total := time.Since(start)
	if seen != n {
		fatal(fmt.Errorf("catalog walk saw %d repositories of %d", seen, n))
	}
	worstAt := 0
	for i, d := range pages {
		if d > pages[worstAt] {
			worstAt = i
		}
	}
	sortDurations(pages)
	return total, pages, worstAt
}

// getLoad GETs the manifest of random kept repositories from 4 clients
// until stop closes: the latencies, by window of pc (all in windowRan
// when pc is nil).
func getLoad(addr string, n int, keep func(int) bool, stop chan struct{}, pc *pacer) [3][]time.Duration {
	const clients = 4
	lat := make([][3][]time.Duration, clients)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := rand.IntN(n)
				if !keep(i) {
					continue
				}
				var f0, f1 int64
				if pc != nil {
					f0 = pc.flips.Load()
				}
				t0 := time.Now()
				drain(get(addr, "/v2/"+scaleRepo(i)+"/manifests/latest"))
				took := time.Since(t0)
				if pc != nil {
					f1 = pc.flips.Load()
				}
				w := window(f0, f1)
				lat[c][w] = append(lat[c][w], took)
			}
		}()
	}
	wg.Wait()
	var all [3][]time.Duration
	for _, l := range lat {
		for w := range all {
			all[w] = append(all[w], l[w]...)
		}
	}
	return all
}

// percentiles are the p50 and p99 of lat in ms.
func percentiles(lat []time.Duration) (p50, p99 float64) {
	if len(lat) == 0 {
		return 0, 0
	}
	sortDurations(lat)
	return ms(lat[len(lat)/2]), ms(lat[int(0.99*float64(len(lat)-1))])
}

// deleteTenth deletes the manifest of every tenth repository through the API.
func deleteTenth(addr string, n int) {
	for i := 0; i < n; i += 10 {
		d := manifestDigest(addr, i)
		req, _ := http.NewRequest("DELETE", "http://"+addr+"/v2/"+scaleRepo(i)+"/manifests/"+d, nil)
		do(req, http.StatusAccepted).Body.Close()
	}
}

// runChild runs the registry binary to its end, paced by pc when not nil:
// the time it ran (its pauses left out) and its peak RSS.
func runChild(bin string, pc *pacer, args ...string) (time.Duration, float64) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		fatal(fmt.Errorf("registry %s: %w", strings.Join(args, " "), err))
	}
	var paused0 time.Duration
	if pc != nil {
		paused0 = pc.pausedSoFar()
		pc.add(cmd.Process)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	peak, tick := 0.0, time.NewTicker(5*time.Millisecond)
	defer tick.Stop()
	for {
		peak = max(peak, peakRSS(cmd.Process.Pid))
		select {
		case err := <-done:
			if err != nil {
				fatal(fmt.Errorf("registry %s: %w", strings.Join(args, " "), err))
			}
			took := time.Since(t0)
			if pc != nil {
				pc.remove(cmd.Process)
				took -= pc.pausedSoFar() - paused0
			}
			return took, peak
		case <-tick.C:
		}
	}
}

func decode(resp *http.Response, v any) {
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		fatal(err)
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// cpuTime is the CPU time a process has used (user and system), from
// /proc/<pid>/stat in clock ticks of 10 ms.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
