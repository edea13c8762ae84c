package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// startSession opens an upload session and checks the answer.
func (r *reg) startSession(repo, query string) string {
	r.t.Helper()
	res := r.do("POST", "/v2/"+repo+"/blobs/uploads/"+query, nil, nil)
	wantStatus(r.t, "POST upload", res, http.StatusAccepted)
	loc := res.header.Get("Location")
	id := res.header.Get("Docker-Upload-UUID")
	if id == "" || !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") || !strings.Contains(loc, id) {
		r.t.Fatalf("POST upload: Location %q, Docker-Upload-UUID %q", loc, id)
	}
	wantHeader(r.t, "POST upload", res, "Range", "0-0")
	return loc
}

// patch sends a chunk; cr is the Content-Range ("" for a streamed chunk).
func (r *reg) patch(loc, cr string, chunk []byte) result {
	r.t.Helper()
	h := hdr("Content-Type", "application/octet-stream")
	if cr != "" {
		h.Set("Content-Range", cr)
	}
	return r.do("PATCH", loc, chunk, h)
}

// withQuery appends a query parameter to a Location.
func withQuery(loc, kv string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + kv
	}
	return loc + "?" + kv
}

func TestUploadSessionLifecycle(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 3000)
	d := digest.FromBytes(data)
	loc := r.startSession("lab/app", "")

	res := r.do("GET", loc, nil, nil)
	wantStatus(t, "status of an empty session", res, http.StatusNoContent)
	wantHeader(t, "status of an empty session", res, "Range", "0-0")

	res = r.patch(loc, "0-999", data[:1000])
	wantStatus(t, "first chunk", res, http.StatusAccepted)
	wantHeader(t, "first chunk", res, "Range", "0-999")
	if res.header.Get("Location") == "" || res.header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("chunk answer without Location or Docker-Upload-UUID: %v", res.header)
	}
	loc = res.header.Get("Location")

	// A chunk that does not start where the upload ends: 416, nothing appended.
	for _, cr := range []string{"2000-2999", "500-1499", "0-999"} {
		res = r.patch(loc, cr, data[1000:2000])
		wantError(t, "out-of-order chunk "+cr, res, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		wantHeader(t, "out-of-order chunk "+cr, res, "Range", "0-999")
	}
	res = r.patch(loc, "garbage", data[1000:2000])
	if res.status != http.StatusRequestedRangeNotSatisfiable && res.status != http.StatusBadRequest {
		t.Fatalf("unparsable Content-Range: status %d", res.status)
	}
	errorCodes(t, "unparsable Content-Range", res)
	res = r.patch(loc, "1000-1999", data[1000:1500])
	if res.status < 400 {
		t.Fatalf("Content-Range longer than the body accepted: %d", res.status)
	}
	errorCodes(t, "Content-Range vs Content-Length", res)
	res = r.do("GET", loc, nil, nil)
	wantStatus(t, "status after rejected chunks", res, http.StatusNoContent)
	wantHeader(t, "status after rejected chunks", res, "Range", "0-999")

	// A streamed chunk (no Content-Range) is appended.
	res = r.patch(loc, "", data[1000:2000])
	wantStatus(t, "streamed chunk", res, http.StatusAccepted)
	wantHeader(t, "streamed chunk", res, "Range", "0-1999")
	loc = res.header.Get("Location")

	// Closing with a wrong digest: 400, the session stays as it was.
	wrong := digest.FromString("not it")
	res = r.do("PUT", withQuery(loc, "digest="+wrong.String()), nil, nil)
	wantError(t, "PUT wrong digest", res, http.StatusBadRequest, "DIGEST_INVALID")
	res = r.do("HEAD", "/v2/lab/app/blobs/"+wrong.String(), nil, nil)
	wantStatus(t, "wrong digest stored?", res, http.StatusNotFound)
	res = r.do("PUT", loc, nil, nil)
	wantError(t, "PUT without digest", res, http.StatusBadRequest, "DIGEST_INVALID")
	res = r.do("GET", loc, nil, nil)
	wantStatus(t, "status after a wrong digest", res, http.StatusNoContent)
	wantHeader(t, "status after a wrong digest", res, "Range", "0-1999")

	// Close with the final chunk.
	res = r.do("PUT", withQuery(loc, "digest="+d.String()), data[2000:], hdr("Content-Range", "2000-2999", "Content-Type", "application/octet-stream"))
	wantStatus(t, "PUT with final chunk", res, http.StatusCreated)
	wantHeader(t, "PUT", res, "Location", "/v2/lab/app/blobs/"+d.String())
	wantHeader(t, "PUT", res, "Docker-Content-Digest", d.String())
	got := r.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantStatus(t, "GET blob", got, http.StatusOK)
	if !bytes.Equal(got.body, data) {
		t.Fatal("uploaded blob differs")
	}
	// The session is gone.
	res = r.do("GET", loc, nil, nil)
	wantError(t, "status of a finished session", res, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	res = r.patch(loc, "", []byte("more"))
	wantError(t, "PATCH a finished session", res, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestUploadCloseWithoutFinalChunk(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, size := range []int{0, 1, 2500} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := registrytest.RandomBytes(t, size)
			d := digest.FromBytes(data)
			loc := r.startSession("lab/app", "")
			if size > 0 {
				res := r.patch(loc, fmt.Sprintf("0-%d", size-1), data)
				wantStatus(t, "chunk", res, http.StatusAccepted)
				wantHeader(t, "chunk", res, "Range", fmt.Sprintf("0-%d", size-1))
				loc = res.header.Get("Location")
			}
			res := r.do("PUT", withQuery(loc, "digest="+d.String()), nil, nil)
			wantStatus(t, "PUT without a chunk", res, http.StatusCreated)
			wantHeader(t, "PUT", res, "Docker-Content-Digest", d.String())
			res = r.do("HEAD", "/v2/lab/app/blobs/"+d.String(), nil, nil)
			wantStatus(t, "HEAD", res, http.StatusOK)
			wantHeader(t, "HEAD", res, "Content-Length", fmt.Sprint(size))
		})
	}
}

