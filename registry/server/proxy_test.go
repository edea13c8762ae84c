package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestForwardedFor(t *testing.T) {
	t.Parallel()
	proxies, err := parseProxies("10.0.0.5, 10.1.0.0/16,::ffff:192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy in front", "198.51.100.7:4000", nil, "198.51.100.7:4000"},
		{"a client's own header is ignored", "198.51.100.7:4000", []string{"203.0.113.9"}, "198.51.100.7:4000"},
		{"the balancer names its client", "10.0.0.5:5555", []string{"203.0.113.9"}, "203.0.113.9:0"},
		{"the rightmost untrusted hop wins", "10.0.0.5:5555", []string{"1.1.1.1, 203.0.113.9, 10.1.2.3"}, "203.0.113.9:0"},
		{"headers on several lines", "10.0.0.5:5555", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9:0"},
		{"garbage stops the walk", "10.0.0.5:5555", []string{"203.0.113.9, junk, 10.1.2.3"}, "10.0.0.5:5555"},
		{"only proxies", "10.0.0.5:5555", []string{"10.1.9.9"}, "10.0.0.5:5555"},
		{"no header from the balancer", "10.0.0.5:5555", nil, "10.0.0.5:5555"},
		{"an IPv4-mapped proxy", "[::ffff:192.0.2.1]:80", []string{"2001:db8::1"}, "[2001:db8::1]:0"},
	} {
		var got string
		h := forwardedFor(proxies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		req := httptest.NewRequest("GET", "/v2/", nil)
		req.RemoteAddr = c.remote
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != c.want {
			t.Errorf("%s: client %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"10.0.0", "lb", "10.0.0.0/33"} {
		if _, err := parseProxies(bad); err == nil {
			t.Errorf("parseProxies(%q) accepted", bad)
		}
	}
}
