// Package accesslog sets up the registry's logger, writes exactly one
// access-log line per request, and the learner's event lines that explain
// the protocol as it happens.
package accesslog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// Record is what the access-log line says of one request. Handlers fill in
// what they learn (repository, digest, error) through From.
type Record struct {
	ID         string
	Instance   string // the replica that served the request ("": unnamed)
	Route      string
	Repository string
	Reference  string
	Digest     string
	UploadID   string
	User       string
	ErrCode    string
	ErrMessage string
	ErrDetail  string
	Status     int
	BytesIn    int64
	BytesOut   int64
	Start      time.Time
	// Quiet marks routine requests (health probes): logged at trace level
	// when they succeed — a probe every few seconds would drown the
	// learner's debug log — and like any other request when they fail.
	Quiet bool

	log        *logrus.Logger
	respHeader http.Header
	live       *Live // set when the live view is on
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
	return InstanceMiddleware(log, "", observe)
}

// InstanceMiddleware is Middleware whose access lines name the instance
// that served each request (a field "instance"), so that the lines of
// several replicas behind one load balancer can be told apart.
func InstanceMiddleware(log *logrus.Logger, instance string, observe func(*http.Request, *Record, time.Duration)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &Record{ID: requestID(r.Header.Get("X-Request-Id")), Instance: instance, Start: time.Now(), log: log}
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
		level = logrus.TraceLevel
	}
	if !rec.log.IsLevelEnabled(level) {
		return
	}
	var arr [32]field
	fs := arr[:0]
	str := func(k, v string) {
		if v != "" {
			fs = append(fs, field{key: k, str: v})
		}
	}
	// In the order of their keys, as the JSON formatter writes fields.
	fs = append(fs, field{key: "bytes_in", num: rec.BytesIn, kind: kindInt}, field{key: "bytes_out", num: rec.BytesOut, kind: kindInt})
	str("digest", rec.Digest)
	fs = append(fs, field{key: "duration_ms", float: float64(elapsed.Microseconds()) / 1000, kind: kindFloat})
	str("error_code", rec.ErrCode)
	str("error_detail", clip(rec.ErrDetail, maxValue))
	str("error_message", rec.ErrMessage)
	str("instance", rec.Instance)
	fs = append(fs, field{key: "method", str: clip(r.Method, maxMethod)}, field{key: "path", str: clip(r.URL.Path, maxValue)})
	str("reference", rec.Reference)
	fs = append(fs, field{key: "remote_addr", str: r.RemoteAddr})
	str("repository", rec.Repository)
	verbose := rec.log.IsLevelEnabled(logrus.DebugLevel)
	if verbose {
		for _, h := range requestHeaders {
			str("req."+strings.ToLower(h), clip(strings.Join(r.Header.Values(h), ", "), maxValue))
		}
	}
	fs = append(fs, field{key: "request_id", str: rec.ID})
	if verbose {
		for _, h := range responseHeaders {
			str("resp."+strings.ToLower(h), strings.Join(rec.respHeader.Values(h), ", "))
		}
	}
	str("route", rec.Route)
	fs = append(fs, field{key: "status", num: int64(rec.Status), kind: kindInt})
	str("upload_id", rec.UploadID)
	str("user", clip(rec.User, maxValue))
	fs = append(fs, field{key: "user_agent", str: clip(r.UserAgent(), maxValue)})

	if _, ok := rec.log.Formatter.(jsonFormatter); ok {
		// The hot path: straight to bytes, no map, no sorting.
		bp := lineBuffers.Get().(*[]byte)
		b := appendJSONHead((*bp)[:0], time.Now(), level, "request")
		for _, f := range fs {
			b = append(b, ',')
			b = appendString(b, f.key)
			b = append(b, ':')
			b = f.appendJSON(b)
		}
		b = append(b, '}', '\n')
		rec.log.Out.Write(b)
		*bp = b
		lineBuffers.Put(bp)
		return
	}
	if _, ok := rec.log.Formatter.(textFormatter); ok {
		fs = forText(fs, r.URL.Path, rec.log.IsLevelEnabled(logrus.TraceLevel))
	}
	m := make(logrus.Fields, len(fs))
	for _, f := range fs {
		m[f.key] = f.value()
	}
	writeEntry(rec.log, level, "request", m)
}

// What the access line keeps of values a client chose: a request line
// and headers may hold 64 KiB, a log line need not.
const (
	maxMethod = 32
	maxValue  = 2048
)

// clip shortens s to at most n bytes (at a character boundary), saying
// how long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const (
	kindString = iota
	kindInt
	kindFloat
)

// field is one key and value of the access line, unboxed.
type field struct {
	key, str string
	num      int64
	float    float64
	kind     int
}

func (f field) value() any {
	switch f.kind {
	case kindInt:
		return f.num
	case kindFloat:
		return f.float
	}
	return f.str
}

func (f field) appendJSON(b []byte) []byte {
	switch f.kind {
	case kindInt:
		return strconv.AppendInt(b, f.num, 10)
	case kindFloat:
		return strconv.AppendFloat(b, f.float, 'f', -1, 64)
	}
	return appendString(b, f.str)
}

var entryBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeEntry formats and writes one entry with the logger's formatter and
// output. It is what logrus does for an entry, minus the copy of the
// fields it makes first: the access log runs on every request. The
// outputs this registry uses are safe for concurrent writes.
func writeEntry(l *logrus.Logger, level logrus.Level, msg string, f logrus.Fields) {
	buf := entryBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	e := &logrus.Entry{Logger: l, Data: f, Time: time.Now(), Level: level, Message: msg, Buffer: buf}
	if b, err := l.Formatter.Format(e); err == nil {
		l.Out.Write(b)
	}
	entryBuffers.Put(buf)
}

// The headers that carry the protocol, shown to learners on the access
// line in verbose mode. Credentials are never among them.
var (
	requestHeaders  = []string{"Accept", "Content-Type", "Content-Range", "Range"}
	responseHeaders = []string{"Content-Type", "Location", "Range", "Docker-Content-Digest", "Docker-Upload-UUID", "OCI-Subject"}
)

// Event writes a learner's line: what just happened, in plain words, tied
// to the request id. It costs nothing unless debug logging is on.
func Event(ctx context.Context, event, msg string, fields logrus.Fields) {
	publishEvent(ctx, event, msg, fields)
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

// EventsWanted says whether anyone reads learner events: the debug log, or
// a live view. Events that cost work to compose are skipped otherwise.
func (rec *Record) EventsWanted() bool {
	return rec.DebugEnabled() || rec.live != nil && rec.live.subs.Load() > 0
}
