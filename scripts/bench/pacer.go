package main

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pacePeriod is how long the background commands run, then stay stopped.
const pacePeriod = 250 * time.Millisecond

// A pacer stops the background commands it was given and lets them go on
// again (SIGSTOP, SIGCONT), in turn every pacePeriod, while the GETs are
// measured beside them. Each GET falls in a window where the commands ran
// or one where they were stopped: two samples of the same minutes on the
// same machine, which load from elsewhere moves alike. Compared with a
// baseline taken before, minutes earlier, the difference between them is
// what the commands cost the GETs, not what the machine did meanwhile.
type pacer struct {
	mu      sync.Mutex
	procs   map[*os.Process]bool
	flips   atomic.Int64 // changes so far: odd while the commands are stopped
	paused  time.Duration
	since   time.Time // when the pause under way began
	stop    chan struct{}
	stopped sync.WaitGroup
}

func newPacer() *pacer {
	pc := &pacer{procs: map[*os.Process]bool{}, stop: make(chan struct{})}
	pc.stopped.Add(1)
	go func() {
		defer pc.stopped.Done()
		t := time.NewTicker(pacePeriod)
		defer t.Stop()
		for {
			select {
			case <-pc.stop:
				pc.mu.Lock()
				if pc.flips.Load()%2 == 1 {
					pc.flipLocked()
				}
				pc.mu.Unlock()
				return
			case <-t.C:
				pc.mu.Lock()
				pc.flipLocked()
				pc.mu.Unlock()
			}
		}
	}()
	return pc
}

// flipLocked stops the commands if they run, or lets them go on.
func (pc *pacer) flipLocked() {
	sig := syscall.SIGSTOP
	if pc.flips.Load()%2 == 1 {
		sig = syscall.SIGCONT
		pc.paused += time.Since(pc.since)
	} else {
		pc.since = time.Now()
	}
	for p := range pc.procs {
		p.Signal(sig) // an error: it has just ended
	}
	pc.flips.Add(1)
}

// add paces a command just started; remove stops pacing one that ended.
func (pc *pacer) add(p *os.Process) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.procs[p] = true
	if pc.flips.Load()%2 == 1 {
		p.Signal(syscall.SIGSTOP)
	}
}

func (pc *pacer) remove(p *os.Process) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	delete(pc.procs, p)
}

// pausedSoFar is the time the commands have spent stopped.
func (pc *pacer) pausedSoFar() time.Duration {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.flips.Load()%2 == 1 {
		return pc.paused + time.Since(pc.since)
	}
	return pc.paused
}

// end lets the commands go on for good.
func (pc *pacer) end() {
	close(pc.stop)
	pc.stopped.Wait()
}

// window labels a request that began at flip count f0 and ended at f1:
// ran (the commands ran throughout), paused (stopped throughout), or
// neither (it saw a change).
func window(f0, f1 int64) int {
	switch {
	case f0 != f1:
		return windowMixed
	case f0%2 == 1:
		return windowPaused
	default:
		return windowRan
	}
}

const (
	windowRan = iota
	windowPaused
	windowMixed
)