func TestUploadWholeBlobInPut(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 700)
	d := digest.FromBytes(data)
	loc := r.startSession("lab/app", "")
	res := r.do("PUT", withQuery(loc, "digest="+d.String()), data, hdr("Content-Type", "application/octet-stream"))
	wantStatus(t, "PUT with the whole blob", res, http.StatusCreated)
	got := r.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	if !bytes.Equal(got.body, data) {
		t.Fatal("blob differs")
	}
}

func TestUploadStreamedChunks(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 5000)
	d := digest.FromBytes(data)
	loc := r.startSession("lab/app", "")
	for i, end := range []int{1234, 1235, 4000, 5000} {
		start := []int{0, 1234, 1235, 4000}[i]
		res := r.doReader("PATCH", loc, bytes.NewReader(data[start:end]), -1, nil) // chunked transfer, no length
		wantStatus(t, "streamed PATCH", res, http.StatusAccepted)
		wantHeader(t, "streamed PATCH", res, "Range", fmt.Sprintf("0-%d", end-1))
		loc = res.header.Get("Location")
	}
	res := r.do("PUT", withQuery(loc, "digest="+d.String()), nil, nil)
	wantStatus(t, "PUT", res, http.StatusCreated)
	got := r.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	if !bytes.Equal(got.body, data) {
		t.Fatal("blob differs")
	}
}

func TestUploadCancel(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	loc := r.startSession("lab/app", "")
	res := r.patch(loc, "0-2", []byte("abc"))
	wantStatus(t, "chunk", res, http.StatusAccepted)
	res = r.do("DELETE", loc, nil, nil)
	wantStatus(t, "DELETE session", res, http.StatusNoContent)
	for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
		u := loc
		if m == "PUT" {
			u = withQuery(loc, "digest="+digestOf([]byte("abc")))
		}
		res = r.do(m, u, nil, nil)
		wantError(t, m+" cancelled session", res, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	}
	res = r.do("HEAD", "/v2/lab/app/blobs/"+digestOf([]byte("abc")), nil, nil)
	wantStatus(t, "cancelled bytes stored?", res, http.StatusNotFound)
}

