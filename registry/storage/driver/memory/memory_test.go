package memory

import (
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/drivertest"
)

func TestDriver(t *testing.T) {
	t.Parallel()
	drivertest.Run(t, drivertest.Suite{InMemory: true, Large: 16 << 20, New: func(t *testing.T) (driver.Driver, func() driver.Driver) {
		d := New()
		return d, func() driver.Driver { return d.Share() }
	}})
}
