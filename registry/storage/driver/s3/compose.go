package s3

import (
	"context"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	// maxPieceSize bounds what one part takes of a chunk, so that a part
	// streamed from small chunks plus a piece stays under S3's 5 GiB.
	maxPieceSize   = 4 << 30
	timeoutCleanup = 30 * time.Second
	// composeCopies is how many server-side part copies of one upload's
	// close run at once.
	composeCopies = 4
)

// piece is a byte range of a chunk object.
type piece struct {
	key       string
	off, size int64
}

// partPlan is one part of a composed object: a server-side copy of one
// piece, or the listed pieces streamed through the driver.
type partPlan struct {
	copy   bool
	pieces []piece
	size   int64
}

// planParts maps chunks onto parts that S3 accepts: every part but the
// last at least minPart bytes, none over 5 GiB. A piece of minPart bytes or
// more that starts a part is copied server-side; smaller ones are grouped
// until their part reaches minPart.
func planParts(chunks []chunk, minPart, maxPiece int64) []partPlan {
	var pieces []piece
	for _, c := range chunks {
		for off := int64(0); off < c.Size; off += maxPiece {
			pieces = append(pieces, piece{c.Key, off, min(maxPiece, c.Size-off)})
		}
	}
	var plans []partPlan
	var group partPlan
	for i, p := range pieces {
		if len(group.pieces) == 0 && (p.size >= minPart || i == len(pieces)-1) {
			plans = append(plans, partPlan{copy: true, pieces: []piece{p}, size: p.size})
			continue
		}
		group.pieces = append(group.pieces, p)
		group.size += p.size
		if group.size >= minPart {
			plans = append(plans, group)
			group = partPlan{}
		}
	}
	if len(group.pieces) > 0 {
		plans = append(plans, group)
	}
	return plans
}

// pieceReader streams pieces one after the other, one ranged GET each.
type pieceReader struct {
	ctx    context.Context
	d      *Driver
	pieces []piece
	body   io.ReadCloser
	left   int64
}

func (r *pieceReader) Read(p []byte) (int, error) {
	for r.body == nil {
		if len(r.pieces) == 0 {
			return 0, io.EOF
		}
		pc := r.pieces[0]
		r.pieces = r.pieces[1:]
		if pc.size == 0 {
			continue
		}
		var opts minio.GetObjectOptions
		if err := opts.SetRange(pc.off, pc.off+pc.size-1); err != nil {
			return 0, err
		}
		body, _, _, err := r.d.core.GetObject(r.ctx, r.d.bucket, r.d.prefix+pc.key, opts)
		if err != nil {
			return 0, mapErr(pc.key, err)
		}
		r.body, r.left = body, pc.size
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	r.left -= int64(n)
	if r.left == 0 {
		r.body.Close()
		r.body = nil
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *pieceReader) Close() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	return nil
}