func TestUploadUnknownSessions(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	loc := r.startSession("lab/app", "")
	id := loc[strings.LastIndex(loc, "/")+1:]
	for _, path := range []string{
		"/v2/lab/app/blobs/uploads/" + strings.Repeat("0", 32),
		"/v2/lab/app/blobs/uploads/not-an-id",
		"/v2/lab/app/blobs/uploads/..%2f..%2fetc",
		"/v2/lab/other/blobs/uploads/" + id, // a session belongs to its repository
	} {
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			res := r.do(m, path, []byte("x"), nil)
			if res.status == http.StatusNotFound {
				// NOT_FOUND when the path is no route at all ("/" inside the id).
				if codes := errorCodes(t, m+" "+path, res); codes[0] != "BLOB_UPLOAD_UNKNOWN" && codes[0] != "NOT_FOUND" {
					t.Fatalf("%s %s: codes %v, want BLOB_UPLOAD_UNKNOWN", m, path, codes)
				}
			} else if res.status != http.StatusBadRequest {
				t.Fatalf("%s %s: status %d, want 404 BLOB_UPLOAD_UNKNOWN", m, path, res.status)
			}
		}
	}
	res := r.do("GET", loc, nil, nil)
	wantStatus(t, "own session untouched", res, http.StatusNoContent)
	wantHeader(t, "own session untouched", res, "Range", "0-0")
}

func TestUploadSHA512(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 4000)
	d := digest.SHA512.FromBytes(data)
	loc := r.startSession("lab/app", "?digest-algorithm=sha512")
	res := r.patch(loc, "0-1999", data[:2000])
	wantStatus(t, "chunk", res, http.StatusAccepted)
	loc = res.header.Get("Location")
	res = r.do("PUT", withQuery(loc, "digest="+digest.FromBytes(data).String()), data[2000:], hdr("Content-Range", "2000-3999"))
	if res.status == http.StatusCreated {
		// A sha256 close of a sha512 session may be honoured; the blob
		// must then be the right bytes under its sha256 name.
		got := r.do("GET", "/v2/lab/app/blobs/"+digest.FromBytes(data).String(), nil, nil)
		if !bytes.Equal(got.body, data) {
			t.Fatal("blob differs")
		}
		loc = r.startSession("lab/app", "?digest-algorithm=sha512")
		res = r.patch(loc, "", data)
		wantStatus(t, "chunk", res, http.StatusAccepted)
		loc = res.header.Get("Location")
		res = r.do("PUT", withQuery(loc, "digest="+d.String()), nil, nil)
	} else {
		wantError(t, "sha256 close of a sha512 session", res, http.StatusBadRequest, "DIGEST_INVALID")
		res = r.do("PUT", withQuery(loc, "digest="+d.String()), nil, nil)
	}
	wantStatus(t, "PUT sha512", res, http.StatusCreated)
	wantHeader(t, "PUT sha512", res, "Docker-Content-Digest", d.String())
	got := r.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	wantStatus(t, "GET sha512 blob", got, http.StatusOK)
	wantHeader(t, "GET sha512 blob", got, "Docker-Content-Digest", d.String())
	if !bytes.Equal(got.body, data) {
		t.Fatal("sha512 blob differs")
	}
	wrong := digest.SHA512.FromString("other")
	loc = r.startSession("lab/app", "?digest-algorithm=sha512")
	res = r.do("PUT", withQuery(loc, "digest="+wrong.String()), data, nil)
	wantError(t, "wrong sha512", res, http.StatusBadRequest, "DIGEST_INVALID")
}

