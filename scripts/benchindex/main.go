// Command benchindex measures the index behind `registry sql` and the
// /api/ queries on a generated store: building the index, an image's
// family and a blob's images (through the HTTP API, and in SQL), the
// answers each explorer view is built from, and a full
// `registry sql --export`. Each step runs in a process of its own so
// its peak RSS is its own. `make bench-index` runs it.
//
//	go run ./scripts/benchindex [-images 1000] [-layers 9] [-bases 100] [-repos 20] [-queries 200]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/server"
	"github.com/layerlab/layerlab/registry/storage"
)

// result is what a step reports to the parent.
type result struct {
	Step    string             `json:"step"`
	Figures map[string]float64 `json:"figures"` // name → milliseconds (or a count)
}

func main() {
	images := flag.Int("images", 1000, "images to generate")
	layers := flag.Int("layers", 9, "layers of a derived image (its own) — bases have 4")
	bases := flag.Int("bases", 100, "base images the others are built on")
	repos := flag.Int("repos", 20, "repositories the images are spread over")
	queries := flag.Int("queries", 200, "family and blob queries timed")
	step := flag.String("step", "", "internal: run one step on -root")
	root := flag.String("root", "", "internal: the store")
	flag.Parse()
	if *step != "" {
		r, err := runStep(*step, *root, *queries)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchindex:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if err := parent(*images, *layers, *bases, *repos, *queries); err != nil {
		fmt.Fprintln(os.Stderr, "benchindex:", err)
		os.Exit(1)
	}
}

func parent(images, layers, bases, repos, queries int) error {
	dir, err := os.MkdirTemp("", "benchindex-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "store")
	start := time.Now()
	if err := generate(root, images, layers, bases, repos); err != nil {
		return err
	}
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		return err
	}
	st := s.Stats()
	fmt.Printf("store: %d images in %d repositories, %d blobs (%s) — generated in %s\n",
		images, repos, st.Blobs, accesslog.HumanSize(st.BlobBytes), time.Since(start).Round(time.Millisecond))

	registry := filepath.Join(dir, "registry")
	build := exec.Command("go", "build", "-trimpath", "-o", registry, "./registry")
	build.Env, build.Stderr = append(os.Environ(), "CGO_ENABLED=0"), os.Stderr
	if err := build.Run(); err != nil {
		return err
	}
	fmt.Printf("%-36s %12s %10s\n", "step", "time", "peak RSS")
	for _, name := range []string{"build", "api", "sql"} {
		self, _ := os.Executable()
		cmd := exec.Command(self, "-step", name, "-root", root, "-queries", fmt.Sprint(queries))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("step %s: %w", name, err)
		}
		var r result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			return fmt.Errorf("step %s: %w: %s", name, err, out.Bytes())
		}
		rss := maxRSS(cmd)
		keys := make([]string, 0, len(r.Figures))
		for k := range r.Figures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			mem := ""
			if i == 0 {
				mem = fmt.Sprintf("%.0f MiB", rss)
			}
			fmt.Printf("%-36s %9.2f ms %10s\n", name+": "+k, r.Figures[k], mem)
		}
	}
	db := filepath.Join(dir, "registry.db")
	t0 := time.Now()
	cmd := exec.Command(registry, "sql", "--root", root, "--export", db)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	el := time.Since(t0)
	fi, err := os.Stat(db)
	if err != nil {
		return err
	}
	fmt.Printf("%-36s %9.2f ms %6.0f MiB   (%s file)\n", "registry sql --export", float64(el.Microseconds())/1000, maxRSS(cmd), accesslog.HumanSize(fi.Size()))
	return nil
}

func maxRSS(cmd *exec.Cmd) float64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return 0
}

