package filesystem

import (
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/drivertest"
)

func TestDriver(t *testing.T) {
	t.Parallel()
	drivertest.Run(t, drivertest.Suite{New: func(t *testing.T) (driver.Driver, func() driver.Driver) {
		root := t.TempDir()
		d, err := New(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d, func() driver.Driver {
			d, err := New(root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}})
}
