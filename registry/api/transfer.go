package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/layerlab/layerlab/registry/accesslog"
)

// BodyError is a request body that could not be read to its end: the
// client sent fewer bytes than its Content-Length, broke the chunked
// encoding, went away, or sent slower than the minimum transfer rate.
// It is the client's doing: 400 (408 when too slow), never 500.
type BodyError struct {
	Err  error
	Slow bool // cut off by the minimum transfer rate
}

func (e *BodyError) Error() string { return "reading the request body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// bodyErrorCode is the OCI error for a body that could not be read.
func bodyErrorCode(e *BodyError) *Error {
	switch {
	case e.Slow:
		err := newError(codeBlobUploadInvalid, e).withStatus(http.StatusRequestTimeout)
		err.Message = "the request body arrived slower than the registry's minimum transfer rate; what arrived is kept, resume from the upload's Range"
		return err
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		err := newError(codeSizeInvalid, e)
		err.Message = "the request body ended before its Content-Length"
		return err
	}
	err := newError(codeBlobUploadInvalid, e)
	err.Message = "the request body could not be read (broken chunked encoding, or the client went away)"
	return err
}

// Transfers wraps every request so that a body or a response moving
// slower than minRate bytes a second, averaged over window, is cut off
// (minRate 0: never), and body read errors become *BodyError. It works
// with connection deadlines (http.ResponseController): a client that
// stops sending or reading meets a deadline the bytes it moves push on.
func Transfers(minRate int64, window time.Duration) func(http.Handler) http.Handler {
	quota := minRate * int64(window/time.Second)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if r.Body != nil && r.Body != http.NoBody {
				b := &guardedBody{body: r.Body, rc: rc, header: w.Header(), pace: pace{quota: quota, window: window}}
				r.Body = b
				defer b.done()
			}
			if quota > 0 {
				gw := &guardedWriter{ResponseWriter: w, rc: rc, r: r, pace: pace{quota: quota, window: window}}
				defer gw.done()
				w = gw
			}
			next.ServeHTTP(w, r)
		})
	}
}

// pace tracks one direction of a transfer: the bytes moved in the current
// window, which must reach quota before the window's deadline passes.
// When they do, the deadline moves on (at most four times a window).
type pace struct {
	quota  int64
	window time.Duration
	start  time.Time // of the current window; zero: no deadline set yet
	moved  int64
}

// next returns the deadline to set after n more bytes moved, or the zero
// time when the current one stands.
func (p *pace) next(n int) time.Time {
	if p.quota <= 0 {
		return time.Time{}
	}
	now := time.Now()
	p.moved += int64(n)
	if p.start.IsZero() || p.moved >= p.quota && now.Sub(p.start) >= p.window/4 {
		p.start, p.moved = now, 0
		return now.Add(p.window)
	}
	return time.Time{}
}

type guardedBody struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	header http.Header
	pace   pace
	cut    bool // the deadline cut the body off: leave it set
	armed  bool // a read deadline was set
	failed error
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.failed != nil {
		return 0, b.failed
	}
	if !b.armed {
		b.arm(0)
	}
	n, err := b.body.Read(p)
	if n > 0 && err == nil {
		b.arm(n)
	}
	if err == io.EOF {
		b.done() // the deadline must not outlive the body
	}
	if err == nil || err == io.EOF {
		return n, err
	}
	be := &BodyError{Err: err}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		be.Slow, b.cut = true, true
		be.Err = fmt.Errorf("less than %d bytes in %s: %w", b.pace.quota, b.pace.window, err)
		b.header.Set("Connection", "close")
	}
	b.failed = be
	return n, be
}

func (b *guardedBody) arm(n int) {
	if d := b.pace.next(n); !d.IsZero() && b.rc.SetReadDeadline(d) == nil {
		b.armed = true
	}
}

func (b *guardedBody) Close() error { return b.body.Close() }

// done lifts the read deadline once the body is read or the handler is
// through, unless it cut the body off (the connection is then closed).
func (b *guardedBody) done() {
	if b.armed && !b.cut {
		b.rc.SetReadDeadline(time.Time{})
		b.armed = false
	}
}

type guardedWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	r     *http.Request
	pace  pace
	armed bool
	cut   bool // the deadline cut the response off: leave it set
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	if !w.armed {
		w.arm(0)
	}
	n, err := w.ResponseWriter.Write(p)
	if n > 0 {
		w.arm(n)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.cut = true
		accesslog.From(w.r.Context()).ErrDetail = fmt.Sprintf("response cut off: the client read less than %d bytes in %s", w.pace.quota, w.pace.window)
	}
	return n, err
}

func (w *guardedWriter) arm(n int) {
	if d := w.pace.next(n); !d.IsZero() && w.rc.SetWriteDeadline(d) == nil {
		w.armed = true
	}
}

func (w *guardedWriter) Flush() { w.rc.Flush() }

func (w *guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// done lifts the write deadline: net/http sets none of its own without a
// WriteTimeout, so it would otherwise carry over to the connection's next
// request. A response cut off keeps it: its connection is closed.
func (w *guardedWriter) done() {
	if w.armed && !w.cut {
		w.rc.SetWriteDeadline(time.Time{})
	}
}
