package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// errorMessage returns the first message of an error envelope.
func errorMessage(t *testing.T, res result) string {
	t.Helper()
	var body struct {
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("not an error envelope: %s", res.body)
	}
	return body.Errors[0].Message
}

// A Content-Range whose length does not fit in 64 bits is refused, with or
// without a Content-Length, and the session is left as it was.
func TestContentRangeOverflowIsRefused(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	loc := r.startSession("lab/app", "")
	h := hdr("Content-Type", "application/octet-stream", "Content-Range", "0-9223372036854775807")
	res := r.doReader("PATCH", loc, strings.NewReader("abc"), -1, h)
	wantError(t, "PATCH 0-9223372036854775807 chunked", res, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	res = r.do("PATCH", loc, []byte("abc"), h)
	wantError(t, "PATCH 0-9223372036854775807", res, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	res = r.do("GET", loc, nil, nil)
	wantHeader(t, "session after refused ranges", res, "Range", "0-0")
}

// A close (PUT) whose digest does not match leaves its chunk out of the
// session: the session stays where it was and the client can retry.
func TestFailedCloseKeepsTheSession(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, chunked := range []bool{false, true} {
		loc := r.startSession("lab/app", "")
		wantStatus(t, "first chunk", r.patch(loc, "0-2", []byte("abc")), http.StatusAccepted)
		length := int64(3)
		if chunked {
			length = -1
		}
		wrong := withQuery(loc, "digest="+digestOf([]byte("abcxyz")))
		res := r.doReader("PUT", wrong, bytes.NewReader([]byte("def")), length, nil)
		wantError(t, "PUT with a wrong digest", res, http.StatusBadRequest, "DIGEST_INVALID")
		res = r.do("GET", loc, nil, nil)
		wantHeader(t, "session after a failed close", res, "Range", "0-2")

		want := digestOf([]byte("abcdef"))
		res = r.doReader("PUT", withQuery(loc, "digest="+want), bytes.NewReader([]byte("def")), length, nil)
		wantStatus(t, "PUT retried with the right digest", res, http.StatusCreated)
		res = r.do("GET", "/v2/lab/app/blobs/"+want, nil, nil)
		if res.status != http.StatusOK || string(res.body) != "abcdef" {
			t.Fatalf("blob after the retried close: %d %q", res.status, res.body)
		}
	}
}

// The 413 for a manifest over the limit says so, whether the size is
// announced or found while reading.
func TestManifestTooLargeSaysSo(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	big := bytes.Repeat([]byte(" "), 4<<20+1)
	h := hdr("Content-Type", mtOCIManifest)
	for _, length := range []int64{int64(len(big)), -1} {
		res := r.doReader("PUT", "/v2/lab/app/manifests/big", bytes.NewReader(big), length, h)
		wantError(t, "PUT a 4 MiB + 1 manifest", res, http.StatusRequestEntityTooLarge, "SIZE_INVALID")
		if msg := errorMessage(t, res); !strings.Contains(msg, "exceeds the 4 MiB limit") {
			t.Errorf("413 message %q does not say the manifest exceeds the 4 MiB limit", msg)
		}
	}
}

// A malformed digest in a GET is an invalid digest, not a content mismatch.
func TestMalformedDigestIsNotAContentMismatch(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	bad := "sha256:" + strings.Repeat("z", 64)
	for _, path := range []string{"/v2/lab/app/blobs/" + bad, "/v2/lab/app/manifests/" + bad,
		"/v2/lab/app/referrers/" + bad, "/v2/lab/app/blobs/md5:" + digest.FromString("x").Encoded()} {
		res := r.do("GET", path, nil, nil)
		wantError(t, "GET "+path, res, http.StatusBadRequest, "DIGEST_INVALID")
		if msg := errorMessage(t, res); strings.Contains(msg, "did not match") || !strings.Contains(msg, "invalid digest") {
			t.Errorf("GET %s: message %q", path, msg)
		}
	}
}

// A manifest whose "layers" name a blob the registry lacks cannot pass the
// blob check by adding "LAYERS": keys read two ways are refused.
func TestManifestWithCaseVariantKeysIsRefused(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	missing := digest.FromString("never pushed")
	body := strings.Replace(string(img.body), `"layers"`, `"layers": [{"mediaType":"`+mtOCILayer+`","digest":"`+missing.String()+`","size":5}],
   "LAYERS"`, 1)
	res := r.do("PUT", "/v2/lab/app/manifests/v1", []byte(body), hdr("Content-Type", mtOCIManifest))
	wantError(t, "PUT a manifest with layers and LAYERS", res, http.StatusBadRequest, "MANIFEST_INVALID")
	if !strings.Contains(string(res.body), `differs from \"layers\" only in case`) {
		t.Errorf("the error does not say which key: %s", res.body)
	}
	res = r.do("GET", "/v2/lab/app/manifests/v1", nil, nil)
	wantStatus(t, "GET the refused manifest", res, http.StatusNotFound)
}
