module github.com/layerlab/layerlab

go 1.26.8

require (
	github.com/gorilla/mux v1.8.1
	github.com/opencontainers/go-digest v1.0.0
	github.com/opencontainers/image-spec v1.1.1
	github.com/sirupsen/logrus v1.10.2
)

require golang.org/x/sys v0.48.0 // indirect
