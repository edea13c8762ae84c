package config

import (
	"os"
	"strings"
	"testing"
)

func TestInstance(t *testing.T) {
	t.Parallel()
	c, _, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := os.Hostname(); err == nil && validInstance(h) == nil && c.Instance != h {
		t.Fatalf("default instance %q, want the host name %q", c.Instance, h)
	}
	if validInstance(c.Instance) != nil {
		t.Fatalf("default instance %q is not a valid one", c.Instance)
	}
	c, _, err = load(t, map[string]string{"REGISTRY_INSTANCE": "r1"})
	if err != nil || c.Instance != "r1" {
		t.Fatalf("REGISTRY_INSTANCE=r1: %q, %v", c.Instance, err)
	}
	c, _, err = load(t, map[string]string{"REGISTRY_INSTANCE": "r1"}, "--instance", "r2.lab_b-3")
	if err != nil || c.Instance != "r2.lab_b-3" {
		t.Fatalf("--instance r2.lab_b-3: %q, %v", c.Instance, err)
	}
	for _, bad := range []string{"", "a b", "r1\n", `r"1`, "r=1", strings.Repeat("r", 65), "réplica"} {
		if _, _, err := load(t, nil, "--instance", bad); err == nil || !strings.Contains(err.Error(), "--instance") {
			t.Errorf("--instance %q: %v, want it refused", bad, err)
		}
	}
}
