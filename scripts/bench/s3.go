package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The S3 benchmarks (-only s3): ours and the reference registry with its
// S3 driver on one local SeaweedFS (started by scripts/s3-server.sh unless
// LAYERLAB_S3_* name a server already), the endpoint's own PUT and GET
// throughput through minio-go as the ceiling (one stream, the same part
// size as both registries use), and the peak memory of our registry
// pushing and pulling a 1 GiB blob.

// s3PartSize is the multipart part size of both registries and the ceiling.
const s3PartSize = 16 << 20

var s3Metrics = []metric{
	{"s3.push.mono", "push 1 blob, monolithic", "MiB/s", true, "put"},
	{"s3.push.chunked", "push 1 blob, chunked PATCHes", "MiB/s", true, "put"},
	{"s3.pull.raw", "pull it, raw", "MiB/s", true, "get"},
	{"s3.pull.verified", "pull it, digest verified", "MiB/s", true, "get"},
	{"s3.rss.push", "peak RSS pushing the large blob", "MiB", false, ""},
	{"s3.rss.pull", "peak RSS pulling the large blob", "MiB", false, ""},
}

// s3Server is the S3 endpoint under test.
type s3Server struct {
	endpoint, bucket, access, secret, region string
	client                                   *minio.Client
	stop                                     func()
	prefix                                   string // where the registries launched next keep their store
	runs                                     int
}

// startS3 uses the server LAYERLAB_S3_* name, or starts SeaweedFS.
func startS3() *s3Server {
	env := map[string]string{}
	for _, k := range []string{"ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "REGION"} {
		env[k] = os.Getenv("LAYERLAB_S3_" + k)
	}
	stop := func() {}
	if env["ENDPOINT"] == "" {
		fmt.Fprintln(os.Stderr, "starting SeaweedFS (scripts/s3-server.sh start weed)")
		cmd := exec.Command("bash", "scripts/s3-server.sh", "start", "weed")
		cmd.Env = append(os.Environ(), "WEED_VOLUME_MAX=500") // room for the rounds' tens of GB
		out, err := cmd.Output()
		if err != nil {
			fatal(fmt.Errorf("start SeaweedFS: %w", err))
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if kv, ok := strings.CutPrefix(sc.Text(), "export LAYERLAB_S3_"); ok {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
		stop = func() { exec.Command("bash", "scripts/s3-server.sh", "stop", "weed").Run() }
	}
	s := &s3Server{endpoint: env["ENDPOINT"], bucket: env["BUCKET"], access: env["ACCESS_KEY"], secret: env["SECRET_KEY"],
		region: env["REGION"], stop: stop}
	if s.region == "" {
		s.region = "us-east-1"
	}
	host := strings.TrimPrefix(s.endpoint, "http://")
	var err error
	s.client, err = minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(s.access, s.secret, ""), Region: s.region,
		BucketLookup: minio.BucketLookupPath})
	if err != nil {
		stop()
		fatal(err)
	}
	return s
}

// empty deletes every object under prefix.
func (s *s3Server) empty(prefix string) {
	ctx := context.Background()
	objs := s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	for e := range s.client.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		fmt.Fprintln(os.Stderr, "bench: remove", e.ObjectName, e.Err)
	}
}

// run gives the registries a fresh prefix, launches r once per step,
// each process on what the previous one stored, then empties the prefix;
// it returns each process's peak RSS.
func (s *s3Server) run(r registry, steps ...func(p *running)) []float64 {
	s.runs++
	s.prefix = fmt.Sprintf("bench-%d-%d/", os.Getpid(), s.runs)
	defer s.empty(s.prefix)
	var peaks []float64
	for _, step := range steps {
		p := launched(r)
		step(p)
		peaks = append(peaks, p.stop())
	}
	return peaks
}

func oursS3(bin string, s *s3Server, logLevel string) registry {
	return registry{name: "layerlab", start: func(root, addr, logFile string) *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr, "--log-format", "json", "--log-level", logLevel,
			"--storage", "s3", "--s3-endpoint", s.endpoint, "--s3-bucket", s.bucket, "--s3-region", s.region,
			"--s3-path-style", "--s3-prefix", s.prefix, "--s3-part-size", fmt.Sprint(s3PartSize))
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.access, "AWS_SECRET_ACCESS_KEY="+s.secret)
		cmd.Stderr = openLog(logFile)
		return cmd
	}}
}

func referenceS3(bin string, s *s3Server) registry {
	return registry{name: "distribution", start: func(root, addr, logFile string) *exec.Cmd {
		cfg := filepath.Join(filepath.Dir(root), "config.yml")
		os.WriteFile(cfg, distributionConfig(addr, fmt.Sprintf(`  s3:
    accesskey: %s
    secretkey: %s
    region: %s
    regionendpoint: %s
    forcepathstyle: true
    bucket: %s
    rootdirectory: /%s
    secure: false
    chunksize: %d
`, s.access, s.secret, s.region, s.endpoint, s.bucket, strings.TrimSuffix(s.prefix, "/"), s3PartSize)), 0o644)
		cmd := exec.Command(bin, "serve", cfg)
		cmd.Stdout = openLog(logFile)
		cmd.Stderr = cmd.Stdout
		return cmd
	}}
}

