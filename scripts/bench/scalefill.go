package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

// The scale benchmark's store: n repositories, one tiny image each (its
// own config, three of 50 shared layers), written straight through the
// storage package (no fsync) — a store the registry then serves as if it
// had been pushed.

const sharedLayers = 50

func scaleRepo(i int) string { return fmt.Sprintf("scale/r%06d", i) }

type blobDesc struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

type layer struct {
	desc blobDesc
	data []byte
}

func sharedLayer(k int) layer {
	data := bytes.Repeat([]byte(fmt.Sprintf("shared layer %d\n", k)), 64)
	return layer{blobDesc{"application/vnd.oci.image.layer.v1.tar", digest.FromBytes(data), int64(len(data))}, data}
}

// fillStore writes every step-th repository of [from, to) into the store
// at root.
func fillStore(root string, from, to, workers, step int) {
	ctx := context.Background()
	st, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		fatal(err)
	}
	layers := make([]layer, sharedLayers)
	for k := range layers {
		layers[k] = sharedLayer(k)
	}
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(int64(step)) - int64(step)); i < to; i = int(next.Add(int64(step)) - int64(step)) {
				fillRepo(ctx, st, layers, i)
			}
		}()
	}
	wg.Wait()
}

// With -scale-keep, a size's store is filled once and kept: a later run
// reuses it. The run deletes every tenth image (and gc removes what only
// they referenced), so a reused store first gets those images again; the
// fill is deterministic, so they come back with the same digests.

const filledMark = ".filled"

// refillKept reports whether a store filled before is kept at root, and
// writes again the images a previous run deleted.
func refillKept(root string, n int) bool {
	if _, err := os.Stat(root + filledMark); err != nil {
		os.RemoveAll(root) // a fill that did not finish
		return false
	}
	fillStore(root, 0, n, 4, 10)
	return true
}

// markFilled records that the store at root is complete, when it is kept.
func markFilled(root string, kept bool) {
	if kept {
		if err := os.WriteFile(root+filledMark, nil, 0o644); err != nil {
			fatal(err)
		}
	}
}

func fillRepo(ctx context.Context, st *storage.Store, layers []layer, i int) {
	name := scaleRepo(i)
	var refs []blobDesc
	for _, k := range []int{i % sharedLayers, (i + 7) % sharedLayers, (i + 19) % sharedLayers} {
		l := layers[k]
		if _, err := st.PutBlob(ctx, name, l.desc.Digest, l.desc.Size, bytes.NewReader(l.data)); err != nil {
			fatal(err)
		}
		refs = append(refs, l.desc)
	}
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": map[string]string{"repo": name}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}})
	cd := blobDesc{"application/vnd.oci.image.config.v1+json", digest.FromBytes(config), int64(len(config))}
	if _, err := st.PutBlob(ctx, name, cd.Digest, cd.Size, bytes.NewReader(config)); err != nil {
		fatal(err)
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": cd, "layers": refs})
	if _, _, err := st.PutManifest(ctx, name, "latest", "application/vnd.oci.image.manifest.v1+json", m, nil); err != nil {
		fatal(fmt.Errorf("manifest of %s: %w", name, err))
	}
}

// manifestDigest is the digest of repository i's manifest, as the fill
// wrote it (the benchmark deletes some by digest).
func manifestDigest(addr string, i int) string {
	resp := get(addr, "/v2/"+scaleRepo(i)+"/manifests/latest")
	resp.Body.Close()
	return resp.Header.Get("Docker-Content-Digest")
}
