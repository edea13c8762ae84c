package config

import (
	"strings"
	"testing"
	"time"
)

func TestMirrorSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REGISTRY_MIRRORS": "hub/=https://registry-1.docker.io, ghcr=https://ghcr.io?ttl=1m",
		"REGISTRY_MIRROR_TTL": "10m"}
	c, _, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := c.Mirror.Upstreams()
	if err != nil || len(ups) != 2 {
		t.Fatalf("from the environment: %+v, %v", ups, err)
	}
	if ups[0].Prefix != "ghcr/" || ups[0].URL != "https://ghcr.io" || ups[0].TTL != time.Minute ||
		ups[1].Prefix != "hub/" || ups[1].TTL != 10*time.Minute {
		t.Fatalf("parsed %+v", ups)
	}
	// The first --mirror replaces the environment's list, later ones add to it.
	c, _, err = load(t, env, "--mirror", "=http://127.0.0.1:5001?insecure=true", "--mirror", "lab/=local",
		"--mirror", "a/bc/=https://example.com/?ca=/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	ups, err = c.Mirror.Upstreams()
	if err != nil || len(ups) != 3 {
		t.Fatalf("from flags: %+v, %v", ups, err)
	}
	if ups[0].Prefix != "a/bc/" || ups[0].CA != "/ca.pem" || ups[1].Prefix != "lab/" || !ups[1].Local ||
		ups[2].Prefix != "" || !ups[2].Insecure || ups[2].URL != "http://127.0.0.1:5001" {
		t.Fatalf("longest prefix first, options applied: %+v", ups)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--mirror", "hub/"}, "PREFIX=URL"},
		{[]string{"--mirror", "Hub/=https://x"}, "prefix"},
		{[]string{"--mirror", "hub/=ftp://x"}, "http(s)"},
		{[]string{"--mirror", "hub/=https://u:p@x"}, "credentials"},
		{[]string{"--mirror", "hub/=https://x/v2"}, "no path"},
		{[]string{"--mirror", "hub/=https://x?tll=1m"}, "unknown option"},
		{[]string{"--mirror", "hub/=https://x", "--mirror", "hub=https://y"}, "twice"},
		{[]string{"--mirror", "lab/=local"}, "no upstream"},
		{[]string{"--mirror", "hub/=https://x", "--mirror-max-age", "1s"}, "--mirror-max-age"},
	} {
		if _, _, err := load(t, nil, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.args, err, bad.want)
		}
	}
}
