package s3

import (
	"encoding/base64"
	"hash/crc32"
	"net/http"

	"github.com/minio/minio-go/v7"
)

// The bytes the driver sends from memory (a whole small object, or a part)
// carry their CRC32C, which the service checks before it stores them
// (x-amz-checksum-crc32c: AWS S3, SeaweedFS, versitygw, MinIO, Ceph RGW),
// and go with an unsigned payload. A signed payload (the default of the
// client library over plain HTTP) costs a SHA-256 of every byte on each
// side of the wire, on top of the digest the store computes anyway; the
// CRC catches the same damage in transit for a fraction of that. It does
// not stop someone on the path from changing the bytes and their CRC
// together: over a network you do not trust, give the endpoint https://.
// Either way, what is stored under a digest was verified against it
// before it became visible.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	checksumAlgorithm = "CRC32C"
	hdrAlgorithm      = "X-Amz-Checksum-Algorithm"
	hdrCRC32C         = "X-Amz-Checksum-Crc32c"
)

// crc32c is the base64 CRC32C of data, as S3 headers carry it.
func crc32c(data []byte) string {
	var b [4]byte
	v := crc32.Checksum(data, castagnoli)
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return base64.StdEncoding.EncodeToString(b[:])
}

// checkedPut is the options of a PutObject of data: unsigned, with its
// CRC32C.
func checkedPut(data []byte) minio.PutObjectOptions {
	return minio.PutObjectOptions{
		DisableContentSha256: true,
		UserMetadata:         map[string]string{hdrAlgorithm: checksumAlgorithm, hdrCRC32C: crc32c(data)},
	}
}

// checkedUpload is the options of a multipart upload whose parts all carry
// their CRC32C (the service wants the algorithm named when it starts).
func checkedUpload() minio.PutObjectOptions {
	return minio.PutObjectOptions{UserMetadata: map[string]string{hdrAlgorithm: checksumAlgorithm}}
}

// checkedPart is the options of a PutObjectPart of data in such an upload.
func checkedPart(data []byte) (minio.PutObjectPartOptions, string) {
	sum := crc32c(data)
	h := http.Header{}
	h.Set(hdrAlgorithm, checksumAlgorithm)
	h.Set(hdrCRC32C, sum)
	return minio.PutObjectPartOptions{DisableContentSha256: true, CustomHeader: h}, sum
}
