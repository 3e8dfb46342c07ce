package collab

import "github.com/maxbooster/maxbooster/crdt"

// SetApplyUpdate replaces the room's update function (to simulate an
// integration failing part-way) until the returned restore is called.
func SetApplyUpdate(f func(*crdt.Doc, []byte, any) error) (restore func()) {
	old := applyUpdate
	applyUpdate = f
	return func() { applyUpdate = old }
}
