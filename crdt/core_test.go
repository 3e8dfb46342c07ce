package crdt

import (
	"encoding/hex"
	"testing"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestTextInsertBytes(t *testing.T) {
	d := NewDoc(&DocOptions{ClientID: 7})
	var got []byte
	d.OnUpdate(func(u []byte, _ any, _ *Transaction) { got = u })
	if err := d.GetText("t").Insert(0, "hi"); err != nil {
		t.Fatal(err)
	}
	if want := "010107000401017402686900"; hex.EncodeToString(got) != want {
		t.Fatalf("update %x, want %s", got, want)
	}
	full, err := EncodeStateAsUpdate(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "010107000401017402686900"; hex.EncodeToString(full) != want {
		t.Fatalf("state %x, want %s", full, want)
	}
	v2, err := EncodeStateAsUpdateV2(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0000010700000104060374686901020101000001010000"; hex.EncodeToString(v2) != want {
		t.Fatalf("v2 %x, want %s", v2, want)
	}
	if sv := EncodeStateVector(d); hex.EncodeToString(sv) != "010702" {
		t.Fatalf("sv %x", sv)
	}
}
