package mirror_test

import (
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/mirror"
	"github.com/layerlab/layerlab/registry/storage"
)

// TestRoutes: the longest prefix wins, a local prefix is not mirrored, an
// empty prefix takes every other name as it is (docker's registry-mirrors),
// and Docker Hub's single names get library/.
func TestRoutes(t *testing.T) {
	t.Parallel()
	store, err := storage.Open(t.TempDir(), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Mirror{Specs: "hub/=https://registry-1.docker.io,ghcr/=https://ghcr.io,=http://127.0.0.1:1,lab/=local", TTL: time.Minute}
	m, err := mirror.New(cfg, store, logrus.New())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"hub/alpine":         "https://registry-1.docker.io library/alpine",
		"hub/bitnami/redis":  "https://registry-1.docker.io bitnami/redis",
		"ghcr/owner/app":     "https://ghcr.io owner/app",
		"ghcr/app":           "https://ghcr.io app",
		"library/alpine":     "http://127.0.0.1:1 library/alpine",
		"hubble/x":           "http://127.0.0.1:1 hubble/x",
		"lab/app":            "",
		"lab/base/something": "",
	} {
		got := ""
		if rt := m.For(name); rt != nil {
			got = rt.Upstream() + " " + rt.Repo
		}
		if got != want {
			t.Errorf("%s: routed to %q, want %q", name, got, want)
		}
	}
	none, err := mirror.New(config.Mirror{TTL: time.Minute}, store, logrus.New())
	if err != nil || none != nil || none.For("hub/alpine") != nil {
		t.Fatalf("no mirrors: %v %v", none, err)
	}
}
