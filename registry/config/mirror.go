package config

import (
	"flag"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mirror is the pull-through cache: repository prefixes mapped to upstream
// registries. A pull of a repository under a mirrored prefix that the store
// lacks is fetched from the upstream and kept; mirrored prefixes are
// read-only. Credentials come from a file (never a flag: they would show
// in process lists).
type Mirror struct {
	Specs       List          // PREFIX=URL[?ttl=DUR&ca=FILE&insecure=true], or PREFIX=local
	TTL         time.Duration // a cached tag is revalidated upstream after this
	MaxAge      time.Duration // cached manifests not pulled for this long are evicted (0: never)
	Credentials string        // file of PREFIX=USER:PASSWORD lines
	CA          string        // PEM bundle trusted for every upstream, besides the system's
}

// List is a comma-separated list whose flag may be repeated: the first
// --flag replaces what the environment said, later ones add to it.
type List string

// Items returns the list's non-empty items.
func (l List) Items() []string {
	var out []string
	for _, s := range strings.Split(string(l), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// repeated is the flag.Value of a List.
type repeated struct {
	p    *List
	seen bool
}

func (r *repeated) String() string {
	if r == nil || r.p == nil {
		return ""
	}
	return string(*r.p)
}

func (r *repeated) Set(v string) error {
	if !r.seen || *r.p == "" {
		*r.p, r.seen = List(v), true
		return nil
	}
	*r.p += List("," + v)
	return nil
}

// Upstream is one parsed --mirror entry.
type Upstream struct {
	Prefix   string        // "" (every repository no other prefix claims) or ending in /
	URL      string        // scheme://host[:port], no path; "" for a local prefix
	Local    bool          // PREFIX=local: not mirrored (beside a catch-all upstream)
	TTL      time.Duration // tag revalidation interval
	CA       string        // PEM bundle for this upstream
	Insecure bool          // skip TLS verification (test setups only)
}

var mirrorPrefix = regexp.MustCompile(`^([a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*/)*$`)

func (c *Config) mirrorSettings() []setting {
	m := &c.Mirror
	return []setting{
		{"mirror", "REGISTRY_MIRRORS", "pull-through cache: PREFIX=URL mirrors the repositories under PREFIX (e.g. hub/=https://registry-1.docker.io, read-only here) from the upstream; repeat the flag, or separate with commas; options after ?: ttl=DUR, ca=FILE, insecure=true; an empty PREFIX (=URL) mirrors every repository no other prefix claims, as docker's registry-mirrors expect; PREFIX=local keeps a prefix local beside it", &m.Specs},
		{"mirror-ttl", "REGISTRY_MIRROR_TTL", "a cached tag is checked against the upstream (HEAD, digest compare) once older than this; manifests by digest are served from the cache forever", &m.TTL},
		{"mirror-max-age", "REGISTRY_MIRROR_MAX_AGE", "evict cached manifests not pulled for this long (their blobs then go at the next garbage collection; 0: keep forever)", &m.MaxAge},
		{"mirror-credentials", "REGISTRY_MIRROR_CREDENTIALS", "file of PREFIX=USER:PASSWORD lines: Basic credentials, or the upstream's token flow, per mirrored prefix (none: anonymous)", &m.Credentials},
		{"mirror-ca", "REGISTRY_MIRROR_CA", "PEM bundle of CA certificates trusted for every upstream, besides the system's", &m.CA},
	}
}

func mirrorDefaults() Mirror { return Mirror{TTL: 5 * time.Minute} }

// Upstreams parses the --mirror entries, longest prefix first.
func (m Mirror) Upstreams() ([]Upstream, error) {
	var ups []Upstream
	seen := map[string]bool{}
	for _, spec := range m.Specs.Items() {
		prefix, raw, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("--mirror %q: want PREFIX=URL", spec)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if !mirrorPrefix.MatchString(prefix) {
			return nil, fmt.Errorf("--mirror %q: prefix %q is not a repository path (lowercase components, ending in /)", spec, prefix)
		}
		if seen[prefix] {
			return nil, fmt.Errorf("--mirror %q: prefix %q given twice", spec, prefix)
		}
		seen[prefix] = true
		up := Upstream{Prefix: prefix, TTL: m.TTL, CA: m.CA}
		if raw == "local" {
			up.Local = true
			ups = append(ups, up)
			continue
		}
		if err := parseUpstreamURL(&up, raw); err != nil {
			return nil, fmt.Errorf("--mirror %q: %w", spec, err)
		}
		ups = append(ups, up)
	}
	sort.SliceStable(ups, func(i, j int) bool { return len(ups[i].Prefix) > len(ups[j].Prefix) })
	return ups, nil
}

func parseUpstreamURL(up *Upstream, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return fmt.Errorf("want http(s)://host[:port] (no path, no credentials: those go in --mirror-credentials)")
	}
	up.URL = u.Scheme + "://" + u.Host
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "ttl":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("ttl=%q: want a duration", v)
			}
			up.TTL = d
		case "ca":
			up.CA = v
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("insecure=%q: want true or false", v)
			}
			up.Insecure = b
		default:
			return fmt.Errorf("unknown option %q (want ttl, ca, insecure)", k)
		}
	}
	return nil
}

func (c *Config) validateMirror() error {
	ups, err := c.Mirror.Upstreams()
	if err != nil {
		return err
	}
	if c.Mirror.TTL < 0 || c.Mirror.MaxAge < 0 {
		return fmt.Errorf("--mirror-ttl and --mirror-max-age must not be negative")
	}
	if c.Mirror.MaxAge > 0 && c.Mirror.MaxAge < time.Minute {
		return fmt.Errorf("--mirror-max-age %s: must be 0 (never) or at least 1m0s", c.Mirror.MaxAge)
	}
	mirrored := false
	for _, up := range ups {
		mirrored = mirrored || !up.Local
	}
	if len(ups) > 0 && !mirrored {
		return fmt.Errorf("--mirror: only local prefixes, no upstream")
	}
	return nil
}

// listFlag registers a List's flag.
func listFlag(fs *flag.FlagSet, p *List, name, help string) {
	fs.Var(&repeated{p: p}, name, help)
}
