// Command bench measures layerlab's registry against the reference registry
// (distribution v3, built from the Go module proxy), interleaved, several
// rounds, and against this machine's ceilings. `make bench` runs it;
// `make bench-smoke` runs a short version.
//
//	go run ./scripts/bench [-rounds 3] [-quick] [-only a,b,c,d,e,f,mirror|replicas] [-ref=false] [-access-log=false] [-out bin/bench-results.json]
//	        [-peer 'NAME=COMMAND {port} {dir}']... [-compare bin/previous.json]
//	go run ./scripts/bench -only scale [-scale-sizes 10000,100000] [-quick] [-out bin/bench-scale.json]
//	go run ./scripts/bench -only s3    # on a local SeaweedFS instead: see s3.go
//
// Every registry runs in every round, one after the other (interleaved);
// each table cell is the median with [min–max] over the rounds. After each
// push a sync(2) is timed: the data the registry left unflushed; the
// "+ flush" rows count it in. -compare prints every figure more than 10%
// worse than in a previous run's JSON and then exits with status 3.
// -only mirror measures the pull-through cache (mirror.go); -only scale the
// costs at 10,000 and 100,000 repositories (scale.go).
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
	{"a.monolithic.flushed", "a) monolithic push + flush", "MiB/s", true, ""},
	{"a.chunked.flushed", "a) chunked push + flush", "MiB/s", true, ""},
	{"a.streamed.flushed", "a) streamed push + flush", "MiB/s", true, ""},
	{"a.sync", "a) sync after a monolithic push", "s", false, ""},
	{"b.verified", "b) pull it, digest verified", "MiB/s", true, "sendfile"},
	{"b.raw", "b) pull it, raw", "MiB/s", true, "sendfile"},
	{"c.small", "c) small images, 16 clients", "images/s", true, ""},
	{"c.small.flushed", "c) small images + flush", "images/s", true, ""},
	{"c.sync", "c) sync after the small images", "s", false, ""},
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
	only := flag.String("only", "a,b,c,d,e,f", "benchmarks to run (a,b share their runs; mirror: the pull-through cache; scale: the scale benchmark alone; s3: both registries on a local SeaweedFS)")
	scaleSizes := flag.String("scale-sizes", "10000,100000", "scale: the numbers of repositories to fill and measure")
	scaleKeep := flag.String("scale-keep", "", "scale: keep each size's filled store in this directory and reuse it in later runs (their fill shows 0)")
	withRef := flag.Bool("ref", true, "also measure the reference registry")
	versus := flag.String("versus", "", "measure this build of our registry (a binary) in place of the reference: A/B for tuning")
	out := flag.String("out", "bin/bench-results.json", "JSON results file")
	accessLog := flag.Bool("access-log", true, "our registry writes its JSON access log (false: logging off)")
	var peers peerFlags
	flag.Var(&peers, "peer", "NAME=COMMAND: also measure this registry, started by COMMAND with {port}, {addr} and {dir} filled in (repeatable)")
	compare := flag.String("compare", "", "compare with a previous run's JSON: flag figures more than 10% worse (exit status 3)")
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

	if *only == "scale" {
		loadFor := 5 * time.Second
		if *quick {
			loadFor = time.Second
		}
		if *out == "bin/bench-results.json" {
			*out = "bin/bench-scale.json"
		}
		bin, _ := buildBinaries(false)
		runScale(bin, parseSizes(*scaleSizes), loadFor, *scaleKeep, *out)
		return
	}
	want := map[string]bool{}
	for _, b := range strings.Split(*only, ",") {
		want[strings.TrimSpace(b)] = true
	}
	if *only == "mirror" { // ours only: no reference to build
		*withRef = false
	}
	oursBin, refBin := buildBinaries(*withRef && *versus == "")
	if *only == "s3" { // its own report: see s3.go
		if *out == "bin/bench-results.json" {
			*out = "bin/bench-s3-results.json"
		}
		benchS3(oursBin, refBin, *rounds, *quick, *accessLog, *out)
		return
	}
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
	for _, p := range peers {
		regs = append(regs, peer(p))
	}

	fmt.Fprintln(os.Stderr, "preparing data and measuring the machine's ceilings…")
	big := makePayload(workDir, sz.bigBlob)
	fan := makePayload(workDir, sz.fanBlob)
	ceil := ceilings(big)

	res, mres := samples{}, samples{}
	for round := 1; round <= *rounds; round++ {
		if want["mirror"] {
			fmt.Fprintf(os.Stderr, "round %d/%d: mirror\n", round, *rounds)
			benchMirror(oursBin, level, big, mres)
		}
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
	rows := report(res, regs, ceil, sz, *rounds, *out)
	if want["mirror"] {
		reportMirror(mres, big, *rounds, *out)
	}
	if *compare != "" && compareWith(*compare, rows) > 0 {
		cleanup()
		os.Exit(3)
	}
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
	push := pushMonolithic(p.addr, big)
	flush := flushTime()
	res.add("a.monolithic", r.name, mibps(big.size, push))
	res.add("a.monolithic.flushed", r.name, withFlush(big.size, push, flush))
	res.add("a.sync", r.name, flush.Seconds())
	res.add("b.verified", r.name, mibps(big.size, pull(p.addr, "bench/big", big, true)))
	res.add("b.raw", r.name, mibps(big.size, pull(p.addr, "bench/big", big, false)))
	peak := p.stop()
	p = launched(r)
	push = pushChunked(p.addr, big, sz.chunk)
	flush = flushTime()
	res.add("a.chunked", r.name, mibps(big.size, push))
	res.add("a.chunked.flushed", r.name, withFlush(big.size, push, flush))
	peak = max(peak, p.stop())
	p = launched(r)
	push = pushStreamed(p.addr, big)
	flush = flushTime()
	res.add("a.streamed", r.name, mibps(big.size, push))
	res.add("a.streamed.flushed", r.name, withFlush(big.size, push, flush))
	res.add("g.rss.ab", r.name, max(peak, p.stop()))
}

