package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/s3"
)

// S3 returns a maker of S3 drivers on the server the environment names
// (scripts/s3-test.sh sets LAYERLAB_S3_*), all sharing one fresh prefix of
// the bucket, emptied when the test ends. Without a server the test is
// skipped, or fails when LAYERLAB_S3_REQUIRED is set (as in CI).
func S3(t testing.TB, name string) func() driver.Driver {
	t.Helper()
	endpoint := os.Getenv("LAYERLAB_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("LAYERLAB_S3_REQUIRED") != "" {
			t.Fatal("LAYERLAB_S3_REQUIRED is set but LAYERLAB_S3_ENDPOINT is not")
		}
		t.Skip("LAYERLAB_S3_ENDPOINT is not set: no S3 server (bash scripts/s3-test.sh runs this)")
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	cfg := s3.Config{Endpoint: endpoint, Bucket: os.Getenv("LAYERLAB_S3_BUCKET"), Region: os.Getenv("LAYERLAB_S3_REGION"),
		PathStyle: true, AccessKey: os.Getenv("LAYERLAB_S3_ACCESS_KEY"), SecretKey: os.Getenv("LAYERLAB_S3_SECRET_KEY"),
		Prefix: name + "-" + hex.EncodeToString(rnd[:]) + "/", PartSize: 5 << 20}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	newDriver := func() driver.Driver {
		d, err := s3.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Cleanup(func() { Empty(newDriver()) })
	return newDriver
}

// Empty deletes every key a driver holds.
func Empty(d driver.Driver) {
	ctx := context.Background()
	var keys []string
	d.List(ctx, "", driver.ListOptions{Recursive: true}, func(e driver.Entry) error { keys = append(keys, e.Key); return nil })
	for _, k := range keys {
		d.Delete(ctx, k)
	}
}
