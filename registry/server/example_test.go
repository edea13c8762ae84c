package server_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/server"
)

// Example embeds the registry in a Go program: a store in a temporary
// directory served by httptest, an image pushed and pulled back with
// go-containerregistry.
func Example() {
	root, err := os.MkdirTemp("", "registry-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	cfg := config.Defaults()
	cfg.Root = root
	log := logrus.New()
	log.SetOutput(io.Discard)
	srv, err := server.New(cfg, log)
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	ref, err := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/hello:1.0", name.Insecure)
	if err != nil {
		panic(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		panic(err)
	}
	if err := remote.Write(ref, img); err != nil {
		panic(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		panic(err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	layers, _ := pulled.Layers()
	fmt.Println("same digest:", got == want)
	fmt.Println("layers:", len(layers))
	fmt.Println("repositories:", srv.Store().Stats().Repositories)
	// Output:
	// same digest: true
	// layers: 2
	// repositories: 1
}
