package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// sessionState is the object K/state of a session at K (see doc.go).
type sessionState struct {
	Size   int64   `json:"size"`
	Chunks []chunk `json:"chunks"`
	State  []byte  `json:"state"`
}

// chunk is one appended chunk: the key of its object and its size.
type chunk struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

const maxStateSize = 16 << 20 // a session of ~100,000 chunks

type upload struct {
	d   *Driver
	key string
	st  sessionState
}

// StartUpload implements driver.Driver.
func (d *Driver) StartUpload(ctx context.Context, key string, state []byte) (driver.Upload, error) {
	if _, err := d.object(ctx, key); err != nil {
		return nil, err
	}
	u := &upload{d: d, key: key, st: sessionState{State: state}}
	if err := u.save(ctx, u.st, true); err != nil {
		if errors.Is(err, driver.ErrExist) {
			return nil, driver.Exists(key)
		}
		return nil, err
	}
	return u, nil
}

// ResumeUpload implements driver.Driver.
func (d *Driver) ResumeUpload(ctx context.Context, key string) (driver.Upload, error) {
	if _, err := d.object(ctx, key); err != nil {
		return nil, err
	}
	b, err := d.GetContent(ctx, key+"/state", maxStateSize)
	if err != nil {
		if errors.Is(err, driver.ErrNotFound) {
			return nil, driver.NotFound(key)
		}
		return nil, err
	}
	u := &upload{d: d, key: key}
	if err := json.Unmarshal(b, &u.st); err != nil {
		return nil, fmt.Errorf("upload %s: unreadable state: %w", key, driver.ErrNotFound)
	}
	return u, nil
}

// save writes the session's state object.
func (u *upload) save(ctx context.Context, st sessionState, exclusive bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if exclusive {
		if _, err := u.d.Stat(ctx, u.key+"/state"); err == nil {
			return driver.Exists(u.key)
		}
	}
	return u.d.putSmall(ctx, u.key+"/state", u.d.prefix+u.key+"/state", b, exclusive)
}

func (u *upload) Key() string   { return u.key }
func (u *upload) Size() int64   { return u.st.Size }
func (u *upload) State() []byte { return u.st.State }

// Append writes the chunk to an object of its own, then the state that
// lists it.
func (u *upload) Append(ctx context.Context, r io.Reader, state func(n int64) ([]byte, error)) (int64, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return 0, err
	}
	key := fmt.Sprintf("%s/data-%020d-%s", u.key, u.st.Size, hex.EncodeToString(rnd[:]))
	n, err := u.d.Put(ctx, key, r, driver.PutOptions{})
	if err != nil {
		return n, err
	}
	next := sessionState{Size: u.st.Size + n, Chunks: append(u.st.Chunks[:len(u.st.Chunks):len(u.st.Chunks)], chunk{key, n})}
	if n == 0 {
		next.Chunks = u.st.Chunks
	}
	next.State, err = state(n)
	if err == nil {
		// A session committed or cancelled meanwhile stays ended (a race
		// within this check and the write is left: clients do not PATCH a
		// session they finished).
		if _, err = u.d.Stat(ctx, u.key+"/state"); errors.Is(err, driver.ErrNotFound) {
			err = driver.NotFound(u.key)
		}
	}
	if err == nil {
		err = u.save(ctx, next, false)
	}
	if err != nil || n == 0 {
		u.d.removeQuietly(key)
		if err != nil {
			return n, err
		}
	}
	u.st = next
	return n, nil
}

// removeQuietly deletes an object on a best-effort basis, even when the
// request's context is done (what it leaves, CleanUploads removes).
func (d *Driver) removeQuietly(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeoutCleanup)
	defer cancel()
	_ = d.core.RemoveObject(ctx, d.bucket, d.prefix+key, minio.RemoveObjectOptions{})
}

