package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

// A fill copies one blob from the upstream into the store. Three stages run
// at once, joined by channels of chunks: the fill reads the upstream, an
// upload session of the store writes and hashes (the store's own upload
// path: the blob becomes visible only once its digest is verified), and
// the first client, when it streams, writes the same chunks out. At most
// a few chunks are in flight: the blob is never whole in memory. The
// client gets each chunk one behind the store, and the last one only once
// the store verified the digest (before the fsync that makes it durable):
// a blob that fails verification never reaches a client whole, and its
// stream ends then: the client is not kept waiting for the disk. The fill
// does not depend on that client: when it goes away, the fill goes on for
// the others waiting.
const (
	chunkSize   = 256 << 10
	inFlight    = 8 // chunks queued per stage
	idleTimeout = time.Minute
	clientStall = 30 * time.Second // the first client may hold the fill up this long
)

type fill struct {
	done   chan struct{}
	err    error // set before done closes
	size   int64 // the upstream's Content-Length (-1: not sent)
	client *clientStream
}

func newFill(stream bool) *fill {
	fl := &fill{done: make(chan struct{})}
	if stream {
		fl.client = &clientStream{ch: make(chan []byte, inFlight), gone: make(chan struct{})}
	}
	return fl
}

// wait waits for the fill's end (or ctx's) and returns its error.
func (fl *fill) wait(ctx context.Context) error {
	select {
	case <-fl.done:
		return fl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startFill opens the upstream's blob and runs the fill in the background.
// It returns once the upstream answered: an error then fails the fill.
func (m *Mirror) startFill(ctx context.Context, rt *Route, d digest.Digest, fl *fill) error {
	// The fill outlives the request that started it: others may wait on it.
	fctx, cancel := context.WithCancel(context.Background())
	body, size, err := rt.up.openBlob(fctx, "GET", rt.Repo, d)
	if err != nil {
		cancel()
		m.stats.upstreamErrors.Add(1)
		fl.finish(err)
		m.forget(d, fl)
		return err
	}
	m.stats.fetches.Add(1)
	fl.size = size
	m.running.Add(1)
	go func() {
		defer m.running.Done()
		defer cancel()
		err := m.runFill(fctx, cancel, rt, d, body, size, fl)
		body.Close()
		m.forget(d, fl)
		fl.finish(err)
		f := logrus.Fields{"repository": rt.Name, "digest": d.String(), "upstream": rt.up.URL}
		if err != nil {
			m.stats.upstreamErrors.Add(1)
			m.log.WithFields(f).WithError(err).Warn("mirror: fetching a blob from upstream failed, nothing cached")
			return
		}
		m.log.WithFields(f).WithField("size", size).Info("mirror: blob fetched from upstream and cached")
	}()
	return nil
}

// finish ends the fill: waiting clients go on, the streaming one gets the
// error (or the end of the stream).
func (fl *fill) finish(err error) {
	fl.err = err
	if fl.client != nil {
		fl.client.end(err)
	}
	close(fl.done)
}

func (m *Mirror) runFill(ctx context.Context, cancel func(), rt *Route, d digest.Digest, body io.Reader, size int64, fl *fill) error {
	id, err := m.store.StartUpload(ctx, rt.Name, d.Algorithm())
	if err != nil {
		return err
	}
	toStore := make(chan []byte, inFlight)
	stored := make(chan error, 1)
	go func() {
		// Nobody waits for these writes to reach the disk: the client
		// is served as the bytes arrive, the flush comes at the commit.
		_, err := m.store.AppendUpload(driver.WithoutWriteBehind(ctx), rt.Name, id, -1, -1, &chunkReader{ch: toStore})
		if err != nil {
			cancel() // stop reading the upstream
		}
		for range toStore { // a failed write leaves chunks: let the reader finish
		}
		stored <- err
	}()
	idle := time.AfterFunc(idleTimeout, cancel)
	defer idle.Stop()
	var pending []byte // held back from the client until the next chunk, or the verification
	var n int64
	var readErr error
	for {
		buf := make([]byte, chunkSize)
		k, err := io.ReadFull(body, buf)
		idle.Reset(idleTimeout)
		if k > 0 {
			n += int64(k)
			m.stats.upstreamBytes.Add(int64(k))
			toStore <- buf[:k]
			if pending != nil {
				fl.client.send(pending)
			}
			pending = buf[:k]
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("%w: reading the blob from %s: %v", ErrUpstream, rt.up.URL, err)
			break
		}
	}
	close(toStore)
	err = <-stored
	if err == nil && readErr != nil {
		err = readErr
	}
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("%w: %s sent %d bytes of %d", ErrUpstream, rt.up.URL, n, size)
	}
	if err == nil {
		// The client gets the last chunk, and the end of its stream, once
		// the digest matched, while the store makes the blob durable.
		_, err = m.store.FinishVerified(ctx, rt.Name, id, d, func() {
			if pending != nil {
				fl.client.send(pending)
			}
			fl.client.end(nil)
		})
		if errors.Is(err, storage.ErrDigestInvalid) {
			err = fmt.Errorf("%w: %s sent a blob that does not hash to %s", ErrUpstream, rt.up.URL, d)
		}
	}
	if err != nil {
		m.store.CancelUpload(context.WithoutCancel(ctx), rt.Name, id)
		return err
	}
	return nil
}

// chunkReader reads the chunks of a channel as one stream.
type chunkReader struct {
	ch  <-chan []byte
	cur []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		c, ok := <-r.ch
		if !ok {
			return 0, io.EOF
		}
		r.cur = c
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// clientStream is the fill's bytes for the client that started it.
type clientStream struct {
	ch       chan []byte
	gone     chan struct{} // closed by Close: the client left
	goneOnce sync.Once
	err      error // set before ch closes
	endOnce  sync.Once
	cur      []byte
	stalled  bool // left behind by the fill (set by the fill before ch closes)
}

var errClientStalled = errors.New("the client read too slowly: the fill went on without it")

// send queues a chunk for the client, or drops it when the client left.
// A client that takes no chunk for clientStall is left behind: the fill
// goes on for the others, and that client's download is cut.
func (c *clientStream) send(b []byte) {
	if c == nil {
		return
	}
	select {
	case c.ch <- b:
		return
	case <-c.gone:
		return
	default:
	}
	t := time.NewTimer(clientStall)
	defer t.Stop()
	select {
	case c.ch <- b:
	case <-c.gone:
	case <-t.C:
		c.stalled = true
		c.Close()
	}
}

// end closes the stream, with err (nil: the whole blob was sent). Only
// the first call counts.
func (c *clientStream) end(err error) {
	if c == nil {
		return
	}
	c.endOnce.Do(func() {
		if err == nil && c.stalled {
			err = errClientStalled
		}
		c.err = err
		close(c.ch)
	})
}

func (c *clientStream) next() ([]byte, error) {
	b, ok := <-c.ch
	if !ok {
		if c.err != nil {
			return nil, c.err
		}
		return nil, io.EOF
	}
	return b, nil
}

func (c *clientStream) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		b, err := c.next()
		if err != nil {
			return 0, err
		}
		c.cur = b
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// WriteTo writes the chunks as they come, without copying them.
func (c *clientStream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(c.cur) > 0 {
		n, err := w.Write(c.cur)
		total += int64(n)
		c.cur = nil
		if err != nil {
			return total, err
		}
	}
	for {
		b, err := c.next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close says the client left: the fill goes on without it.
func (c *clientStream) Close() error {
	c.goneOnce.Do(func() { close(c.gone) })
	return nil
}
