package registrytest

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// LogBuffer is a log sink safe for concurrent handlers, read by the test.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines decodes the JSON log lines written so far.
func (l *LogBuffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	return decodeLines(t, l.String())
}

// Take decodes the JSON log lines written since the last Take and forgets
// them: what one step of a test logged.
func (l *LogBuffer) Take(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	text := l.b.String()
	l.b.Reset()
	l.mu.Unlock()
	return decodeLines(t, text)
}

func decodeLines(t testing.TB, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
