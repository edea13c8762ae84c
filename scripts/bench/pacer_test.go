package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procState is a process's state letter in /proc (T: stopped).
func procState(t *testing.T, pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skip("no /proc here") // the pacer is measured on Linux only
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[0]
}

// TestPacerStopsAndResumes: a paced command is stopped and running in
// turn, counts its pauses, and runs again for good once the pacer ends.
func TestPacerStopsAndResumes(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pc := newPacer()
	pc.add(cmd.Process)
	seen := map[string]bool{}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !(seen["T"] && seen["S"]); {
		seen[procState(t, cmd.Process.Pid)] = true
		time.Sleep(10 * time.Millisecond)
	}
	if !seen["T"] || !seen["S"] {
		t.Fatalf("states seen while paced: %v; want stopped (T) and sleeping (S)", seen)
	}
	for pc.flips.Load() < 2 { // one whole pause
		time.Sleep(10 * time.Millisecond)
	}
	pc.end()
	if st := procState(t, cmd.Process.Pid); st == "T" {
		t.Fatal("the command is still stopped after the pacer ended")
	}
	if p := pc.pausedSoFar(); p < pacePeriod/2 {
		t.Fatalf("paused %s in all; want at least one period", p)
	}
	if pc.flips.Load()%2 != 0 {
		t.Fatal("the pacer ended in a pause")
	}
}

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		f0, f1 int64
		want   int
	}{{0, 0, windowRan}, {1, 1, windowPaused}, {2, 2, windowRan}, {1, 2, windowMixed}, {0, 2, windowMixed}} {
		if got := window(c.f0, c.f1); got != c.want {
			t.Errorf("window(%d, %d) = %d, want %d", c.f0, c.f1, got, c.want)
		}
	}
}