// s3Ceilings: the endpoint's PUT and GET of the payload through minio-go,
// one stream, parts of s3PartSize, best of three.
func s3Ceilings(s *s3Server, p payload) map[string]float64 {
	ctx := context.Background()
	out := map[string]float64{}
	key := "bench-ceiling/blob"
	defer s.empty("bench-ceiling/")
	for range 3 {
		f, err := os.Open(p.path)
		if err != nil {
			fatal(err)
		}
		start := time.Now()
		_, err = s.client.PutObject(ctx, s.bucket, key, struct{ io.Reader }{f}, p.size,
			minio.PutObjectOptions{PartSize: s3PartSize, NumThreads: 1, DisableContentSha256: true})
		f.Close()
		if err != nil {
			fatal(fmt.Errorf("ceiling PUT: %w", err))
		}
		out["put"] = max(out["put"], mibps(p.size, time.Since(start)))
		start = time.Now()
		obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
		if err != nil {
			fatal(err)
		}
		n, err := io.Copy(io.Discard, obj)
		obj.Close()
		if err != nil || n != p.size {
			fatal(fmt.Errorf("ceiling GET: %d bytes, %v", n, err))
		}
		out["get"] = max(out["get"], mibps(p.size, time.Since(start)))
	}
	return out
}

// benchS3 runs the S3 benchmarks and reports them.
func benchS3(oursBin, refBin string, rounds int, quick, accessLog bool, out string) {
	big, rssSize, chunk := int64(512<<20), int64(1<<30), int64(s3PartSize)
	if quick {
		big, rssSize = 32<<20, 64<<20
	}
	s := startS3()
	defer s.stop()
	level := "info"
	if !accessLog {
		level = "error"
	}
	regs := []registry{oursS3(oursBin, s, level)}
	if refBin != "" {
		regs = append(regs, referenceS3(refBin, s))
	}
	fmt.Fprintln(os.Stderr, "preparing data and measuring the endpoint's ceilings…")
	payloadBig := makePayload(workDir, big)
	ceil := s3Ceilings(s, payloadBig)
	res := samples{}
	for round := 1; round <= rounds; round++ {
		for _, r := range regs { // interleaved: every registry in every round
			fmt.Fprintf(os.Stderr, "round %d/%d: %s on S3\n", round, rounds, r.name)
			s.run(r, func(p *running) {
				res.add("s3.push.mono", r.name, mibps(big, pushMonolithic(p.addr, payloadBig)))
				res.add("s3.pull.raw", r.name, mibps(big, pull(p.addr, "bench/big", payloadBig, false)))
				res.add("s3.pull.verified", r.name, mibps(big, pull(p.addr, "bench/big", payloadBig, true)))
			})
			s.run(r, func(p *running) {
				res.add("s3.push.chunked", r.name, mibps(big, pushChunked(p.addr, payloadBig, chunk)))
			})
		}
	}
	os.Remove(payloadBig.path)
	payloadRSS := makePayload(workDir, rssSize)
	for _, r := range regs { // memory: a fresh process for each direction
		fmt.Fprintf(os.Stderr, "memory: %s pushing and pulling %d MiB on S3\n", r.name, rssSize>>20)
		peaks := s.run(r, func(p *running) { pushMonolithic(p.addr, payloadRSS) },
			func(p *running) { pull(p.addr, "bench/big", payloadRSS, true) })
		res.add("s3.rss.push", r.name, peaks[0])
		res.add("s3.rss.pull", r.name, peaks[1])
	}
	os.Remove(payloadRSS.path)
	reportS3(res, regs, ceil, big, rssSize, rounds, out)
}

// reportS3 prints medians with min–max, ours against the reference and
// against the endpoint's ceiling, and writes them as JSON.
func reportS3(res samples, regs []registry, ceil map[string]float64, big, rssSize int64, rounds int, out string) {
	fmt.Printf("\nlayerlab on S3 (SeaweedFS on this machine) — %d round(s), median [min–max]; %s, %d cores\n",
		rounds, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("blob %d MiB, chunks and parts %d MiB; memory with a %d MiB blob\n", big>>20, s3PartSize>>20, rssSize>>20)
	fmt.Printf("endpoint ceiling (minio-go, one stream): PUT %.0f MiB/s, GET %.0f MiB/s\n\n", ceil["put"], ceil["get"])
	rows := printTable(s3Metrics, res, regs, ceil, func(c string) string { return "s3 " + c },
		func(v []float64) string {
			return fmt.Sprintf("%.1f [%.1f–%.1f]", median(v), slices.Min(v), slices.Max(v))
		})
	fmt.Println("\nvs best: how many times better ours is than the best other registry; of ceiling: ours as a fraction of the endpoint's own PUT or GET")
	os.MkdirAll(filepath.Dir(out), 0o755)
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "rounds": rounds, "blob_bytes": big, "rss_blob_bytes": rssSize,
		"part_bytes": s3PartSize, "ceilings_mib_per_s": ceil, "cores": runtime.NumCPU(), "results": rows}, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", out)
}
