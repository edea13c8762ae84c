package s3

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestServerChecksCRC32C: the bytes the driver sends unsigned are guarded
// by their CRC32C, so the server must refuse bytes that do not match it,
// on PutObject and on a part. (The test sends other bytes than those the
// checksum was made of: what damage in transit looks like.)
func TestServerChecksCRC32C(t *testing.T) {
	d, _ := newTestDriver(t)
	ctx := context.Background()
	name := d.prefix + "checksum-probe"
	good, bad := []byte("the bytes the checksum was made of"), []byte("the bytes the server got instead!!")

	if _, err := d.core.PutObject(ctx, d.bucket, name, bytes.NewReader(bad), int64(len(bad)), "", "", checkedPut(good)); err == nil {
		t.Fatal("PutObject: the server stored bytes whose CRC32C does not match")
	}
	if _, err := d.core.PutObject(ctx, d.bucket, name, bytes.NewReader(good), int64(len(good)), "", "", checkedPut(good)); err != nil {
		t.Fatalf("PutObject with a matching CRC32C: %v", err)
	}

	id, err := d.core.NewMultipartUpload(ctx, d.bucket, name+"-mp", checkedUpload())
	if err != nil {
		t.Fatal(err)
	}
	defer d.abort(name+"-mp", id)
	opts, sum := checkedPart(good)
	if _, err := d.core.PutObjectPart(ctx, d.bucket, name+"-mp", id, 1, bytes.NewReader(bad), int64(len(bad)), opts); err == nil {
		t.Fatal("PutObjectPart: the server took a part whose CRC32C does not match")
	}
	p, err := d.core.PutObjectPart(ctx, d.bucket, name+"-mp", id, 1, bytes.NewReader(good), int64(len(good)), opts)
	if err != nil {
		t.Fatalf("PutObjectPart with a matching CRC32C: %v", err)
	}
	parts := []minio.CompletePart{{PartNumber: 1, ETag: p.ETag, ChecksumCRC32C: sum}}
	if _, err := d.core.CompleteMultipartUpload(ctx, d.bucket, name+"-mp", id, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("completing an upload of checked parts: %v", err)
	}
}