// generate writes the store through its own methods: bases with 4 layers,
// and images each built on a base with layers of their own, configs with
// a history line per layer.
func generate(root string, images, layers, bases, repos int) error {
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		return err
	}
	put := func(repo string, b []byte) (string, error) {
		d := digest.FromBytes(b)
		_, err := s.PutBlob(context.Background(), repo, d, int64(len(b)), bytes.NewReader(b))
		return fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}`, d, len(b)), err
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	baseLayers := make([][]string, bases)
	image := func(i int) error {
		repo := fmt.Sprintf("bench/r%02d", i%repos)
		var descs []string
		n := layers
		if i < bases {
			n = 4
		} else {
			b := baseLayers[i%bases]
			for _, l := range b {
				var d struct{ Digest digest.Digest }
				json.Unmarshal([]byte(l), &d)
				if _, err := s.Mount(context.Background(), repo, "", d.Digest); err != nil {
					return err
				}
			}
			descs = append(descs, b...)
		}
		for j := 0; j < n; j++ {
			desc, err := put(repo, random(256+j*64))
			if err != nil {
				return err
			}
			descs = append(descs, desc)
		}
		if i < bases {
			baseLayers[i] = descs
		}
		var history []string
		for j := range descs {
			history = append(history, fmt.Sprintf(`{"created_by":"RUN step %d of image %d"}`, j, i))
		}
		cfg := []byte(fmt.Sprintf(`{"created":"2026-01-01T00:00:00Z","os":"linux","architecture":"amd64","rootfs":{"type":"layers"},"history":[%s]}`, strings.Join(history, ",")))
		cd := digest.FromBytes(cfg)
		if _, err := s.PutBlob(context.Background(), repo, cd, int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
			return err
		}
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[%s]}`,
			cd, len(cfg), strings.Join(descs, ","))
		if _, _, err := s.PutManifest(context.Background(), repo, fmt.Sprintf("v%d", i), "", []byte(m), nil); err != nil {
			return err
		}
		return nil
	}
	// Bases first (the others mount their layers), then the rest; eight
	// writers at a time.
	for _, span := range [][2]int{{0, min(bases, images)}, {min(bases, images), images}} {
		next, errs := make(chan int), make(chan error, 8)
		for w := 0; w < 8; w++ {
			go func() {
				var err error
				for i := range next {
					if err == nil {
						err = image(i)
					}
				}
				errs <- err
			}()
		}
		for i := span[0]; i < span[1]; i++ {
			next <- i
		}
		close(next)
		for w := 0; w < 8; w++ {
			if err := <-errs; err != nil {
				return err
			}
		}
	}
	return nil
}

