package storage

import (
	"context"
	"sync"
	"time"
)

// UsageCache serves the storage report without walking the store per
// request. The freshness rule:
//
//   - A report is computed by one walk (DiskUsage) and carries the store's
//     generation read before the walk began and the time it began.
//   - A request reads the generation (one small object). When it equals
//     the report's, and the report is younger than MaxUsageAge, the report
//     is current: served as it is.
//   - Otherwise the request makes sure a walk is under way and waits for
//     it, at most Wait; in time, it gets the new report. Past Wait it gets
//     the last report with Stale set (and its generation and time say how
//     old it is); the walk goes on and the next requests get it.
//   - One walk at a time, and a walk starts no sooner after the previous
//     one ended than that one lasted: walks take at most half of one core,
//     however many clients poll.
//
// So on a small store every answer is current (a walk takes milliseconds),
// and on a large one an answer is at most one walk and one pause behind the
// last write, and says so.
type UsageCache struct {
	store *Store
	// Wait bounds how long a request waits for a walk under way.
	Wait time.Duration

	mu       sync.Mutex
	report   *UsageReport
	lastErr  error
	walking  chan struct{} // closed when the walk under way (or due) ends
	earliest time.Time     // the next walk starts no sooner
	walks    int
}

// MaxUsageAge bounds how long a report is trusted while the generation
// has not moved (a generation lost to a crash, say).
const MaxUsageAge = 10 * time.Minute

// DefaultUsageWait is how long a request waits for a walk under way.
const DefaultUsageWait = time.Second

// UsageReport is a storage report and what it reflects.
type UsageReport struct {
	*Usage
	Generation string        `json:"generation"` // the store's generation the walk began at
	AsOf       time.Time     `json:"as_of"`      // when the walk began
	WalkTime   time.Duration `json:"-"`
}

// NewUsageCache returns an empty cache over a store.
func NewUsageCache(s *Store) *UsageCache { return &UsageCache{store: s, Wait: DefaultUsageWait} }

// Get returns the latest report and whether the store has changed since
// the walk that made it began (stale).
func (c *UsageCache) Get(ctx context.Context) (r *UsageReport, stale bool, err error) {
	gen := c.store.Generation(ctx)
	c.mu.Lock()
	if c.current(gen) {
		r = c.report
		c.mu.Unlock()
		return r, false, nil
	}
	done := c.startLocked()
	first := c.report == nil
	c.mu.Unlock()
	wait := time.NewTimer(c.Wait)
	defer wait.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-wait.C:
		if first { // nothing to serve meanwhile: wait for the walk
			select {
			case <-done:
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.report == nil {
		return nil, false, c.lastErr
	}
	return c.report, !c.current(gen), nil
}

// Walks counts the walks begun so far.
func (c *UsageCache) Walks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.walks
}

func (c *UsageCache) current(gen string) bool {
	return c.report != nil && c.report.Generation == gen && time.Since(c.report.AsOf) < MaxUsageAge
}

// startLocked makes sure a walk is under way or due, and returns the
// channel closed when it ends.
func (c *UsageCache) startLocked() chan struct{} {
	if c.walking != nil {
		return c.walking
	}
	done := make(chan struct{})
	c.walking = done
	c.walks++
	delay := time.Until(c.earliest)
	go func() {
		if delay > 0 {
			time.Sleep(delay)
		}
		ctx := context.Background()
		began := time.Now()
		gen := c.store.Generation(ctx) // before the walk: a write meanwhile moves it again
		u, err := c.store.DiskUsage(ctx)
		took := time.Since(began)
		c.mu.Lock()
		if err == nil {
			c.report = &UsageReport{Usage: u, Generation: gen, AsOf: began.UTC(), WalkTime: took}
		}
		c.lastErr = err
		c.earliest = time.Now().Add(took)
		c.walking = nil
		c.mu.Unlock()
		close(done)
	}()
	return done
}
