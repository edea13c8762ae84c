package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// A session started on one replica and ended on another no longer counts
// against its client on the first: the limit is of sessions open in the
// store, not of sessions this process once started.
func TestUploadLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := memory.New()
	open := func() *storage.Store {
		s, err := storage.Open("", storage.Options{Driver: m.Share()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	const client, max = "203.0.113.1", 2
	var ids []string
	for range max {
		id, err := a.StartUploadFor(ctx, "lab/app", digest.SHA256, client, max)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := a.StartUploadFor(ctx, "lab/app", digest.SHA256, client, max); !errors.Is(err, storage.ErrTooManyUploads) {
		t.Fatalf("a third session with two open: %v, want ErrTooManyUploads", err)
	}
	// The other replica ends one session: cancelled.
	if err := b.CancelUpload(ctx, "lab/app", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartUploadFor(ctx, "lab/app", digest.SHA256, client, max); err != nil {
		t.Fatalf("a session after the other replica ended one: %v", err)
	}
	// Two open again (ids[1] and the new one): still refused.
	if _, err := a.StartUploadFor(ctx, "lab/app", digest.SHA256, client, max); !errors.Is(err, storage.ErrTooManyUploads) {
		t.Fatalf("a third session with two open: %v, want ErrTooManyUploads", err)
	}
}
