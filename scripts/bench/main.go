// Command bench measures layerlab's registry against the reference registry
// (distribution v3, built from the Go module proxy), interleaved, several
// rounds, and against this machine's ceilings. `make bench` runs it;
// `make bench-smoke` runs a short version.
//
//	go run ./scripts/bench [-rounds 3] [-quick] [-only a,b,c,d,e,f|replicas] [-ref=false] [-access-log=false] [-out bin/bench-results.json]
package main

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// metric is one figure of the report.
type metric struct {
	id, title, unit string
	higherIsBetter  bool
	ceiling         string // which machine ceiling it is a fraction of, if any
}

var metrics = []metric{
	{"a.monolithic", "a) push 1 blob, monolithic", "MiB/s", true, "sha256"},
	{"a.chunked", "a) push 1 blob, chunked PATCHes", "MiB/s", true, "sha256"},
	{"a.streamed", "a) push 1 blob, streamed PATCH", "MiB/s", true, "sha256"},
	{"b.verified", "b) pull it, digest verified", "MiB/s", true, "sendfile"},
	{"b.raw", "b) pull it, raw", "MiB/s", true, "sendfile"},
	{"c.small", "c) small images, 16 clients", "images/s", true, ""},
	{"d.get", "d) manifest GET, 32 clients", "req/s", true, ""},
	{"d.get.p50", "d) manifest GET p50", "ms", false, ""},
	{"d.get.p99", "d) manifest GET p99", "ms", false, ""},
	{"d.head", "d) manifest HEAD, 32 clients", "req/s", true, ""},
	{"d.head.p50", "d) manifest HEAD p50", "ms", false, ""},
	{"d.head.p99", "d) manifest HEAD p99", "ms", false, ""},
	{"e.fanout", "e) 64 concurrent pulls of one blob", "MiB/s", true, "sendfile"},
	{"f.mount", "f) push with layers mounted", "ms", false, ""},
	{"f.repush", "f) re-push unchanged image", "ms", false, ""},
	{"g.rss.ab", "g) peak RSS, a+b", "MiB", false, ""},
	{"g.rss.c", "g) peak RSS, c", "MiB", false, ""},
	{"g.rss.d", "g) peak RSS, d", "MiB", false, ""},
	{"g.rss.e", "g) peak RSS, e", "MiB", false, ""},
	{"g.rss.f", "g) peak RSS, f", "MiB", false, ""},
}

// samples[metric][registry] holds one value per round.
type samples map[string]map[string][]float64

func (s samples) add(id, reg string, v float64) {
	if s[id] == nil {
		s[id] = map[string][]float64{}
	}
	s[id][reg] = append(s[id][reg], v)
}

var (
	accessLogOn bool
	workDir     string
	cleanupOnce sync.Once
)

func cleanup() {
	cleanupOnce.Do(func() {
		if workDir != "" {
			os.RemoveAll(workDir)
		}
	})
}

func main() {
	rounds := flag.Int("rounds", 3, "rounds; medians are reported")
	quick := flag.Bool("quick", false, "smoke mode: small sizes, one round, short load")
	only := flag.String("only", "a,b,c,d,e,f", "benchmarks to run (a,b share their runs)")
	withRef := flag.Bool("ref", true, "also measure the reference registry")
	versus := flag.String("versus", "", "measure this build of our registry (a binary) in place of the reference: A/B for tuning")
	out := flag.String("out", "bin/bench-results.json", "JSON results file")
	accessLog := flag.Bool("access-log", true, "our registry writes its JSON access log (false: logging off)")
	flag.Parse()
	if *only == "replicas" { // the scale lab, on its own: replicas.go
		benchReplicas(*rounds, *quick, "bin/bench-replicas.json")
		return
	}

	sz := sizes{bigBlob: 512 << 20, chunk: 8 << 20, smallCount: 200, loadFor: 10 * time.Second, fanBlob: 32 << 20, fanClients: 64}
	if *quick {
		sz = sizes{bigBlob: 32 << 20, chunk: 8 << 20, smallCount: 40, loadFor: 2 * time.Second, fanBlob: 4 << 20, fanClients: 16}
		*rounds = 1
	}
	var err error
	if workDir, err = os.MkdirTemp("", "layerlab-bench-"); err != nil {
		fatal(err)
	}
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; killAll(); cleanup(); os.Exit(130) }()

	oursBin, refBin := buildBinaries(*withRef && *versus == "")
	level := "info"
	if !*accessLog {
		level = "error"
	}
	regs := []registry{ours(oursBin, level)}
	switch {
	case *versus != "":
		base := ours(*versus, level)
		base.name = "baseline"
		regs = append(regs, base)
	case *withRef:
		regs = append(regs, reference(refBin))
	}
	want := map[string]bool{}
	for _, b := range strings.Split(*only, ",") {
		want[strings.TrimSpace(b)] = true
	}

	fmt.Fprintln(os.Stderr, "preparing data and measuring the machine's ceilings…")
	big := makePayload(workDir, sz.bigBlob)
	fan := makePayload(workDir, sz.fanBlob)
	ceil := ceilings(big)

	res := samples{}
	for round := 1; round <= *rounds; round++ {
		imgs := smallImages(sz.smallCount)
		mountImg, _ := random.Image(1<<20, 3)
		for _, r := range regs { // interleaved: every registry in every round
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", round, *rounds, r.name)
			if want["a"] || want["b"] {
				benchAB(r, big, sz, res)
			}
			if want["c"] {
				benchC(r, imgs, res)
			}
			if want["d"] {
				benchD(r, sz, res)
			}
			if want["e"] {
				benchE(r, fan, sz, res)
			}
			if want["f"] {
				benchF(r, mountImg, res)
			}
		}
	}
	accessLogOn = *accessLog
	report(res, regs, ceil, sz, *rounds, *out)
}

