package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Storage says where the store keeps its bytes: the filesystem under Root
// (the default) or an S3-compatible bucket. Credentials for S3 come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the AWS shared
// credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), or the
// instance's role: never from a flag, so they stay out of process lists.
type Storage struct {
	Driver        string // filesystem or s3
	S3Endpoint    string
	S3Bucket      string
	S3Region      string
	S3Prefix      string
	S3PathStyle   bool
	S3InsecureTLS bool
	S3PartSize    int64
	S3Redirect    bool
}

// StorageFlags are the storage settings of the commands that open the store
// (gc, du, sql) besides --root; serve has these and --s3-redirect.
var StorageFlags = []string{"storage", "s3-endpoint", "s3-bucket", "s3-region", "s3-prefix", "s3-path-style",
	"s3-insecure-skip-verify", "s3-part-size"}

func storageDefaults() Storage {
	return Storage{Driver: "filesystem", S3PartSize: 16 << 20}
}

func (c *Config) storageSettings() []setting {
	s := &c.Storage
	return []setting{
		{"storage", "REGISTRY_STORAGE", "where the bytes live: filesystem (under --root) or s3 (an S3-compatible bucket; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS files)", &s.Driver},
		{"s3-endpoint", "REGISTRY_S3_ENDPOINT", "S3 service URL, http(s)://host[:port] (AWS: https://s3.REGION.amazonaws.com)", &s.S3Endpoint},
		{"s3-bucket", "REGISTRY_S3_BUCKET", "S3 bucket (it must exist)", &s.S3Bucket},
		{"s3-region", "REGISTRY_S3_REGION", "S3 region (empty: asked of the service)", &s.S3Region},
		{"s3-prefix", "REGISTRY_S3_PREFIX", "keep every key under this path in the bucket, ending in / (several registries can share a bucket)", &s.S3Prefix},
		{"s3-path-style", "REGISTRY_S3_PATH_STYLE", "address the bucket as ENDPOINT/BUCKET rather than BUCKET.ENDPOINT (SeaweedFS, MinIO, versitygw, most local servers)", &s.S3PathStyle},
		{"s3-insecure-skip-verify", "REGISTRY_S3_INSECURE_SKIP_VERIFY", "do not verify the S3 endpoint's TLS certificate (test setups only)", &s.S3InsecureTLS},
		{"s3-part-size", "REGISTRY_S3_PART_SIZE", "bytes per part of a multipart upload, 5 MiB to 5 GiB: also the memory one upload holds", &s.S3PartSize},
		{"s3-redirect", "REGISTRY_S3_REDIRECT", "answer blob GETs with a redirect to a presigned S3 URL (clients then need to reach the endpoint)", &s.S3Redirect},
	}
}

// validateStorage checks the storage settings.
func (c *Config) validateStorage() error {
	s := c.Storage
	switch s.Driver {
	case "filesystem":
		if c.Root == "" {
			return fmt.Errorf("storage root is empty")
		}
	case "s3":
		u, err := url.Parse(s.S3Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--s3-endpoint %q: want http(s)://host[:port]", s.S3Endpoint)
		}
		if s.S3Bucket == "" {
			return fmt.Errorf("--storage s3 needs --s3-bucket")
		}
		if s.S3Prefix != "" && (!strings.HasSuffix(s.S3Prefix, "/") || strings.HasPrefix(s.S3Prefix, "/") || strings.Contains(s.S3Prefix, "..")) {
			return fmt.Errorf("--s3-prefix %q: want a relative path ending in /", s.S3Prefix)
		}
		if s.S3PartSize < 5<<20 || s.S3PartSize > 5<<30 {
			return fmt.Errorf("--s3-part-size %d: want 5 MiB (5242880) to 5 GiB", s.S3PartSize)
		}
	default:
		return fmt.Errorf("--storage %q: want filesystem or s3", s.Driver)
	}
	return nil
}
