package accesslog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every access line of a named instance says which one served the request,
// in both formats and at every level that writes access lines; an unnamed
// one writes no instance field.
func TestAccessLineNamesTheInstance(t *testing.T) {
	line := func(format, level, instance string) string {
		var out bytes.Buffer
		l, err := New(&out, level, format)
		if err != nil {
			t.Fatal(err)
		}
		h := InstanceMiddleware(l, instance, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r.Context()).Route = "tags.list"
			w.WriteHeader(http.StatusOK)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v2/lab/app/tags/list", nil))
		return out.String()
	}
	for _, level := range []string{"info", "debug", "trace"} {
		var m map[string]any
		js := line("json", level, "r2")
		if err := json.Unmarshal([]byte(js), &m); err != nil || m["instance"] != "r2" {
			t.Errorf("json at %s: instance %v (%v), want r2: %s", level, m["instance"], err, js)
		}
		if text := line("text", level, "r2"); !strings.Contains(text, "  instance=r2") {
			t.Errorf("text at %s lacks instance=r2: %s", level, text)
		}
	}
	if js := line("json", "info", ""); strings.Contains(js, "instance") {
		t.Errorf("an unnamed instance still writes the field: %s", js)
	}
}
