// Package accesslog sets up the registry's logger, writes exactly one
// access-log line per request, and the learner's event lines that explain
// the protocol as it happens.
package accesslog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Record is what the access-log line says of one request. Handlers fill in
// what they learn (repository, digest, error) through From.
type Record struct {
	ID         string
	Route      string
	Repository string
	Reference  string
	Digest     string
	UploadID   string
	ErrCode    string
	ErrMessage string
	ErrDetail  string
	Status     int
	BytesIn    int64
	BytesOut   int64
	Start      time.Time
	// Quiet marks routine requests (health probes): logged at debug level
	// when they succeed.
	Quiet bool

	log        *logrus.Logger
	respHeader http.Header
}

type ctxKey struct{}

// From returns the request's record; a request outside the middleware gets
// a throwaway one so handlers never check for nil.
func From(ctx context.Context) *Record {
	if rec, ok := ctx.Value(ctxKey{}).(*Record); ok {
		return rec
	}
	return &Record{log: discard}
}

var discard = func() *logrus.Logger { l := logrus.New(); l.SetOutput(io.Discard); return l }()

// Middleware wraps next with request ids, byte counting and the access
// log. observe, when not nil, sees every finished request (metrics).
func Middleware(log *logrus.Logger, observe func(*http.Request, *Record, time.Duration)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &Record{ID: requestID(r.Header.Get("X-Request-Id")), Start: time.Now(), log: log}
			w.Header().Set("X-Request-Id", rec.ID)
			rec.respHeader = w.Header()
			cw := &countingWriter{ResponseWriter: w, rec: rec}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &countingBody{ReadCloser: r.Body, rec: rec}
			}
			next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, rec)))
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			elapsed := time.Since(rec.Start)
			if observe != nil {
				observe(r, rec, elapsed)
			}
			rec.write(r, elapsed)
		})
	}
}

func (rec *Record) write(r *http.Request, elapsed time.Duration) {
	level := logrus.InfoLevel
	switch {
	case rec.Status >= 500:
		level = logrus.ErrorLevel
	case rec.Status >= 400:
		level = logrus.WarnLevel
	case rec.Quiet:
		level = logrus.DebugLevel
	}
	if !rec.log.IsLevelEnabled(level) {
		return
	}
	f := make(logrus.Fields, 20)
	f["request_id"] = rec.ID
	f["method"] = r.Method
	f["path"] = r.URL.Path
	f["status"] = rec.Status
	f["bytes_in"] = rec.BytesIn
	f["bytes_out"] = rec.BytesOut
	f["duration_ms"] = float64(elapsed.Microseconds()) / 1000
	f["remote_addr"] = r.RemoteAddr
	f["user_agent"] = r.UserAgent()
	optional := [...]struct{ key, value string }{{"route", rec.Route}, {"repository", rec.Repository},
		{"reference", rec.Reference}, {"digest", rec.Digest}, {"upload_id", rec.UploadID},
		{"error_code", rec.ErrCode}, {"error_message", rec.ErrMessage}, {"error_detail", rec.ErrDetail}}
	for _, o := range optional {
		if o.value != "" {
			f[o.key] = o.value
		}
	}
	if rec.log.IsLevelEnabled(logrus.DebugLevel) {
		protocolHeaders(f, r.Header, rec.respHeader)
	}
	e := logrus.NewEntry(rec.log)
	e.Data = f
	e.Log(level, "request")
}

// The headers that carry the protocol, shown to learners on the access
// line in verbose mode. Credentials are never among them.
var (
	requestHeaders  = []string{"Accept", "Content-Type", "Content-Range", "Range"}
	responseHeaders = []string{"Content-Type", "Location", "Range", "Docker-Content-Digest", "Docker-Upload-UUID", "OCI-Subject"}
)

func protocolHeaders(f logrus.Fields, req, resp http.Header) {
	for _, h := range requestHeaders {
		if v := req.Values(h); len(v) > 0 {
			f["req."+strings.ToLower(h)] = strings.Join(v, ", ")
		}
	}
	for _, h := range responseHeaders {
		if v := resp.Values(h); len(v) > 0 {
			f["resp."+strings.ToLower(h)] = strings.Join(v, ", ")
		}
	}
}

// Event writes a learner's line: what just happened, in plain words, tied
// to the request id. It costs nothing unless debug logging is on.
func Event(ctx context.Context, event, msg string, fields logrus.Fields) {
	rec := From(ctx)
	if !rec.log.IsLevelEnabled(logrus.DebugLevel) {
		return
	}
	e := rec.log.WithField("request_id", rec.ID).WithField("event", event)
	if rec.Repository != "" {
		e = e.WithField("repository", rec.Repository)
	}
	e.WithFields(fields).Debug(msg)
}

// requestID keeps a client's X-Request-Id when it is short and plain,
// otherwise makes a new one.
func requestID(given string) string {
	if given != "" && len(given) <= 64 && strings.IndexFunc(given, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) < 0 {
		return given
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type countingBody struct {
	io.ReadCloser
	rec *Record
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.rec.BytesIn += int64(n)
	return n, err
}

// countingWriter records status and bytes sent; it keeps io.ReaderFrom so
// blobs still go out with sendfile.
type countingWriter struct {
	http.ResponseWriter
	rec *Record
}

func (w *countingWriter) WriteHeader(code int) {
	if w.rec.Status == 0 {
		w.rec.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.rec.Status == 0 {
		w.rec.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.rec.BytesOut += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.rec.Status == 0 {
		w.rec.Status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.rec.BytesOut += n
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// DebugEnabled reports whether learner events are written, so callers can
// skip work that only feeds them.
func (rec *Record) DebugEnabled() bool { return rec.log.IsLevelEnabled(logrus.DebugLevel) }
