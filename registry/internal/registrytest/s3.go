package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
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
	_, newDriver := S3Config(t, name)
	return newDriver
}

// S3Config is S3 with the configuration of its prefix as well.
func S3Config(t testing.TB, name string) (s3.Config, func() driver.Driver) {
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
	return cfg, newDriver
}

// S3Args are the flags and environment that start a registry process
// (registry serve, gc, du) on cfg's bucket and prefix.
func S3Args(cfg s3.Config) (args, env []string) {
	args = []string{"--storage", "s3", "--s3-endpoint", cfg.Endpoint, "--s3-bucket", cfg.Bucket,
		"--s3-region", cfg.Region, "--s3-prefix", cfg.Prefix, "--s3-path-style", "--s3-part-size", strconv.FormatInt(cfg.PartSize, 10)}
	env = []string{"AWS_ACCESS_KEY_ID=" + cfg.AccessKey, "AWS_SECRET_ACCESS_KEY=" + cfg.SecretKey}
	return args, env
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
