package server

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver/s3"
)

// OpenStore opens the store the configuration names: the filesystem tree
// under Root, or an S3-compatible bucket (credentials from the AWS
// variables and files).
func OpenStore(cfg config.Config) (*storage.Store, error) {
	st := cfg.Storage
	if st.Driver != "s3" {
		return storage.Open(cfg.Root, storage.Options{})
	}
	d, err := s3.New(s3.Config{Endpoint: st.S3Endpoint, Bucket: st.S3Bucket, Region: st.S3Region, Prefix: st.S3Prefix,
		PathStyle: st.S3PathStyle, InsecureSkipVerify: st.S3InsecureTLS, PartSize: st.S3PartSize})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Ready(ctx); err != nil {
		return nil, fmt.Errorf("s3 endpoint %s, bucket %s: %w", st.S3Endpoint, st.S3Bucket, err)
	}
	return storage.Open("", storage.Options{Driver: d})
}

// storageReady checks that the store can be written: the filesystem root,
// or the bucket answering.
func (s *Server) storageReady(ctx context.Context) error {
	if r, ok := s.store.Driver().(interface{ Ready(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("s3 endpoint %s, bucket %s: %w", s.cfg.Storage.S3Endpoint, s.cfg.Storage.S3Bucket, err)
		}
		return nil
	}
	return checkWritable(s.store.Root())
}

// warmUpWait bounds how long a starting registry waits for the catalog's
// warm-up before it listens.
const warmUpWait = time.Second

// warmCatalog reads the large directories of repositories (a few tens of
// milliseconds for 100,000 of them) before the registry listens, so that
// the first catalog page does not wait for them; past warmUpWait the
// registry listens anyway and the warm-up goes on beside it.
func (s *Server) warmCatalog(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		n, err := s.store.WarmCatalog(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WithError(err).Warn("catalog index: not built; catalog pages walk the repositories' directories until it is")
		case err == nil && n >= 0:
			s.log.WithFields(logrus.Fields{"repositories": n, "took": time.Since(t0).Round(time.Millisecond).String()}).
				Info("catalog index built: catalog pages now read catalog/ in the store instead of every repository's directories")
		}
	}()
	t := time.NewTimer(warmUpWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
