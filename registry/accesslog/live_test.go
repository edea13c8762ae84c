package accesslog

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A subscriber that does not read loses items (counted), and never holds
// up the requests being served.
func TestLiveDropsForASlowSubscriber(t *testing.T) {
	l := NewLive(1)
	sub, ok := l.Subscribe()
	if !ok {
		t.Fatal("first subscriber refused")
	}
	if _, ok := l.Subscribe(); ok {
		t.Fatal("a subscriber over the limit was taken")
	}
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r.Context()).Repository = "lab/x"
		Event(r.Context(), "test", "something happened", nil)
	}))
	h = Middleware(discard, nil)(h)
	n := LiveBuffer
	for range n {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v2/lab/x/tags/list", nil))
	}
	if len(sub.C) != LiveBuffer || sub.Dropped() != int64(2*n-LiveBuffer) {
		t.Errorf("buffered %d, dropped %d; want %d and %d", len(sub.C), sub.Dropped(), LiveBuffer, 2*n-LiveBuffer)
	}
	ev, req := <-sub.C, <-sub.C
	if ev.Kind != "event" || ev.Message != "something happened" || req.Kind != "request" || req.Path != "/v2/lab/x/tags/list" ||
		req.Status != 200 || ev.RequestID != req.RequestID || req.Repository != "lab/x" {
		t.Errorf("items: %+v %+v", ev, req)
	}
	sub.Close()
	if _, ok := l.Subscribe(); !ok {
		t.Error("a closed subscription still counts")
	}
}
