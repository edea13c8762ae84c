package accesslog

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientInputCannotForgeLogLines: a path, method, user agent or header
// holding a newline, a carriage return, an escape sequence or a C1
// control character yields one line per request, in both formats, with
// those characters escaped; values longer than a log line needs are cut.
func TestClientInputCannotForgeLogLines(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		var out bytes.Buffer
		l, err := New(&out, "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		h := Middleware(l, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r.Context()).User = "mallory\n12:00:00.000 INFO  forged user"
			w.WriteHeader(http.StatusNotFound)
		}))
		req := httptest.NewRequest("GET", "/v2/x%0a12:00:00.000%20INFO%20%20PUT%20/v2/forged%1b[2J%0d%c2%9b31m/manifests/1", nil)
		req.Header.Set("User-Agent", "agent\r\n\x1b]0;title\x07")
		req.Header.Set("Content-Type", "a\nb")
		h.ServeHTTP(httptest.NewRecorder(), req)
		long := httptest.NewRequest("GET", "/v2/", nil)
		long.Method = strings.Repeat("M", 30000)
		long.URL.Path = "/v2/" + strings.Repeat("p", 30000)
		h.ServeHTTP(httptest.NewRecorder(), long)

		got := out.String()
		if n := strings.Count(got, "\n"); n != 2 {
			t.Errorf("%s: %d lines for 2 requests:\n%s", format, n, got)
		}
		for _, bad := range []string{"\r", "\x1b", "\x07", "\u009b"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: the log holds %q raw:\n%q", format, bad, got)
			}
		}
		if !strings.Contains(got, `\x1b`) && !strings.Contains(got, `\u001b`) {
			t.Errorf("%s: the escape character was dropped rather than shown escaped:\n%s", format, got)
		}
		if len(got) > 12000 {
			t.Errorf("%s: %d bytes of log for a 60 KB request line", format, len(got))
		}
		if !strings.Contains(got, "(30000 bytes)") {
			t.Errorf("%s: a clipped value does not say how long it was", format)
		}
	}
}
