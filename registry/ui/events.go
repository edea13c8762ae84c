package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/layerlab/layerlab/registry/accesslog"
)

// MaxLiveSubscribers bounds the open live streams.
const MaxLiveSubscribers = 16

// Events streams the registry's requests and learner events as
// server-sent events (GET /api/events). visible (nil: all) says which
// repositories the caller may see; items of others, and items naming no
// repository, are left out for a caller it limits.
func Events(live *accesslog.Live, visible func(r *http.Request) func(repo string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := accesslog.From(r.Context())
		rec.Route, rec.Quiet = "api.events", true
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		sub, ok := live.Subscribe()
		if !ok {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "too many live viewers", http.StatusServiceUnavailable)
			return
		}
		defer sub.Close()
		may := visible(r)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		// Keep the transfer-rate guard and write deadlines from cutting a
		// quiet stream: a comment every 15 s.
		rc := http.NewResponseController(w)
		fmt.Fprint(w, ": live\n\n")
		flusher.Flush()
		ping := time.NewTicker(15 * time.Second)
		defer ping.Stop()
		var dropped int64
		for {
			select {
			case <-r.Context().Done():
				return
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
			case it := <-sub.C:
				if may != nil && (it.Repository == "" || !may(it.Repository)) {
					continue
				}
				b, _ := json.Marshal(it)
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", it.Kind, b)
			}
			if d := sub.Dropped(); d != dropped {
				fmt.Fprintf(w, "event: dropped\ndata: %d\n\n", d)
				dropped = d
			}
			rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			flusher.Flush()
		}
	})
}