func TestUploadResumesAfterRestart(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	r1 := newRegAt(t, root, nil)
	data := registrytest.RandomBytes(t, 3000)
	d := digest.FromBytes(data)
	loc := r1.startSession("lab/app", "")
	res := r1.patch(loc, "0-1199", data[:1200])
	wantStatus(t, "chunk before restart", res, http.StatusAccepted)
	loc = res.header.Get("Location")

	r2 := newRegAt(t, root, nil)
	res = r2.do("GET", loc, nil, nil)
	wantStatus(t, "status after restart", res, http.StatusNoContent)
	wantHeader(t, "status after restart", res, "Range", "0-1199")
	res = r2.patch(loc, "0-1199", data[:1200])
	wantError(t, "replayed chunk after restart", res, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	res = r2.patch(loc, "1200-2999", data[1200:])
	wantStatus(t, "chunk after restart", res, http.StatusAccepted)
	wantHeader(t, "chunk after restart", res, "Range", "0-2999")
	res = r2.do("PUT", withQuery(res.header.Get("Location"), "digest="+d.String()), nil, nil)
	wantStatus(t, "PUT after restart", res, http.StatusCreated)
	got := r2.do("GET", "/v2/lab/app/blobs/"+d.String(), nil, nil)
	if !bytes.Equal(got.body, data) {
		t.Fatal("blob differs after a resumed upload")
	}
}

func TestMount(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	data := registrytest.RandomBytes(t, 2048)
	d := r.pushBlob("lab/base", data)
	absent := digest.FromString("absent")
	cases := []struct {
		name, repo, query string
		mounted           bool
	}{
		{"from a repository holding it", "lab/app1", "?mount=" + d.String() + "&from=lab/base", true},
		{"anonymous, blob exists elsewhere", "lab/app2", "?mount=" + d.String(), true},
		{"from a repository without it", "lab/app3", "?mount=" + d.String() + "&from=lab/nothing", false},
		{"anonymous, blob nowhere", "lab/app4", "?mount=" + absent.String(), false},
		{"from, blob nowhere", "lab/app5", "?mount=" + absent.String() + "&from=lab/base", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := r.bodyIn.Load()
			res := r.do("POST", "/v2/"+c.repo+"/blobs/uploads/"+c.query, nil, nil)
			if r.bodyIn.Load() != before {
				t.Fatal("a mount sent bytes")
			}
			probe := d
			if strings.Contains(c.query, absent.String()) {
				probe = absent
			}
			if c.mounted {
				wantStatus(t, "mount", res, http.StatusCreated)
				wantHeader(t, "mount", res, "Location", "/v2/"+c.repo+"/blobs/"+d.String())
				wantHeader(t, "mount", res, "Docker-Content-Digest", d.String())
				got := r.do("GET", "/v2/"+c.repo+"/blobs/"+d.String(), nil, nil)
				wantStatus(t, "GET mounted", got, http.StatusOK)
				if !bytes.Equal(got.body, data) {
					t.Fatal("mounted blob differs")
				}
				return
			}
			wantStatus(t, "mount that falls back to a session", res, http.StatusAccepted)
			if res.header.Get("Docker-Upload-UUID") == "" || !strings.HasPrefix(res.header.Get("Location"), "/v2/"+c.repo+"/blobs/uploads/") {
				t.Fatalf("no upload session offered: %v", res.header)
			}
			wantHeader(t, "fallback session", res, "Range", "0-0")
			got := r.do("HEAD", "/v2/"+c.repo+"/blobs/"+probe.String(), nil, nil)
			wantStatus(t, "blob not mounted", got, http.StatusNotFound)
		})
	}
	// A session offered instead of a mount takes the upload.
	res := r.do("POST", "/v2/lab/app6/blobs/uploads/?mount="+d.String()+"&from=lab/nothing", nil, nil)
	wantStatus(t, "mount fallback", res, http.StatusAccepted)
	res = r.do("PUT", withQuery(res.header.Get("Location"), "digest="+d.String()), data, nil)
	wantStatus(t, "upload after a failed mount", res, http.StatusCreated)
}
