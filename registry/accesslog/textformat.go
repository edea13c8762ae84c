package accesslog

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// textFormatter is the lab's log: one aligned line per entry, the request's
// story first and its details after. An access line reads
//
//	12:00:01.123 INFO  PUT /v2/lab/app/manifests/1.0 → 201  in 583 B  out 0 B  3.4 ms  [id]  key=value…
//
// and a learner's event, indented, just before the access line of its request,
//
//	12:00:01.120 DEBUG   » blob mounted from lab/base — no bytes sent  [id]  digest=sha256:…  event=blob_mounted
//
// Colors only when writing to a terminal.
type textFormatter struct{ color bool }

// fields the line itself already says, not repeated as key=value.
var shownInLine = map[string]bool{"method": true, "path": true, "status": true, "bytes_in": true,
	"bytes_out": true, "duration_ms": true, "request_id": true}

func (f textFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b []byte
	if e.Buffer != nil {
		b = e.Buffer.Bytes()[:0]
	}
	b = e.Time.AppendFormat(b, "15:04:05.000")
	b = append(b, ' ')
	b = f.level(b, e.Level)
	id, _ := e.Data["request_id"].(string)
	skip := map[string]bool{}
	switch {
	case e.Message == "request" && e.Data["method"] != nil:
		method, _ := e.Data["method"].(string)
		path, _ := e.Data["path"].(string)
		b = appendEscaped(b, method)
		b = append(b, ' ')
		b = appendEscaped(b, path)
		b = fmt.Appendf(b, " → %v  in %s  out %s  %v ms", e.Data["status"],
			size(e.Data["bytes_in"]), size(e.Data["bytes_out"]), e.Data["duration_ms"])
		skip = shownInLine
	case e.Data["event"] != nil:
		b = append(b, "  » "...)
		b = appendEscaped(b, e.Message)
		skip = map[string]bool{"request_id": true}
	default:
		b = appendEscaped(b, e.Message)
		skip = map[string]bool{"request_id": true}
	}
	if id != "" {
		b = append(b, "  ["...)
		b = appendEscaped(b, id)
		b = append(b, ']')
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		if !skip[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, "  "...)
		b = appendEscaped(b, k)
		b = append(b, '=')
		b = appendTextValue(b, fmt.Sprint(e.Data[k]))
	}
	if !e.Logger.IsLevelEnabled(logrus.TraceLevel) {
		b = shortDigests(b)
	}
	return append(b, '\n'), nil
}

// A full digest in a text line, as shortDigests finds it.
var fullDigest = regexp.MustCompile(`\b(sha256:[0-9a-f]{8})[0-9a-f]{52}([0-9a-f]{4})\b|\b(sha512:[0-9a-f]{8})[0-9a-f]{116}([0-9a-f]{4})\b`)

// shortDigests writes every full digest of a text line as its first 8 and
// last 4 hex digits — sha256:b8483f41…585c — so that a line stays short
// enough to read; at trace level, and in JSON, digests stay whole.
func shortDigests(b []byte) []byte {
	if !bytes.Contains(b, []byte("sha")) {
		return b
	}
	return fullDigest.ReplaceAll(b, []byte("$1$3…$2$4"))
}

func (f textFormatter) level(b []byte, l logrus.Level) []byte {
	name := strings.ToUpper(l.String())
	if len(name) > 5 {
		name = name[:4]
	}
	name = fmt.Sprintf("%-5s ", name)
	if !f.color {
		return append(b, name...)
	}
	code := 36 // debug, info: cyan
	switch l {
	case logrus.InfoLevel:
		code = 32
	case logrus.WarnLevel:
		code = 33
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		code = 31
	}
	return fmt.Appendf(b, "\x1b[%dm%s\x1b[0m", code, name)
}

func size(v any) string {
	switch n := v.(type) {
	case int64:
		return HumanSize(n)
	case int:
		return HumanSize(int64(n))
	}
	return fmt.Sprint(v)
}

// appendTextValue quotes a value when it would not read as one word or
// holds a character that is not printable (a newline or an escape sequence
// from a client must not forge a line or drive a terminal).
func appendTextValue(b []byte, s string) []byte {
	if s == "" || strings.ContainsAny(s, " \"=") || !printable(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// appendEscaped appends s, with every character that is not printable
// written as a Go escape (\n, \x1b, \u0085, …) and no quotes.
func appendEscaped(b []byte, s string) []byte {
	if printable(s) {
		return append(b, s...)
	}
	q := strconv.AppendQuote(nil, s)
	return append(b, q[1:len(q)-1]...)
}

// printable reports whether s is valid UTF-8 of printable characters only.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			return strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) }) < 0
		}
	}
	return true
}

// HumanSize formats a byte count for people: 2.8 MiB (the text log, the
// learner's events and the storage report all show sizes this way).
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
