package collab_test

import (
	"testing"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/collabtest"
)

func TestMemStoreConformance(t *testing.T) {
	s := collab.NewMemStore()
	collabtest.TestDocStore(t, func(*testing.T) collab.DocStore { return s })
}

func TestLocalBusConformance(t *testing.T) {
	checkGoroutines(t)
	b := collab.NewLocalBus()
	collabtest.TestBus(t, func(*testing.T) collab.Bus { return b })
}