func runStep(step, root string, queries int) (*result, error) {
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	r := &result{Step: step, Figures: map[string]float64{}}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	switch step {
	case "build":
		t0 := time.Now()
		snap, err := index.Build(context.Background(), s)
		if err != nil {
			return nil, err
		}
		r.Figures["index build (1 walk)"] = ms(time.Since(t0))
		_ = snap
	case "api":
		cfg := config.Defaults()
		cfg.Root = root
		log := logrus.New()
		log.SetLevel(logrus.WarnLevel)
		srv, err := server.NewWithStore(cfg, log, s)
		if err != nil {
			return nil, err
		}
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		snap, err := index.Build(context.Background(), s)
		if err != nil {
			return nil, err
		}
		imgs, _ := snap.Images(nil, "", 1<<30)
		get := func(path string) (time.Duration, error) {
			t0 := time.Now()
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				return 0, err
			}
			var v any
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
			}
			return time.Since(t0), err
		}
		cold, err := get("/api/images/" + imgs[0].Digest.String() + "/family")
		if err != nil {
			return nil, err
		}
		r.Figures["first request (builds the index)"] = ms(cold)
		for _, q := range []struct {
			name string
			path func(m *index.Manifest) string
		}{
			{"family", func(m *index.Manifest) string { return "/api/images/" + m.Digest.String() + "/family" }},
			{"blob images", func(m *index.Manifest) string { return "/api/blobs/" + m.Refs[1].Digest.String() + "/images" }},
		} {
			var times []time.Duration
			for i := 0; i < queries; i++ {
				d, err := get(q.path(imgs[(i*7919)%len(imgs)]))
				if err != nil {
					return nil, err
				}
				times = append(times, d)
			}
			p50, p99, max := stats(times)
			r.Figures["GET "+q.name+" p50"] = ms(p50)
			r.Figures["GET "+q.name+" p99"] = ms(p99)
			r.Figures["GET "+q.name+" max"] = ms(max)
		}
		if err := timeViews(r, snap, imgs, get, queries); err != nil {
			return nil, err
		}
	case "sql":
		t0 := time.Now()
		snap, err := index.Build(context.Background(), s)
		if err != nil {
			return nil, err
		}
		db, err := index.OpenSQL(snap)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		r.Figures["build + load in-memory SQLite"] = ms(time.Since(t0))
		imgs, _ := snap.Images(nil, "", 1<<30)
		var fam, users []time.Duration
		for i := 0; i < queries; i++ {
			m := imgs[(i*7919)%len(imgs)]
			t0 := time.Now()
			if _, _, err := index.Query(db, "SELECT base FROM built_on WHERE image = '"+m.Digest.String()+"' UNION ALL SELECT image FROM built_on WHERE base = '"+m.Digest.String()+"'"); err != nil {
				return nil, err
			}
			fam = append(fam, time.Since(t0))
			t0 = time.Now()
			if _, _, err := index.Query(db, "SELECT manifest FROM manifest_blobs WHERE digest = '"+m.Refs[1].Digest.String()+"'"); err != nil {
				return nil, err
			}
			users = append(users, time.Since(t0))
		}
		p50, p99, max := stats(fam)
		r.Figures["SQL family p50"], r.Figures["SQL family p99"], r.Figures["SQL family max"] = ms(p50), ms(p99), ms(max)
		p50, p99, max = stats(users)
		r.Figures["SQL blob images p50"], r.Figures["SQL blob images p99"], r.Figures["SQL blob images max"] = ms(p50), ms(p99), ms(max)
	default:
		return nil, fmt.Errorf("unknown step %q", step)
	}
	return r, nil
}

// timeViews times the API answers each explorer view is built from: the
// requests of one view, one after another, as one figure.
func timeViews(r *result, snap *index.Snapshot, imgs []*index.Manifest, get func(string) (time.Duration, error), queries int) error {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	repo := func(i int) string { return snap.Repositories[i%len(snap.Repositories)].Name }
	img := func(i int) string { return imgs[(i*7919)%len(imgs)].Digest.String() }
	for _, v := range []struct {
		name  string
		runs  int
		paths func(i int) []string
	}{
		{"repositories", queries, func(int) []string { return []string{"/api/repositories"} }},
		{"repository", queries, func(i int) []string { return []string{"/api/repositories/" + repo(i) + "/tags"} }},
		{"image", queries, func(i int) []string { return []string{"/api/images/" + img(i)} }},
		{"compare x2", queries, func(i int) []string { return []string{"/api/images/" + img(i), "/api/images/" + img(i+1)} }},
		{"family tree", max(queries/10, 3), func(int) []string { return []string{"/api/tree"} }},
		{"storage", max(queries/10, 3), func(int) []string { return []string{"/api/storage", "/api/blobs/largest?n=10"} }},
	} {
		var times []time.Duration
		for i := 0; i < v.runs; i++ {
			var total time.Duration
			for _, p := range v.paths(i) {
				d, err := get(p)
				if err != nil {
					return err
				}
				total += d
			}
			times = append(times, total)
		}
		p50, p99, worst := stats(times)
		r.Figures["view "+v.name+" p50"], r.Figures["view "+v.name+" p99"], r.Figures["view "+v.name+" max"] = ms(p50), ms(p99), ms(worst)
	}
	return nil
}

func stats(ds []time.Duration) (p50, p99, max time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*99/100], ds[len(ds)-1]
}