// launched starts a registry for one measurement. It first flushes every
// dirty page to disk: the reference registry does not fsync, and the
// writeback of what it just wrote would otherwise land in the next
// measurement (ours fsyncs, so it would wait for it).
func launched(r registry) *running {
	syscall.Sync()
	p := r.launch(workDir)
	track(p)
	return p
}

func benchAB(r registry, big payload, sz sizes, res samples) {
	p := launched(r)
	res.add("a.monolithic", r.name, mibps(big.size, pushMonolithic(p.addr, big)))
	res.add("b.verified", r.name, mibps(big.size, pull(p.addr, "bench/big", big, true)))
	res.add("b.raw", r.name, mibps(big.size, pull(p.addr, "bench/big", big, false)))
	peak := p.stop()
	p = launched(r)
	res.add("a.chunked", r.name, mibps(big.size, pushChunked(p.addr, big, sz.chunk)))
	peak = max(peak, p.stop())
	p = launched(r)
	res.add("a.streamed", r.name, mibps(big.size, pushStreamed(p.addr, big)))
	res.add("g.rss.ab", r.name, max(peak, p.stop()))
}

func benchC(r registry, imgs []v1.Image, res samples) {
	p := launched(r)
	res.add("c.small", r.name, pushSmall(p.addr, imgs, 16))
	res.add("g.rss.c", r.name, p.stop())
}

func benchD(r registry, sz sizes, res samples) {
	p := launched(r)
	pushManifestImage(p.addr)
	load(p.addr, "GET", 32, sz.loadFor/10) // warm up
	rps, p50, p99 := load(p.addr, "GET", 32, sz.loadFor)
	res.add("d.get", r.name, rps)
	res.add("d.get.p50", r.name, p50)
	res.add("d.get.p99", r.name, p99)
	rps, p50, p99 = load(p.addr, "HEAD", 32, sz.loadFor)
	res.add("d.head", r.name, rps)
	res.add("d.head.p50", r.name, p50)
	res.add("d.head.p99", r.name, p99)
	res.add("g.rss.d", r.name, p.stop())
}

func benchE(r registry, fan payload, sz sizes, res samples) {
	p := launched(r)
	pushBlob(p.addr, "bench/fan", fan)
	res.add("e.fanout", r.name, fanOut(p.addr, fan, sz.fanClients))
	res.add("g.rss.e", r.name, p.stop())
}

func benchF(r registry, img v1.Image, res samples) {
	p := launched(r)
	mount, repush := mountAndRepush(p.addr, img)
	res.add("f.mount", r.name, mount)
	res.add("f.repush", r.name, repush)
	res.add("g.rss.f", r.name, p.stop())
}

var (
	procsMu sync.Mutex
	procs   []*running
)

func track(p *running) {
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
}

func killAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		p.cmd.Process.Kill()
	}
}