func benchC(r registry, imgs []v1.Image, res samples) {
	p := launched(r)
	push := pushSmall(p.addr, imgs, 16)
	flush := flushTime()
	res.add("c.small", r.name, float64(len(imgs))/push.Seconds())
	res.add("c.small.flushed", r.name, float64(len(imgs))/(push+flush).Seconds())
	res.add("c.sync", r.name, flush.Seconds())
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
	Advantage        float64 `json:",omitempty"` // ours vs the best other registry, >1 is better for us
	Best             string  `json:",omitempty"` // that registry
	CeilingFraction  float64 `json:",omitempty"`
	CeilingMiBPerSec float64 `json:",omitempty"`
	CeilingName      string  `json:",omitempty"`
}

func report(res samples, regs []registry, ceil map[string]float64, sz sizes, rounds int, out string) []jsonRow {
	fmt.Printf("\nlayerlab registry benchmark — %d round(s), medians; %s, %d cores\n", rounds, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("blob %d MiB, chunks %d MiB, %d small images, load %s, fan-out %d × %d MiB; ours with its JSON access log %s\n\n",
		sz.bigBlob>>20, sz.chunk>>20, sz.smallCount, sz.loadFor, sz.fanClients, sz.fanBlob>>20, map[bool]string{true: "on", false: "off"}[accessLogOn])
	fmt.Printf("machine ceilings: sha256 one core %.0f MiB/s, loopback HTTP sendfile %.0f MiB/s, disk write+fsync %.0f MiB/s\n\n",
		ceil["sha256"], ceil["sendfile"], ceil["disk"])
	rows := printTable(metrics, res, regs, ceil, func(c string) string { return c }, cell)
	fmt.Println("\nmedian [min–max] over the rounds; vs best: how many times better ours is than the best other registry's median (higher throughput, or lower time and memory); of ceiling: ours as a fraction of the machine's ceiling; + flush: the push's time plus a sync(2) timed right after it (the data it left unflushed)")
	os.MkdirAll(filepath.Dir(out), 0o755)
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "rounds": rounds, "sizes": sz, "ceilings_mib_per_s": ceil,
		"cores": runtime.NumCPU(), "results": rows}, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", out)
	return rows
}
