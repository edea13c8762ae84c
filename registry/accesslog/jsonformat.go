package accesslog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
)

// jsonFormatter writes one JSON object per entry, keys in a stable order
// (time, level, msg, then the fields sorted). It appends values by hand:
// the access log runs on every request, so it must cost little.
type jsonFormatter struct{}

func (jsonFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b []byte
	if e.Buffer != nil {
		b = e.Buffer.Bytes()[:0]
	}
	b = appendJSONHead(b, e.Time, e.Level, e.Message)
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValue(b, e.Data[k])
	}
	b = append(b, '}', '\n')
	return b, nil
}

// appendJSONHead opens a line: time, level, message.
func appendJSONHead(b []byte, t time.Time, level logrus.Level, msg string) []byte {
	b = append(b, `{"time":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","level":`...)
	b = appendString(b, level.String())
	b = append(b, `,"msg":`...)
	return appendString(b, msg)
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case error:
		return appendString(b, v.Error())
	case time.Duration:
		return appendString(b, v.String())
	case fmt.Stringer:
		return appendString(b, v.String())
	}
	j, err := json.Marshal(v)
	if err != nil {
		return appendString(b, fmt.Sprint(v))
	}
	return append(b, j...)
}

// appendString appends s as a JSON string (invalid UTF-8 replaced; control
// characters, C0, DEL and C1, escaped: none reaches a terminal raw).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	plain := 0 // the common case: nothing to escape
	for plain < len(s) && safeASCII[s[plain]] {
		plain++
	}
	b = append(b, s[:plain]...)
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else if r < 0xa0 { // C1 control characters (U+0080–U+009F)
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// safeASCII marks the bytes a JSON string holds as they are.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
