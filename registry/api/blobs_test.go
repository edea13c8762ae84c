package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

func TestBlobGetHead(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 1000)
	d := r.pushBlob("lab/app", data)
	missing := digest.FromString("missing")
	cases := []struct {
		name, method, path string
		h                  http.Header
		status             int
		code               string
		body               []byte
		contentRange       string
	}{
		{"get", "GET", "/v2/lab/app/blobs/" + d.String(), nil, 200, "", data, ""},
		{"head", "HEAD", "/v2/lab/app/blobs/" + d.String(), nil, 200, "", nil, ""},
		{"range", "GET", "/v2/lab/app/blobs/" + d.String(), hdr("Range", "bytes=10-19"), 206, "", data[10:20], "bytes 10-19/1000"},
		{"range open end", "GET", "/v2/lab/app/blobs/" + d.String(), hdr("Range", "bytes=990-"), 206, "", data[990:], "bytes 990-999/1000"},
		{"range suffix", "GET", "/v2/lab/app/blobs/" + d.String(), hdr("Range", "bytes=-5"), 206, "", data[995:], "bytes 995-999/1000"},
		{"range beyond the end", "GET", "/v2/lab/app/blobs/" + d.String(), hdr("Range", "bytes=5000-6000"), 416, "", nil, "bytes */1000"},
		{"unknown blob", "GET", "/v2/lab/app/blobs/" + missing.String(), nil, 404, "BLOB_UNKNOWN", nil, ""},
		{"unknown blob head", "HEAD", "/v2/lab/app/blobs/" + missing.String(), nil, 404, "", nil, ""},
		{"blob of another repository", "GET", "/v2/lab/other/blobs/" + d.String(), nil, 404, "BLOB_UNKNOWN", nil, ""},
		{"blob of another repository head", "HEAD", "/v2/lab/other/blobs/" + d.String(), nil, 404, "", nil, ""},
		{"bad digest", "GET", "/v2/lab/app/blobs/sha256:nothex", nil, 400, "DIGEST_INVALID", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.do(c.method, c.path, nil, c.h)
			if c.code != "" {
				wantError(t, c.name, res, c.status, c.code)
				return
			}
			wantStatus(t, c.name, res, c.status)
			if c.method == "HEAD" && len(res.body) != 0 {
				t.Fatalf("HEAD sent a body of %d bytes", len(res.body))
			}
			if c.status >= 400 {
				if c.contentRange != "" {
					wantHeader(t, c.name, res, "Content-Range", c.contentRange)
				}
				return
			}
			wantHeader(t, c.name, res, "Docker-Content-Digest", d.String())
			if c.contentRange != "" {
				wantHeader(t, c.name, res, "Content-Range", c.contentRange)
			}
			if c.method == "HEAD" {
				wantHeader(t, c.name, res, "Content-Length", strconv.Itoa(len(data)))
				return
			}
			if !bytes.Equal(res.body, c.body) {
				t.Fatalf("body: %d bytes, want %d (the right ones)", len(res.body), len(c.body))
			}
		})
	}
}

func TestBlobDelete(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 100)
	d := r.pushBlob("lab/app", data)
	r.pushBlob("lab/other", data)
	res := r.do("DELETE", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantStatus(t, "DELETE blob", res, http.StatusAccepted)
	res = r.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantError(t, "GET deleted blob", res, http.StatusNotFound, "BLOB_UNKNOWN")
	res = r.do("HEAD", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantStatus(t, "HEAD deleted blob", res, http.StatusNotFound)
	res = r.do("DELETE", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantError(t, "DELETE again", res, http.StatusNotFound, "BLOB_UNKNOWN")
	// Another repository linking the same bytes keeps them.
	res = r.do("GET", "/v2/lab/other/blobs/"+d.String(), nil, nil)
	wantStatus(t, "GET in the other repository", res, http.StatusOK)
	if !bytes.Equal(res.body, data) {
		t.Fatal("the other repository's blob changed")
	}
}

func TestMonolithicUpload(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 3000)
	cases := []struct {
		name   string
		alg    digest.Algorithm
		length int64 // -1: chunked transfer
	}{
		{"sha256", digest.SHA256, 3000},
		{"sha256 chunked transfer", digest.SHA256, -1},
		{"sha512", digest.SHA512, 3000},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("lab/mono%d", i)
			d := c.alg.FromBytes(data)
			res := r.doReader("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), bytes.NewReader(data), c.length,
				hdr("Content-Type", "application/octet-stream"))
			wantStatus(t, "POST ?digest=", res, http.StatusCreated)
			wantHeader(t, "POST ?digest=", res, "Location", "/v2/"+repo+"/blobs/"+d.String())
			wantHeader(t, "POST ?digest=", res, "Docker-Content-Digest", d.String())
			got := r.do("GET", res.header.Get("Location"), nil, nil)
			wantStatus(t, "GET Location", got, http.StatusOK)
			if !bytes.Equal(got.body, data) {
				t.Fatal("blob bytes differ")
			}
		})
	}
	t.Run("wrong digest", func(t *testing.T) {
		wrong := digest.FromString("something else")
		res := r.do("POST", "/v2/lab/bad/blobs/uploads/?digest="+wrong.String(), data, nil)
		wantError(t, "wrong digest", res, http.StatusBadRequest, "DIGEST_INVALID")
		for _, d := range []digest.Digest{wrong, digest.FromBytes(data)} {
			res = r.do("HEAD", "/v2/lab/bad/blobs/"+d.String(), nil, nil)
			wantStatus(t, "HEAD after a rejected upload", res, http.StatusNotFound)
		}
	})
	t.Run("sha512 body under a sha256 name", func(t *testing.T) {
		wrong := digest.SHA512.FromBytes([]byte("other"))
		res := r.do("POST", "/v2/lab/bad/blobs/uploads/?digest="+wrong.String(), data, nil)
		wantError(t, "wrong sha512", res, http.StatusBadRequest, "DIGEST_INVALID")
	})
	t.Run("content length mismatch", func(t *testing.T) {
		// A truncated body never becomes a blob.
		d := digest.FromBytes(data)
		res := r.doReader("POST", "/v2/lab/short/blobs/uploads/?digest="+d.String(), bytes.NewReader(data[:100]), -1, nil)
		if res.status < 400 {
			t.Fatalf("a body that does not hash to the digest was accepted: %d", res.status)
		}
		res = r.do("HEAD", "/v2/lab/short/blobs/"+d.String(), nil, nil)
		wantStatus(t, "HEAD after a short body", res, http.StatusNotFound)
	})
}
