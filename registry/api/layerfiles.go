package api

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/storage"
)

// What is inside a layer: its tar stream's entries, read from the stored
// blob on demand (GET /api/blobs/{digest}/files) — gzip, zstd or plain
// tar — and bounded: at most MaxLayerEntries entries, MaxLayerRead bytes
// of decompressed stream and LayerListTimeout of reading. A listing cut
// short says so ("truncated" and why).
const (
	MaxLayerEntries  = 10000
	MaxLayerRead     = 256 << 20
	LayerListTimeout = 5 * time.Second
	// MaxLayerListings bounds the listings read at once (each may cost
	// seconds of decompression); one more is refused with 429.
	MaxLayerListings = 4
)

var layerListings = make(chan struct{}, MaxLayerListings)

// FileJSON is one entry of a layer's tar stream.
type FileJSON struct {
	Path     string `json:"path"`
	Type     string `json:"type"` // file, dir, symlink, hardlink, other
	Size     int64  `json:"size"`
	Mode     string `json:"mode"`
	Linkname string `json:"linkname,omitempty"`
	Whiteout bool   `json:"whiteout,omitempty"` // a deletion of a lower layer's file
}

// LayerFilesJSON is a layer's listing.
type LayerFilesJSON struct {
	Blob        digest.Digest `json:"blob"`
	Compression string        `json:"compression"`
	Files       []FileJSON    `json:"files"`
	Truncated   string        `json:"truncated,omitempty"`
}

func (q *query) blobFiles(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	d := digest.Digest(mux.Vars(r)["digest"])
	if err := storage.ValidateDigest(d); err != nil {
		return nil, newError(codeDigestInvalid, fmt.Errorf("%.80q: %v", d, err))
	}
	repo := ""
	for _, name := range snap.Links[d] {
		if v == nil || v(name) {
			repo = name
			break
		}
	}
	if repo == "" {
		return nil, newError(codeBlobUnknown, fmt.Errorf("no blob %s in the repositories you may pull", d))
	}
	select {
	case layerListings <- struct{}{}:
		defer func() { <-layerListings }()
	default:
		e := newError(codeTooManyRequests, fmt.Errorf("%d layer listings are being read", MaxLayerListings))
		e.Message = "too many layer listings at once: try again in a few seconds"
		return nil, e
	}
	ctx, cancel := context.WithTimeout(r.Context(), LayerListTimeout)
	defer cancel()
	f, err := q.cache.Store().OpenBlob(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := ListLayer(ctx, f)
	if err != nil {
		return nil, newError(codeBlobUnknown, fmt.Errorf("%s is not a readable layer: %v", d, err))
	}
	out.Blob = d
	return out, nil
}

// ListLayer reads a layer's tar stream and lists its entries, within the
// bounds above and until ctx is done.
func ListLayer(ctx context.Context, blob io.Reader) (*LayerFilesJSON, error) {
	br := bufio.NewReader(blob)
	head, _ := br.Peek(4)
	out := &LayerFilesJSON{Compression: "none", Files: []FileJSON{}}
	var stream io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		out.Compression, stream = "gzip", zr
	case bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		out.Compression, stream = "zstd", zr
	}
	limited := &io.LimitedReader{R: stream, N: MaxLayerRead}
	tr := tar.NewReader(limited)
	for {
		if ctx.Err() != nil {
			out.Truncated = "took longer than " + LayerListTimeout.String()
			return out, nil
		}
		if len(out.Files) == MaxLayerEntries {
			out.Truncated = fmt.Sprintf("more than %d entries", MaxLayerEntries)
			return out, nil
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if limited.N <= 0 {
				out.Truncated = fmt.Sprintf("more than %d MiB of tar stream", MaxLayerRead>>20)
				return out, nil
			}
			if len(out.Files) > 0 {
				out.Truncated = "the stream ends early: " + err.Error()
				return out, nil
			}
			return nil, err
		}
		out.Files = append(out.Files, fileJSON(h))
	}
}

func fileJSON(h *tar.Header) FileJSON {
	f := FileJSON{Path: h.Name, Size: h.Size, Mode: fmt.Sprintf("%04o", h.Mode&0o7777), Linkname: h.Linkname}
	switch h.Typeflag {
	case tar.TypeReg:
		f.Type = "file"
	case tar.TypeDir:
		f.Type = "dir"
	case tar.TypeSymlink:
		f.Type = "symlink"
	case tar.TypeLink:
		f.Type = "hardlink"
	default:
		f.Type = "other"
	}
	base := h.Name[strings.LastIndexByte(h.Name, '/')+1:]
	f.Whiteout = len(base) > len(".wh.") && strings.HasPrefix(base, ".wh.")
	return f
}
