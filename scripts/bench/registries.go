package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// refVersion is the reference registry measured beside ours.
const refVersion = "v3.1.2"

// registry is one registry under test: how to start it fresh.
type registry struct {
	name  string
	start func(root, addr, logFile string) *exec.Cmd
}

// running is a started registry process.
type running struct {
	cmd  *exec.Cmd
	addr string
	root string
}

// ours runs our registry; logLevel "info" writes the JSON access log,
// "error" leaves it off (to measure what logging costs).
func ours(bin, logLevel string) registry {
	return registry{name: "layerlab", start: func(root, addr, logFile string) *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr, "--root", root, "--log-format", "json", "--log-level", logLevel)
		cmd.Stderr = openLog(logFile)
		return cmd
	}}
}

func reference(bin string) registry {
	return registry{name: "distribution", start: func(root, addr, logFile string) *exec.Cmd {
		cfg := filepath.Join(filepath.Dir(root), "config.yml")
		os.WriteFile(cfg, distributionConfig(addr, "  filesystem:\n    rootdirectory: "+root+"\n"), 0o644)
		cmd := exec.Command(bin, "serve", cfg)
		cmd.Stdout = openLog(logFile)
		cmd.Stderr = cmd.Stdout
		return cmd
	}}
}

// distributionConfig is the reference registry's configuration with the
// given storage driver section (indented under storage:).
func distributionConfig(addr, driver string) []byte {
	return fmt.Appendf(nil, `version: 0.1
log:
  level: info
  formatter: json
  accesslog:
    disabled: false
storage:
%s  delete:
    enabled: true
  redirect:
    disable: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
  secret: bench-only
`, driver, addr)
}

func openLog(path string) *os.File {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fatal(err)
	}
	return f
}

// launch starts a registry on a fresh root and waits until /v2/ answers.
func (r registry) launch(work string) *running {
	root, err := os.MkdirTemp(work, r.name+"-")
	if err != nil {
		fatal(err)
	}
	store := filepath.Join(root, "store")
	os.MkdirAll(store, 0o755)
	addr := freeAddr()
	cmd := r.start(store, addr, filepath.Join(work, r.name+".log"))
	if err := cmd.Start(); err != nil {
		fatal(fmt.Errorf("start %s: %w", r.name, err))
	}
	for i := 0; i < 300; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return &running{cmd: cmd, addr: addr, root: root}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	fatal(fmt.Errorf("%s did not start on %s", r.name, addr))
	return nil
}

// stop ends the process, reports its peak resident memory, and deletes
// its storage.
func (p *running) stop() (peakMiB float64) {
	peakMiB = peakRSS(p.cmd.Process.Pid)
	p.cmd.Process.Kill()
	p.cmd.Wait()
	os.RemoveAll(p.root)
	return peakMiB
}

// peakRSS reads VmHWM of a process, in MiB.
func peakRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBinaries builds our registry and the reference one (from the Go
// module proxy, by scripts/distribution.sh into its cache outside the
// repository).
func buildBinaries(withRef bool) (oursBin, refBin string) {
	oursBin = "bin/registry"
	run("go", "build", "-o", oursBin, "./registry")
	if !withRef {
		return oursBin, ""
	}
	// The same build, in the same cache, as the mirror's tests use.
	cmd := exec.Command("bash", "scripts/distribution.sh")
	cmd.Env = append(os.Environ(), "DISTRIBUTION_VERSION="+refVersion)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fatal(fmt.Errorf("build the reference registry: %w", err))
	}
	refBin = strings.TrimSpace(string(out))
	return oursBin, refBin
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fatal(fmt.Errorf("%s %v: %w", name, args, err))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	killAll()
	cleanup()
	os.Exit(1)
}
