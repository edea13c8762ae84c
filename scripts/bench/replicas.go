package main

// The scale lab (compose.scale.yaml) measured: one replica against three
// behind the balancer, and what the balancer's hop costs. `-only replicas`
// runs it (make bench does when a Docker engine answers). It starts the lab
// with scripts/scale-up.sh when the balancer does not answer, and stops it
// again at the end if it started it.
//
// Three set-ups, interleaved in every round:
//
//	r1 direct      the replica's own port, no balancer
//	lb → r1        the balancer with r2 and r3 stopped: the hop alone
//	lb → r1 r2 r3  the balancer over three replicas
//
// Every process — three registries, the SeaweedFS cluster (master, two
// volume servers, filer, S3 gateway), Caddy and this load generator —
// shares this machine's cores: three replicas on one small machine show
// the cost of the extra moving parts more than any gain, which needs
// replicas on machines of their own.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"
)

// scaleSetup is one way of reaching the replicas.
type scaleSetup struct {
	name     string
	addr     string
	replicas []string // running behind the balancer
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// compose runs docker compose (or docker-compose) on the scale lab.
func scaleCompose(args ...string) error {
	project := envOr("COMPOSE_PROJECT_NAME", "layerlab") + "-scale"
	base := []string{"-p", project, "-f", "compose.scale.yaml"}
	cmd := exec.Command("docker", append([]string{"compose"}, append(base, args...)...)...)
	if exec.Command("docker", "compose", "version").Run() != nil {
		cmd = exec.Command("docker-compose", append(base, args...)...)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// servedBy asks the balancer n times and returns the replicas that answered.
func servedBy(addr string, n int) map[string]bool {
	seen := map[string]bool{}
	for range n {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			seen[resp.Header.Get("X-Layerlab-Replica")] = true
		}
	}
	return seen
}

// route sets the replicas behind the balancer and waits until exactly
// those serve (the balancer's health checks run every 2 s).
func route(lb string, want []string) {
	all := []string{"r1", "r2", "r3"}
	var stop, start []string
	for _, r := range all[1:] {
		if slices.Contains(want, r) {
			start = append(start, r)
		} else {
			stop = append(stop, r)
		}
	}
	if len(stop) > 0 {
		if err := scaleCompose(append([]string{"stop"}, stop...)...); err != nil {
			fatal(err)
		}
	}
	if len(start) > 0 {
		if err := scaleCompose(append([]string{"start"}, start...)...); err != nil {
			fatal(err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		seen := servedBy(lb, 3*len(all))
		if len(seen) == len(want) && func() bool {
			for _, r := range want {
				if !seen[r] {
					return false
				}
			}
			return true
		}() {
			return
		}
		time.Sleep(time.Second)
	}
	fatal(fmt.Errorf("the balancer does not route to exactly %v", want))
}

// benchReplicas measures the scale lab and writes out (JSON).
func benchReplicas(rounds int, quick bool, out string) {
	lb := "127.0.0.1:" + envOr("LAB_SCALE_PORT", "5080")
	r1 := "127.0.0.1:" + envOr("LAB_SCALE_R1_PORT", "5081")
	started := false
	if len(servedBy(lb, 1)) == 0 {
		fmt.Fprintln(os.Stderr, "starting the scale lab (bash scripts/scale-up.sh)…")
		cmd := exec.Command("bash", "scripts/scale-up.sh")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("scale lab: %w", err))
		}
		started = true
	}
	defer func() {
		if started {
			scaleCompose("down", "-v", "--remove-orphans")
		} else {
			scaleCompose("start", "r2", "r3") // as it was found
		}
	}()
	count, loadFor := 100, 10*time.Second
	if quick {
		count, loadFor, rounds = 20, 2*time.Second, 1
	}
	setups := []scaleSetup{
		{"lb → r1 r2 r3", lb, []string{"r1", "r2", "r3"}},
		{"lb → r1", lb, []string{"r1"}},
		{"r1 direct", r1, []string{"r1"}},
	}
	res := samples{}
	for round := 1; round <= rounds; round++ {
		for _, s := range setups {
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", round, rounds, s.name)
			if s.addr == lb {
				route(lb, s.replicas)
			}
			imgs := smallImages(count)
			res.add("small", s.name, float64(len(imgs))/pushSmall(s.addr, imgs, 16).Seconds())
			pushManifestImage(s.addr)
			load(s.addr, "GET", 32, loadFor/10) // warm up
			rps, p50, p99 := load(s.addr, "GET", 32, loadFor)
			res.add("get", s.name, rps)
			res.add("get.p50", s.name, p50)
			res.add("get.p99", s.name, p99)
		}
	}
	reportReplicas(res, setups, rounds, count, loadFor, out)
}

func reportReplicas(res samples, setups []scaleSetup, rounds, count int, loadFor time.Duration, out string) {
	fmt.Printf("\nlayerlab scale lab — %d round(s), medians; %d cores shared by 3 registries, 5 SeaweedFS processes, Caddy and the load generator\n",
		rounds, runtime.NumCPU())
	fmt.Printf("push: %d small images from 16 clients; GET: one manifest by tag from 32 clients for %s\n\n", count, loadFor)
	rows := []struct{ id, title, unit string }{
		{"small", "push small images", "images/s"},
		{"get", "manifest GET", "req/s"},
		{"get.p50", "manifest GET p50", "ms"},
		{"get.p99", "manifest GET p99", "ms"},
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	header := "benchmark\tunit\t"
	for _, s := range setups {
		header += s.name + "\t"
	}
	fmt.Fprintln(tw, header)
	medians := map[string]map[string]float64{}
	for _, r := range rows {
		medians[r.id] = map[string]float64{}
		line := r.title + "\t" + r.unit + "\t"
		for _, s := range setups {
			medians[r.id][s.name] = median(res[r.id][s.name])
			line += fmt.Sprintf("%.1f\t", medians[r.id][s.name])
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	three, one, direct := setups[0].name, setups[1].name, setups[2].name
	ratio := func(id, a, b string) float64 {
		if medians[id][b] == 0 {
			return 0
		}
		return medians[id][a] / medians[id][b]
	}
	fmt.Printf("\n3 replicas vs 1 (both behind the balancer): push ×%.2f, GET ×%.2f\n", ratio("small", three, one), ratio("get", three, one))
	fmt.Printf("the balancer's hop (lb → r1 vs r1 direct): push ×%.2f, GET ×%.2f, GET p50 %+.2f ms\n",
		ratio("small", one, direct), ratio("get", one, direct), medians["get.p50"][one]-medians["get.p50"][direct])
	os.MkdirAll(filepath.Dir(out), 0o755)
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "rounds": rounds, "cores": runtime.NumCPU(),
		"small_images": count, "load_seconds": loadFor.Seconds(), "medians": medians, "samples": res}, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("JSON:", out)
}
