package store_test

import (
	"testing"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/collabtest"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func TestDocStoreConformance(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		s := store.NewDocStore(db, nil)
		t.Cleanup(func() { _ = s.Close() })
		collabtest.TestDocStore(t, func(*testing.T) collab.DocStore { return s })
	})
}
