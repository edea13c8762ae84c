package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/drivertest"
)

// The driver suite runs against a real S3 server named by the environment
// (scripts/s3-server.sh starts SeaweedFS or versitygw and prints these):
//
//	LAYERLAB_S3_ENDPOINT   http://127.0.0.1:8333
//	LAYERLAB_S3_BUCKET     the bucket (each test works under a prefix of its own)
//	LAYERLAB_S3_ACCESS_KEY, LAYERLAB_S3_SECRET_KEY (else the AWS_* chain)
//	LAYERLAB_S3_REGION     us-east-1 if unset
//	LAYERLAB_S3_REQUIRED   set: fail, rather than skip, without an endpoint (CI)
func testConfig(t *testing.T) Config {
	t.Helper()
	endpoint := os.Getenv("LAYERLAB_S3_ENDPOINT")
	if endpoint == "" && os.Getenv("LAYERLAB_S3_REQUIRED") != "" {
		t.Fatal("LAYERLAB_S3_REQUIRED is set but LAYERLAB_S3_ENDPOINT is not")
	}
	if endpoint == "" {
		t.Skip("LAYERLAB_S3_ENDPOINT is not set: no S3 server to test against (bash scripts/s3-server.sh start weed)")
	}
	region := os.Getenv("LAYERLAB_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	return Config{
		Endpoint:  endpoint,
		Bucket:    os.Getenv("LAYERLAB_S3_BUCKET"),
		Region:    region,
		PathStyle: true,
		AccessKey: os.Getenv("LAYERLAB_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("LAYERLAB_S3_SECRET_KEY"),
		PartSize:  minPartSize,
	}
}

// newTestDriver returns a driver under a fresh prefix, emptied after the test.
func newTestDriver(t *testing.T) (*Driver, Config) {
	t.Helper()
	cfg := testConfig(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	cfg.Prefix = "test-" + hex.EncodeToString(rnd[:]) + "/"
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.pageSize = 3 // listings of the suite span several pages
	if err := d.Ready(context.Background()); err != nil {
		t.Fatalf("%s bucket %s: %v", cfg.Endpoint, cfg.Bucket, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for o := range d.core.Client.ListObjects(ctx, d.bucket, minio.ListObjectsOptions{Prefix: cfg.Prefix, Recursive: true}) {
			if o.Err == nil {
				d.core.RemoveObject(ctx, d.bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		d.AbortStale(ctx, 0)
	})
	return d, cfg
}

func TestDriver(t *testing.T) {
	testConfig(t)
	drivertest.Run(t, drivertest.Suite{EmptyDirsLinger: true, New: func(t *testing.T) (driver.Driver, func() driver.Driver) {
		d, cfg := newTestDriver(t)
		return d, func() driver.Driver {
			other, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return other
		}
	}})
}

// TestAbortStale: a write cut off mid-way leaves no multipart upload once
// AbortStale ran.
func TestAbortStale(t *testing.T) {
	d, _ := newTestDriver(t)
	ctx := context.Background()
	if _, err := d.core.NewMultipartUpload(ctx, d.bucket, d.prefix+"blobs/abandoned", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.AbortStale(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("young upload: aborted %d, %v", n, err)
	}
	if n, err := d.AbortStale(ctx, 0); err != nil || n != 1 {
		t.Fatalf("stale upload: aborted %d, %v; want 1", n, err)
	}
	if n, err := d.AbortStale(ctx, 0); err != nil || n != 0 {
		t.Fatalf("after the abort: %d left, %v", n, err)
	}
}

// TestPresignedURL: the URL serves the object without credentials.
func TestPresignedURL(t *testing.T) {
	d, _ := newTestDriver(t)
	ctx := context.Background()
	if _, err := d.Put(ctx, "blobs/x", strings.NewReader("presigned"), driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := d.URL(ctx, "blobs/x", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpGet(u)
	if err != nil {
		t.Fatal(err)
	}
	if resp != "presigned" {
		t.Fatalf("presigned GET returned %q", resp)
	}
	if _, err := d.URL(ctx, "../x", time.Minute); !errors.Is(err, driver.ErrInvalidKey) {
		t.Fatalf("presigning ../x: %v", err)
	}
}

func TestPlanParts(t *testing.T) {
	const minPart, maxPiece = 5, 12
	cases := [][]int64{
		{1}, {5}, {100}, {1, 1, 1}, {1, 5}, {5, 1}, {1, 2, 3, 4}, {6, 1, 100, 5, 4, 7, 1},
		{4, 4, 4, 4}, {30, 1}, {1, 30}, {1, 11, 1},
	}
	for _, sizes := range cases {
		var chunks []chunk
		var total int64
		for i, s := range sizes {
			chunks = append(chunks, chunk{Key: string(rune('a' + i)), Size: s})
			total += s
		}
		plans := planParts(chunks, minPart, maxPiece)
		var covered []piece
		var sum int64
		for i, p := range plans {
			var size int64
			for _, pc := range p.pieces {
				size += pc.size
			}
			if size != p.size || size == 0 {
				t.Fatalf("%v: part %d says %d bytes, its pieces %d", sizes, i, p.size, size)
			}
			if i < len(plans)-1 && p.size < minPart {
				t.Fatalf("%v: part %d of %d has %d bytes, below the minimum", sizes, i, len(plans), p.size)
			}
			if p.size > maxPiece+minPart || p.copy && len(p.pieces) != 1 {
				t.Fatalf("%v: part %d: %+v", sizes, i, p)
			}
			covered = append(covered, p.pieces...)
			sum += size
		}
		if sum != total {
			t.Fatalf("%v: parts hold %d bytes, chunks %d", sizes, sum, total)
		}
		// the pieces cover every chunk, in order, without gaps
		i := 0
		for _, c := range chunks {
			for off := int64(0); off < c.Size; {
				if i >= len(covered) || covered[i].key != c.Key || covered[i].off != off {
					t.Fatalf("%v: chunk %s at %d not covered in order: %+v", sizes, c.Key, off, covered)
				}
				off += covered[i].size
				i++
			}
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for _, cfg := range []Config{
		{Endpoint: "127.0.0.1:8333", Bucket: "b"},
		{Endpoint: "ftp://host", Bucket: "b"},
		{Endpoint: "http://host"},
		{Endpoint: "http://host", Bucket: "b", Prefix: "../x/"},
		{Endpoint: "http://host", Bucket: "b", Prefix: "noslash"},
		{Endpoint: "http://host", Bucket: "b", PartSize: 1 << 20},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := New(Config{Endpoint: "https://s3.example.com", Bucket: "b", Prefix: "lab/"}); err != nil {
		t.Fatal(err)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func httpGet(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, resp.Body)
	return b.String(), err
}
