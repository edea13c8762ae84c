package accesslog

import "strings"

// forText drops, from an access line written as text, the fields the line
// already says: the repository, reference, digest and upload id its path
// spells out, the route its path names, a response header repeating one of
// those, the error message its error code stands for; it keeps only the
// first word of the user agent (docker's runs to 150 characters) and writes
// media types without their "application/vnd." prefix. The JSON format
// keeps every field as it is: pipelines filter on them.
func forText(fs []field, path string) []field {
	out := fs[:0]
	var upload, digest string
	hasCode := false
	for _, f := range fs {
		switch f.key {
		case "error_code":
			hasCode = true
		case "upload_id":
			upload = f.str
		case "digest":
			digest = f.str
		}
	}
	for _, f := range fs {
		switch f.key {
		case "route":
			continue
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
