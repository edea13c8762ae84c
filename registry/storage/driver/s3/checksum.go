package s3

import (
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

// crc is the checksum, from the client library: the header it goes in,
// the algorithm's name, and its base64 value of some bytes.
const crc = minio.ChecksumCRC32C

// hdrAlgorithm names the checksum's algorithm.
const hdrAlgorithm = "X-Amz-Checksum-Algorithm"

// checkedPut is the options of a PutObject of data: unsigned, with its
// CRC32C.
func checkedPut(data []byte) minio.PutObjectOptions {
	return minio.PutObjectOptions{
		DisableContentSha256: true,
		UserMetadata:         map[string]string{hdrAlgorithm: crc.String(), crc.KeyCapitalized(): crc.EncodeToString(data)},
	}
}

// checkedUpload is the options of a multipart upload whose parts all carry
// their CRC32C (the service wants the algorithm named when it starts).
func checkedUpload() minio.PutObjectOptions {
	return minio.PutObjectOptions{UserMetadata: map[string]string{hdrAlgorithm: crc.String()}}
}

// checkedPart is the options of a PutObjectPart of data in such an upload.
func checkedPart(data []byte) (minio.PutObjectPartOptions, string) {
	sum := crc.EncodeToString(data)
	h := http.Header{}
	h.Set(hdrAlgorithm, crc.String())
	h.Set(crc.KeyCapitalized(), sum)
	return minio.PutObjectPartOptions{DisableContentSha256: true, CustomHeader: h}, sum
}
