package accesslog

import (
	"io"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// flushEvery bounds how long a log line waits in the buffer.
const flushEvery = 50 * time.Millisecond

// bufferedOut gathers log lines and writes them in batches: one write
// system call per batch instead of one per request, which is most of what
// logging costs under load. Lines wait at most flushEvery, or until 64 KiB
// have gathered; Flush writes the rest (on shutdown).
type bufferedOut struct {
	mu    sync.Mutex
	out   io.Writer
	buf   []byte
	timer *time.Timer
}

func newBufferedOut(out io.Writer) *bufferedOut {
	b := &bufferedOut{out: out, buf: make([]byte, 0, 64<<10)}
	b.timer = time.AfterFunc(time.Hour, b.Flush)
	b.timer.Stop()
	return b
}

func (b *bufferedOut) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		b.timer.Reset(flushEvery)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= 64<<10 {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (b *bufferedOut) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *bufferedOut) flushLocked() {
	if len(b.buf) > 0 {
		b.out.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// Flush writes any log lines still buffered in the logger's output.
func Flush(l *logrus.Logger) {
	if b, ok := l.Out.(*bufferedOut); ok {
		b.Flush()
	}
}
