package config

import (
	"strings"
	"testing"
)

func TestStorageSettings(t *testing.T) {
	c, _, err := load(t, nil)
	if err != nil || c.Storage.Driver != "filesystem" || c.Storage.S3PartSize != 16<<20 {
		t.Fatalf("defaults: %+v, %v", c.Storage, err)
	}
	env := map[string]string{"REGISTRY_STORAGE": "s3", "REGISTRY_S3_ENDPOINT": "http://127.0.0.1:8333",
		"REGISTRY_S3_BUCKET": "env", "REGISTRY_S3_PATH_STYLE": "true", "REGISTRY_S3_REDIRECT": "true"}
	c, _, err = load(t, env, "--s3-bucket", "flag", "--s3-prefix", "lab/", "--s3-part-size", "5242880")
	if err != nil {
		t.Fatal(err)
	}
	want := Storage{Driver: "s3", S3Endpoint: "http://127.0.0.1:8333", S3Bucket: "flag", S3Prefix: "lab/",
		S3PathStyle: true, S3PartSize: 5 << 20, S3Redirect: true}
	if c.Storage != want {
		t.Fatalf("loaded %+v, want %+v", c.Storage, want)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--storage", "gcs"}, "want filesystem or s3"},
		{[]string{"--storage", "s3", "--s3-bucket", "b"}, "--s3-endpoint"},
		{[]string{"--storage", "s3", "--s3-endpoint", "ftp://x"}, "--s3-endpoint"},
		{[]string{"--storage", "s3", "--s3-endpoint", "http://x:1"}, "--s3-bucket"},
		{[]string{"--storage", "s3", "--s3-endpoint", "http://x:1", "--s3-bucket", "b", "--s3-part-size", "1024"}, "--s3-part-size"},
		{[]string{"--storage", "s3", "--s3-endpoint", "http://x:1", "--s3-bucket", "b", "--s3-prefix", "../up/"}, "--s3-prefix"},
		{[]string{"--storage", "s3", "--s3-endpoint", "http://x:1", "--s3-bucket", "b", "--s3-prefix", "noslash"}, "--s3-prefix"},
	} {
		if _, _, err := load(t, nil, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.args, err, bad.want)
		}
	}
}
