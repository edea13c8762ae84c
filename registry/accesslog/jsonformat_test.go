package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestJSONFormatterWritesValidJSON(t *testing.T) {
	var out bytes.Buffer
	l, err := New(&out, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	odd := "quote\" backslash\\ newline\n tab\t nul\x00 bad\xff utf8 é <tag> \u2028"
	l.WithFields(logrus.Fields{"s": odd, "i": 42, "i64": int64(-7), "f": 1.5, "b": true,
		"err": errors.New("boom"), "list": []string{"a", "b"}}).Info(odd)
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %q: %v", out.String(), err)
	}
	want := "quote\" backslash\\ newline\n tab\t nul\x00 bad\ufffd utf8 é <tag> \u2028"
	if m["s"] != want || m["msg"] != want {
		t.Errorf("string round trip: got %q", m["s"])
	}
	if m["i"] != 42.0 || m["i64"] != -7.0 || m["f"] != 1.5 || m["b"] != true || m["err"] != "boom" || m["level"] != "info" {
		t.Errorf("values: %v", m)
	}
	if l, ok := m["list"].([]any); !ok || len(l) != 2 {
		t.Errorf("list: %v", m["list"])
	}
	if _, ok := m["time"].(string); !ok {
		t.Error("no time")
	}
}
