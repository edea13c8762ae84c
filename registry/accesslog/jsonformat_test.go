package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestJSONFormatterWritesValidJSON(t *testing.T) {
	t.Parallel()
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

func TestTextFormatterTellsTheStory(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l, err := New(&out, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.WithFields(logrus.Fields{"request_id": "r1", "event": "blob_mounted", "digest": "sha256:ab"}).Debug("blob mounted from lab/base — no bytes sent")
	l.WithFields(logrus.Fields{"request_id": "r1", "method": "POST", "path": "/v2/lab/app/blobs/uploads/", "status": 201,
		"bytes_in": int64(0), "bytes_out": int64(2048), "duration_ms": 1.5, "error_code": "X Y"}).Info("request")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	for _, want := range []string{"DEBUG", "» blob mounted from lab/base — no bytes sent", "[r1]", "event=blob_mounted", "digest=sha256:ab"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("event line %q lacks %q", lines[0], want)
		}
	}
	for _, want := range []string{"INFO", "POST /v2/lab/app/blobs/uploads/ → 201", "out 2.0 KiB", "1.5 ms", "[r1]", `error_code="X Y"`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("access line %q lacks %q", lines[1], want)
		}
	}
	if strings.Contains(lines[1], "method=") || strings.Contains(lines[0], "\x1b[") {
		t.Errorf("fields repeated or colors off a terminal: %q", out.String())
	}
}

func TestBufferedOutputFlushes(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := New(f, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("first")
	deadline := time.Now().Add(2 * time.Second)
	for { // written within flushEvery without anything else happening
		b, _ := os.ReadFile(f.Name())
		if strings.Contains(string(b), `"msg":"first"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.Info("second")
	Flush(l)
	if b, _ := os.ReadFile(f.Name()); strings.Count(string(b), "\n") != 2 {
		t.Fatalf("after Flush the file holds %q", b)
	}
}