// ceilings measures what this machine can do at best, the same way the
// registries are measured: MiB/s of sha256 on one core, of HTTP over
// loopback with sendfile, and of a sequential write with fsync.
func ceilings(p payload) map[string]float64 {
	out := map[string]float64{}
	buf := make([]byte, 64<<20)
	h := sha256.New()
	start := time.Now()
	for n := int64(0); n < p.size; n += int64(len(buf)) {
		h.Write(buf)
	}
	out["sha256"] = mibps(p.size, time.Since(start))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := os.Open(p.path)
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	})}
	go srv.Serve(ln)
	best := 0.0
	for i := 0; i < 3; i++ {
		start = time.Now()
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		best = max(best, mibps(p.size, time.Since(start)))
	}
	srv.Close()
	out["sendfile"] = best

	f, err := os.Create(filepath.Join(workDir, "fsync-test"))
	if err != nil {
		fatal(err)
	}
	start = time.Now()
	chunk := buf[:1<<20]
	for n := int64(0); n < p.size; n += int64(len(chunk)) {
		f.Write(chunk)
	}
	f.Sync()
	out["disk"] = mibps(p.size, time.Since(start))
	f.Close()
	os.Remove(f.Name())
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type jsonRow struct {
	ID, Title, Unit  string
	HigherIsBetter   bool
	Medians          map[string]float64
	Samples          map[string][]float64
	Advantage        float64 `json:",omitempty"` // ours vs reference, >1 is better for us
	CeilingFraction  float64 `json:",omitempty"`
	CeilingMiBPerSec float64 `json:",omitempty"`
	CeilingName      string  `json:",omitempty"`
}

func report(res samples, regs []registry, ceil map[string]float64, sz sizes, rounds int, out string) {
	fmt.Printf("\nlayerlab registry benchmark — %d round(s), medians; %s, %d cores\n", rounds, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("blob %d MiB, chunks %d MiB, %d small images, load %s, fan-out %d × %d MiB; ours with its JSON access log %s\n\n",
		sz.bigBlob>>20, sz.chunk>>20, sz.smallCount, sz.loadFor, sz.fanClients, sz.fanBlob>>20, map[bool]string{true: "on", false: "off"}[accessLogOn])
	fmt.Printf("machine ceilings: sha256 one core %.0f MiB/s, loopback HTTP sendfile %.0f MiB/s, disk write+fsync %.0f MiB/s\n\n",
		ceil["sha256"], ceil["sendfile"], ceil["disk"])
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	header := "benchmark\tunit\t"
	for _, r := range regs {
		header += r.name + "\t"
	}
	if len(regs) > 1 {
		header += "advantage\t"
	}
	fmt.Fprintln(tw, header+"of ceiling\t")
	var rows []jsonRow
	for _, m := range metrics {
		if res[m.id] == nil {
			continue
		}
		row := jsonRow{ID: m.id, Title: m.title, Unit: m.unit, HigherIsBetter: m.higherIsBetter, Medians: map[string]float64{}, Samples: res[m.id]}
		line := m.title + "\t" + m.unit + "\t"
		for _, r := range regs {
			row.Medians[r.name] = median(res[m.id][r.name])
			line += fmt.Sprintf("%.1f\t", row.Medians[r.name])
		}
		if len(regs) > 1 {
			a, b := row.Medians[regs[0].name], row.Medians[regs[1].name]
			if m.higherIsBetter && b > 0 {
				row.Advantage = a / b
			} else if !m.higherIsBetter && a > 0 {
				row.Advantage = b / a
			}
			line += fmt.Sprintf("%.2f×\t", row.Advantage)
		}
		if m.ceiling != "" && ceil[m.ceiling] > 0 {
			row.CeilingName, row.CeilingMiBPerSec = m.ceiling, ceil[m.ceiling]
			row.CeilingFraction = row.Medians[regs[0].name] / ceil[m.ceiling]
			line += fmt.Sprintf("%.0f%% %s\t", 100*row.CeilingFraction, m.ceiling)
		} else {
			line += "\t"
		}
		fmt.Fprintln(tw, line)
		rows = append(rows, row)
	}
	tw.Flush()
	fmt.Println("\nadvantage: how many times better ours is (higher throughput, or lower time and memory); of ceiling: ours as a fraction of the machine's ceiling")
	os.MkdirAll(filepath.Dir(out), 0o755)
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "rounds": rounds, "sizes": sz, "ceilings_mib_per_s": ceil,
		"cores": runtime.NumCPU(), "results": rows}, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", out)
}
