package s3

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestServerHonoursIfNoneMatch: the store's exclusive creates (blobs, the
// GC lease) rest on the server refusing If-None-Match: * over an existing
// object, on PutObject and on CompleteMultipartUpload. The driver checks
// with a HEAD first, so this test goes around it: only the server decides.
func TestServerHonoursIfNoneMatch(t *testing.T) {
	d, _ := newTestDriver(t)
	ctx := context.Background()
	key := "gc/lease-probe"
	name := d.prefix + key
	if err := d.putSmall(ctx, key, name, []byte("first"), true); err != nil {
		t.Fatal(err)
	}
	if err := d.putSmall(ctx, key, name, []byte("second"), true); !errors.Is(err, driver.ErrExist) {
		t.Fatalf("PutObject with If-None-Match: * over an object: %v; want a 412 (ErrExist)", err)
	}
	id, err := d.core.NewMultipartUpload(ctx, d.bucket, name, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.abort(name, id)
	p, err := d.core.PutObjectPart(ctx, d.bucket, name, id, 1, bytes.NewReader([]byte("third")), 5, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := []minio.CompletePart{{PartNumber: p.PartNumber, ETag: p.ETag}}
	if err := d.complete(ctx, key, name, id, parts, true); !errors.Is(err, driver.ErrExist) {
		t.Fatalf("CompleteMultipartUpload with If-None-Match: * over an object: %v; want a 412 (ErrExist)", err)
	}
	if got, err := d.GetContent(ctx, key, 100); err != nil || string(got) != "first" {
		t.Fatalf("object after the refused writes: %q, %v; want the first", got, err)
	}

	// Racing exclusive PutObjects of a new key: the server lets one win.
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.putSmall(ctx, "gc/race", d.prefix+"gc/race", []byte{byte('a' + i)}, true)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, driver.ErrExist):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d racing exclusive creates succeeded; want exactly 1", won)
	}
}
