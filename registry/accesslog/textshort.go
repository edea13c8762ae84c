package accesslog

import (
	"slices"
	"strings"
)

// forText drops, from an access line written as text, the fields the line
// already says: the repository, reference, digest and upload id its path
// spells out, the route its path names, a response header repeating one of
// those, the error message its error code stands for; it keeps only the
// first word of the user agent (docker's runs to 150 characters) and writes
// media types without their "application/vnd." prefix. Of the protocol
// headers it keeps, unless allHeaders (trace level), only those that tell
// what the route did (textHeaders): a learner's line stays one short line.
// The JSON format keeps every field as it is: pipelines filter on them.
func forText(fs []field, path string, allHeaders bool) []field {
	out := fs[:0]
	var upload, digest, route string
	hasCode := false
	for _, f := range fs {
		switch f.key {
		case "error_code":
			hasCode = true
		case "upload_id":
			upload = f.str
		case "digest":
			digest = f.str
		case "route":
			route = f.str
		}
	}
	for _, f := range fs {
		if isHeader(f.key) && !allHeaders && !slices.Contains(textHeaders[route], f.key) {
			continue
		}
		switch f.key {
		case "route":
			continue
		case "resp.location":
			if f.str == path {
				continue
			}
		case "repository", "reference", "digest", "upload_id":
			if strings.Contains(path, f.str) {
				continue
			}
		case "resp.docker-upload-uuid":
			if f.str == upload {
				continue
			}
		case "resp.docker-content-digest":
			if f.str == digest || strings.Contains(path, f.str) {
				continue
			}
		case "error_message":
			if hasCode {
				continue
			}
		case "req.accept", "req.content-type", "resp.content-type":
			f.str = strings.ReplaceAll(f.str, "application/vnd.", "")
		case "user_agent":
			if i := strings.IndexByte(f.str, ' '); i > 0 {
				f.str = f.str[:i]
			}
		}
		out = append(out, f)
	}
	return out
}

// The protocol headers an access line in text shows at debug level, by
// route: what the exchange did that the line does not already say — where
// an upload goes on (Location), which bytes it holds (Content-Range, Range),
// the media type a manifest was pushed or served with. At trace level the
// line shows every header of requestHeaders and responseHeaders.
var textHeaders = map[string][]string{
	"upload.start":  {"resp.location"},
	"upload.patch":  {"req.content-range", "resp.range"},
	"upload.status": {"resp.range"},
	"manifest.get":  {"resp.content-type"},
	"manifest.put":  {"req.content-type", "resp.oci-subject"},
	"blob.get":      {"req.range"},
}

func isHeader(key string) bool {
	return strings.HasPrefix(key, "req.") || strings.HasPrefix(key, "resp.")
}
