package api

import (
	"fmt"
	"testing"
)

func TestRecentStaysBounded(t *testing.T) {
	var c recent
	for i := 0; i < 3*recentMax; i++ {
		c.put(fmt.Sprint(i), "v")
		if n := c.len(); n > recentMax {
			t.Fatalf("%d entries after %d puts, max %d", n, i+1, recentMax)
		}
	}
	c.put("k", "why")
	if v, ok := c.take("k"); !ok || v != "why" {
		t.Errorf("take: %q %v", v, ok)
	}
	if _, ok := c.take("k"); ok {
		t.Error("taken twice")
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 manifests", 1: "1 manifest", 2: "2 manifests"} {
		if got := plural(n, "manifest"); got != want {
			t.Errorf("plural(%d): %q, want %q", n, got, want)
		}
	}
}
