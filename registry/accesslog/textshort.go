package accesslog

import "strings"

// forText drops, from an access line written as text, the fields the line
// already says: the repository, reference, digest and upload id its path
// spells out, the route its path names, a response header repeating one of
// those; and it keeps only the first word of the user agent (docker's runs
// to 150 characters). The JSON format keeps every field: pipelines filter
// on them.
func forText(fs []field, path string) []field {
	out := fs[:0]
	var upload, digest string
	for _, f := range fs {
		switch f.key {
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
		case "user_agent":
			if i := strings.IndexByte(f.str, ' '); i > 0 {
				f.str = f.str[:i]
			}
		}
		out = append(out, f)
	}
	return out
}
