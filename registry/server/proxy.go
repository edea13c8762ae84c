package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a load balancer every request comes from the balancer's address:
// the per-client upload limit, the throttling of failed logins and the
// access log's remote_addr would all see one client. A balancer named in
// --trusted-proxies says who its client was in X-Forwarded-For (each proxy
// appends the address it received the request from); the registry then
// takes as the client the rightmost address of that header that is not a
// trusted proxy itself. The header of a request from anyone else is
// ignored: a client cannot choose its own address.

// parseProxies reads a comma-separated list of IP addresses and CIDR
// prefixes ("" for none).
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an IP address nor a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor sets a request's RemoteAddr to the client a trusted proxy
// names (port 0: the client's port is not known); other requests pass
// unchanged.
func forwardedFor(proxies []netip.Prefix, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !trusted(proxies, peer) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a hop that is not an address: trust nothing left of it
			}
			if trusted(proxies, a) {
				continue
			}
			r2 := new(http.Request)
			*r2 = *r
			r2.RemoteAddr = net.JoinHostPort(a.Unmap().String(), "0")
			next.ServeHTTP(w, r2)
			return
		}
		next.ServeHTTP(w, r)
	})
}
