package accesslog

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Live passes the registry's requests and learner events, as they happen,
// to a few subscribers (the explorer's live view). Each subscriber has a
// bounded buffer: when it reads too slowly, its newest items are dropped
// and counted, and nobody else waits. Publishing costs one atomic load
// while nobody listens.
type Live struct {
	max  int
	subs atomic.Int32
	mu   sync.Mutex
	set  map[*Subscription]struct{}
}

// LiveItem is one request or one learner event.
type LiveItem struct {
	Kind       string    `json:"kind"` // "request" or "event"
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id"`
	Method     string    `json:"method,omitempty"`
	Path       string    `json:"path,omitempty"`
	Route      string    `json:"route,omitempty"`
	Repository string    `json:"repository,omitempty"`
	Status     int       `json:"status,omitempty"`
	BytesIn    int64     `json:"bytes_in,omitempty"`
	BytesOut   int64     `json:"bytes_out,omitempty"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	ErrCode    string    `json:"error_code,omitempty"`
	Event      string    `json:"event,omitempty"`
	Message    string    `json:"message,omitempty"`
}

// Subscription receives items on C until Close.
type Subscription struct {
	C       chan LiveItem
	dropped atomic.Int64
	live    *Live
}

// LiveBuffer is each subscriber's buffer, in items.
const LiveBuffer = 256

// NewLive returns a hub taking at most max subscribers.
func NewLive(max int) *Live { return &Live{max: max, set: map[*Subscription]struct{}{}} }

// Subscribe adds a subscriber; false when max are already listening.
func (l *Live) Subscribe() (*Subscription, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.set) >= l.max {
		return nil, false
	}
	s := &Subscription{C: make(chan LiveItem, LiveBuffer), live: l}
	l.set[s] = struct{}{}
	l.subs.Store(int32(len(l.set)))
	return s, true
}

// Close removes the subscriber.
func (s *Subscription) Close() {
	l := s.live
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.set, s)
	l.subs.Store(int32(len(l.set)))
}

// Dropped counts the items this subscriber missed by reading too slowly.
func (s *Subscription) Dropped() int64 { return s.dropped.Load() }

func (l *Live) publish(it LiveItem) {
	if l == nil || l.subs.Load() == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.set {
		select {
		case s.C <- it:
		default:
			s.dropped.Add(1)
		}
	}
}

// Middleware publishes every finished request that is not quiet (health
// probes, the live stream itself). It goes inside the access-log
// middleware, whose record it reads; learner events of the request are
// published as they are written.
func (l *Live) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := From(r.Context())
		rec.live = l
		next.ServeHTTP(w, r)
		if rec.Quiet || l.subs.Load() == 0 {
			return
		}
		status := rec.Status
		if status == 0 {
			status = http.StatusOK
		}
		l.publish(LiveItem{Kind: "request", Time: time.Now().UTC(), RequestID: rec.ID, Method: clip(r.Method, maxMethod),
			Path: clip(r.URL.Path, maxValue), Route: rec.Route, Repository: rec.Repository, Status: status,
			BytesIn: rec.BytesIn, BytesOut: rec.BytesOut, ErrCode: rec.ErrCode,
			DurationMS: float64(time.Since(rec.Start).Microseconds()) / 1000})
	})
}

// publishEvent passes a learner event to the live subscribers.
func publishEvent(ctx context.Context, event, msg string, _ logrus.Fields) {
	rec := From(ctx)
	if rec.live == nil || rec.live.subs.Load() == 0 {
		return
	}
	rec.live.publish(LiveItem{Kind: "event", Time: time.Now().UTC(), RequestID: rec.ID, Repository: rec.Repository, Event: event, Message: msg})
}
