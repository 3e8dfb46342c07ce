package crdt

import (
	"errors"
	"testing"
)

// An internal failure during integration is reported as ErrDocDamaged
// (and ErrMalformedUpdate), not as a panic, after the document was partly
// changed.
func TestIntegrationPanicReportsDamage(t *testing.T) {
	src := NewDoc(&DocOptions{ClientID: 1})
	var update []byte
	src.OnUpdate(func(u []byte, _ any, _ *Transaction) { update = u })
	if err := src.GetText("t").Insert(0, "hello"); err != nil {
		t.Fatal(err)
	}
	dst := NewDoc(nil)
	integrateFault = func(tx *Transaction) {
		if err := tx.doc.GetMap("m").Set("half", true); err != nil {
			t.Error(err)
		}
		panic("simulated bug")
	}
	defer func() { integrateFault = nil }()
	err := ApplyUpdate(dst, update, nil)
	if !errors.Is(err, ErrDocDamaged) || !errors.Is(err, ErrMalformedUpdate) {
		t.Fatalf("ApplyUpdate = %v, want ErrDocDamaged and ErrMalformedUpdate", err)
	}
	integrateFault = nil
	// The document is usable afterwards (a later transaction works).
	if err := ApplyUpdate(dst, update, nil); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	if got := dst.GetText("t").String(); got != "hello" {
		t.Errorf("text = %q", got)
	}
}
