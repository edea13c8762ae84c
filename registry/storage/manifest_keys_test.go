package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

// TestManifestKeysReadOneWay: keys that Go's decoder would fold together
// (duplicates, case variants of the fields the registry reads, also
// escaped) and invalid UTF-8 are refused; ordinary manifests and maps with
// keys of any case are accepted.
func TestManifestKeysReadOneWay(t *testing.T) {
	t.Parallel()
	cfg, layer := digest.FromString("c"), digest.FromString("l")
	good := string(manifest(cfg, layer, 1, 1, "x"))
	desc := fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":1}`, layer)
	refused := map[string]string{
		"layers and LAYERS":           strings.Replace(good, `"annotations"`, `"LAYERS":[],"annotations"`, 1),
		"lone Layers":                 strings.Replace(good, `"layers"`, `"Layers"`, 1),
		"layers twice":                strings.Replace(good, `"annotations"`, `"layers":[],"annotations"`, 1),
		"escaped case variant":        strings.Replace(good, `"annotations"`, `"l\u0041yers":[],"annotations"`, 1),
		"digest and DIGEST":           strings.Replace(good, `"size":1}]`, `"size":1,"DIGEST":"sha256:`+strings.Repeat("0", 64)+`"}]`, 1),
		"config mediaType twice":      strings.Replace(good, `"config":{`, `"config":{"mediaType":"a/b",`, 1),
		"annotation twice":            strings.Replace(good, `"note":"x"`, `"note":"x","note":"y"`, 1),
		"long s folds to s":           strings.Replace(good, `"annotations"`, `"\u017Fubject":{"mediaType":"a/b","digest":"`+cfg.String()+`","size":1},"annotations"`, 1),
		"invalid UTF-8":               strings.Replace(good, `"note":"x"`, "\"note\":\"\xff\"", 1),
		"platform OS and os":          `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + strings.Replace(desc, `"size":1`, `"size":1,"platform":{"os":"linux","OS":"windows","architecture":"amd64"}`, 1) + `]}`,
		"index with Manifests":        `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"Manifests":[` + desc + `]}`,
		"schemaVersion twice":         strings.Replace(good, `"schemaVersion":2`, `"schemaVersion":2,"schemaVersion":2`, 1),
		"subject with Digest variant": strings.Replace(good, `"annotations"`, `"subject":{"mediaType":"a/b","digest":"`+cfg.String()+`","size":1,"Digest":"x"},"annotations"`, 1),
	}
	for name, body := range refused {
		_, err := storage.ParseManifest(storage.MediaTypeOCIManifest, []byte(body))
		if name == "platform OS and os" || name == "index with Manifests" {
			_, err = storage.ParseManifest(storage.MediaTypeOCIIndex, []byte(body))
		}
		if !errors.Is(err, storage.ErrManifestInvalid) {
			t.Errorf("%s: %v, want MANIFEST_INVALID", name, err)
		}
	}
	accepted := map[string]string{
		"plain":                         good,
		"annotations differing in case": strings.Replace(good, `"note":"x"`, `"note":"x","Note":"y","NOTE":"z"`, 1),
		"unknown keys in any case":      strings.Replace(good, `"annotations"`, `"Extra":1,"extra":2,"annotations"`, 1),
	}
	for name, body := range accepted {
		if _, err := storage.ParseManifest(storage.MediaTypeOCIManifest, []byte(body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkParseManifest parses a manifest near the 4 MiB limit.
func BenchmarkParseManifest(b *testing.B) {
	var layers []string
	for i := 0; len(layers)*160 < 4<<20-4096; i++ {
		layers = append(layers, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}`, digest.FromString(fmt.Sprint(i)), i))
	}
	body := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":1},"layers":[%s]}`,
		digest.FromString("c"), strings.Join(layers, ",")))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := storage.ParseManifest(storage.MediaTypeOCIManifest, body); err != nil {
			b.Fatal(err)
		}
	}
}