// Reader streams the chunks one after the other.
func (u *upload) Reader(ctx context.Context) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pieces := make([]piece, len(u.st.Chunks))
	for i, c := range u.st.Chunks {
		pieces[i] = piece{c.Key, 0, c.Size}
	}
	return &pieceReader{ctx: ctx, d: u.d, pieces: pieces}, nil
}

// Commit composes the chunks into dst (see doc.go), then removes the
// session.
func (u *upload) Commit(ctx context.Context, dst string, opts driver.PutOptions) (err error) {
	name, err := u.d.object(ctx, dst)
	if err != nil {
		return err
	}
	if opts.IfNotExists {
		if _, err := u.d.Stat(ctx, dst); err == nil {
			return driver.Exists(dst)
		}
	}
	if opts.Verify != nil {
		if err := opts.Verify(u.st.Size); err != nil {
			return err
		}
	}
	if len(u.st.Chunks) == 0 {
		err = u.d.putSmall(ctx, dst, name, nil, opts.IfNotExists)
	} else {
		err = u.compose(ctx, dst, name, opts.IfNotExists)
	}
	if err != nil {
		return err
	}
	return u.remove(ctx)
}

func (u *upload) compose(ctx context.Context, dst, name string, exclusive bool) (err error) {
	d := u.d
	id, err := d.core.NewMultipartUpload(ctx, d.bucket, name, minio.PutObjectOptions{})
	if err != nil {
		return mapErr(dst, err)
	}
	defer func() {
		if err != nil {
			d.abort(name, id)
		}
	}()
	// Parts copied server-side go concurrently, a few at a time (each is
	// one request the service serves at its own pace); parts made of small
	// pieces stream through this process one after the other.
	plan := planParts(u.st.Chunks, minPartSize, maxPieceSize)
	parts := make([]minio.CompletePart, len(plan))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(composeCopies)
	for i, p := range plan {
		num := i + 1
		if p.copy {
			src := p.pieces[0]
			g.Go(func() error {
				cp, err := d.core.CopyObjectPart(gctx, d.bucket, d.prefix+src.key, d.bucket, name, id, num, src.off, src.size, nil)
				parts[i] = minio.CompletePart{PartNumber: num, ETag: cp.ETag}
				return err
			})
			continue
		}
		r := &pieceReader{ctx: gctx, d: d, pieces: p.pieces}
		op, err := d.core.PutObjectPart(gctx, d.bucket, name, id, num, r, p.size, minio.PutObjectPartOptions{})
		r.Close()
		if err != nil {
			g.Wait()
			return mapErr(dst, err)
		}
		parts[i] = minio.CompletePart{PartNumber: num, ETag: op.ETag}
	}
	if err := g.Wait(); err != nil {
		return mapErr(dst, err)
	}
	return d.complete(ctx, dst, name, id, parts, exclusive)
}

func (u *upload) Cancel(ctx context.Context) error {
	if _, err := u.d.Stat(ctx, u.key+"/state"); err != nil {
		if errors.Is(err, driver.ErrNotFound) {
			return driver.NotFound(u.key)
		}
		return err
	}
	return u.remove(ctx)
}

// remove deletes the state (ending the session), then every chunk object,
// including those of rival appends no state lists.
func (u *upload) remove(ctx context.Context) error {
	if err := u.d.core.RemoveObject(ctx, u.d.bucket, u.d.prefix+u.key+"/state", minio.RemoveObjectOptions{}); err != nil {
		return mapErr(u.key, err)
	}
	var chunks []string
	err := u.d.List(ctx, u.key+"/", driver.ListOptions{}, func(e driver.Entry) error {
		if !e.Dir && strings.HasPrefix(e.Key[len(u.key)+1:], "data") {
			chunks = append(chunks, e.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range chunks {
		if err := u.d.core.RemoveObject(ctx, u.d.bucket, u.d.prefix+k, minio.RemoveObjectOptions{}); err != nil {
			return mapErr(k, err)
		}
	}
	return nil
}
