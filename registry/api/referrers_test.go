package api_test

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// bigReferrers pushes n referrers of subject into repo, each carrying an
// annotation of size bytes; every other one is of artifactType sbom.
func (r *reg) bigReferrers(repo string, subject image, n, size int) (all, sboms []digest.Digest) {
	r.t.Helper()
	subj := &desc{MediaType: subject.mediaType, Digest: subject.digest, Size: int64(len(subject.body))}
	for i := 0; i < n; i++ {
		at := "application/vnd.example.sig"
		if i%2 == 0 {
			at = "application/vnd.example.sbom"
		}
		big := strings.Repeat(string(rune('a'+i%26)), size)
		img := r.makeImage(repo, manifestOpts{subject: subj, artifactType: at, annotations: map[string]string{"big": big}})
		r.mustPut(repo, img.digest.String(), img)
		all = append(all, img.digest)
		if i%2 == 0 {
			sboms = append(sboms, img.digest)
		}
	}
	return all, sboms
}

// allReferrers follows the Link headers from the first page to the last.
func (r *reg) allReferrers(repo string, subject digest.Digest, query string) (got []desc, pages int) {
	r.t.Helper()
	path := "/v2/" + repo + "/referrers/" + subject.String() + query
	for path != "" {
		list, res := r.referrersAt(path)
		if len(list) == 0 {
			r.t.Fatalf("empty page %s", path)
		}
		if len(list) > 1 && len(res.body) > 4<<20+4096 {
			r.t.Errorf("page %s: %d bytes in %d descriptors, more than a 4 MiB manifest", path, len(res.body), len(list))
		}
		if strings.Contains(query, "artifactType") {
			wantHeader(r.t, "filtered page", res, "OCI-Filters-Applied", "artifactType")
		}
		got = append(got, list...)
		pages++
		path = nextLink(r.t, res)
	}
	return got, pages
}

// TestReferrersPagesKeepEveryReferrer: referrers with annotations of
// 1.5 MiB each are all listed, in pages of at most 4 MiB linked by Link
// headers, with and without an artifactType filter, and with ?n=.
func TestReferrersPagesKeepEveryReferrer(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	subject := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", subject)
	const size = 3 << 19 // 1.5 MiB
	all, sboms := r.bigReferrers("lab/app", subject, 8, size)
	for _, c := range []struct {
		query string
		want  []digest.Digest
		pages int
	}{
		{"", all, 4}, // two descriptors of 1.5 MiB fit in 4 MiB
		{"?artifactType=application/vnd.example.sbom", sboms, 2},
		{"?n=1", all, 8},
	} {
		got, pages := r.allReferrers("lab/app", subject.digest, c.query)
		if len(got) != len(c.want) || pages != c.pages {
			t.Fatalf("%q: %d referrers in %d pages, want %d in %d", c.query, len(got), pages, len(c.want), c.pages)
		}
		seen := map[digest.Digest]bool{}
		for i, d := range got {
			if seen[d.Digest] || (i > 0 && got[i-1].Digest >= d.Digest) {
				t.Fatalf("%q: %s listed out of order or twice", c.query, d.Digest)
			}
			seen[d.Digest] = true
			if len(d.Annotations["big"]) != size {
				t.Errorf("%q: %s listed with a %d-byte annotation, want %d", c.query, d.Digest, len(d.Annotations["big"]), size)
			}
		}
		for _, d := range c.want {
			if !seen[d] {
				t.Errorf("%q: referrer %s missing", c.query, d)
			}
		}
	}
	for _, bad := range []string{"?n=0", "?n=-1", "?n=x"} {
		res := r.do("GET", "/v2/lab/app/referrers/"+subject.digest.String()+bad, nil, nil)
		wantError(t, "referrers"+bad, res, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
	}
	res := r.do("GET", "/v2/lab/app/referrers/"+subject.digest.String()+"?last=nonsense", nil, nil)
	wantError(t, "referrers?last=nonsense", res, http.StatusBadRequest, "DIGEST_INVALID")
}

// TestReferrersAreStreamed: listing referrers allocates far less than the
// bytes listed — descriptors go from their files to the client, they are
// not decoded and encoded again as a whole list.
//
// Not parallel: it reads the process's allocation total, which other
// tests running at the same time would add to.
func TestReferrersAreStreamed(t *testing.T) {
	r := newReg(t, nil)
	subject := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", subject)
	r.bigReferrers("lab/app", subject, 8, 900<<10)
	var listed int64
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	next := r.url + "/v2/lab/app/referrers/" + subject.digest.String()
	for next != "" {
		resp, err := http.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", next, resp.StatusCode, err)
		}
		listed += n
		next = ""
		if m := linkPattern.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = r.url + m[1]
		}
	}
	runtime.ReadMemStats(&after)
	allocated := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("listed %d bytes of referrers, allocated %d bytes", listed, allocated)
	if listed < 8*900<<10 {
		t.Fatalf("listed only %d bytes", listed)
	}
	if allocated > listed/4 {
		t.Errorf("listing %d bytes of referrers allocated %d bytes: the list is held in memory", listed, allocated)
	}
}
