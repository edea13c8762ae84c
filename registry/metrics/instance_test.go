package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// The exposition names the replica in one info series.
func TestInstanceInfo(t *testing.T) {
	m, _ := newMetrics(t)
	m.NameInstance("r3")
	if v := value(t, m, "registry_instance_info", "registry_instance=r3"); v != 1 {
		t.Fatalf("registry_instance_info{registry_instance=r3} = %v, want 1", v)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `registry_instance_info{registry_instance="r3"} 1`) {
		t.Fatalf("exposition lacks the instance series:\n%s", body)
	}
}
