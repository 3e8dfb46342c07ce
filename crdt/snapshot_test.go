package crdt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const snapshotFixtures = "testdata/snapshot/snapshots.json"

// snapshotHistory is one history written by testdata/yjs/snapshot.mjs.
type snapshotHistory struct {
	Name      string      `json:"name"`
	Roots     [][2]string `json:"roots"`
	Updates   []string    `json:"updates"`
	UpdatesV2 []string    `json:"updatesV2"`
	Points    []struct {
		V1       string            `json:"v1"`
		V2       string            `json:"v2"`
		JSON     map[string]string `json:"json"`
		State    string            `json:"state"`
		Contains []bool            `json:"contains"`
		Equal    []int             `json:"equal"`
	} `json:"points"`
	Empty   string `json:"empty"`
	EmptyV2 string `json:"emptyV2"`
}

func loadSnapshotFixtures(t *testing.T) []snapshotHistory {
	t.Helper()
	if *updateFixtures {
		cmd := exec.Command("node", "snapshot.mjs", filepath.Join("..", "snapshot", "snapshots.json"))
		cmd.Dir = yjsDir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("recording snapshot fixtures with node (run `npm ci` in %s first): %v", yjsDir, err)
		}
	}
	data, err := os.ReadFile(snapshotFixtures)
	if err != nil {
		t.Fatal(err)
	}
	var hs []snapshotHistory
	if err := json.Unmarshal(data, &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs) < 4 {
		t.Fatalf("only %d snapshot histories in %s", len(hs), snapshotFixtures)
	}
	return hs
}

// TestYjsSnapshots replays the histories recorded from yjs 13.6.33, takes a
// snapshot after every update and checks its v1/v2 encoding, decoding,
// equality, the document rebuilt from it and snapshotContainsUpdate
// against what yjs computed.
func TestYjsSnapshots(t *testing.T) {
	for _, h := range loadSnapshotFixtures(t) {
		t.Run(h.Name, func(t *testing.T) {
			updates := unhexAll(t, h.Updates)
			updatesV2 := unhexAll(t, h.UpdatesV2)
			d := NewDoc(&DocOptions{ClientID: receiverClient, DisableGC: true})
			snaps := []Snapshot{SnapshotOf(d)}
			for i, u := range updates {
				if err := ApplyUpdate(d, u, "remote"); err != nil {
					t.Fatalf("update %d: %v", i, err)
				}
				snaps = append(snaps, SnapshotOf(d))
			}
			if len(snaps) != len(h.Points) {
				t.Fatalf("%d snapshots, yjs took %d", len(snaps), len(h.Points))
			}
			for i, p := range h.Points {
				s := snaps[i]
				checkBytes(t, "EncodeSnapshot", p.V1)(EncodeSnapshot(s), nil)
				checkBytes(t, "EncodeSnapshotV2", p.V2)(EncodeSnapshotV2(s), nil)
				for _, dec := range []struct {
					name string
					f    func([]byte) (Snapshot, error)
					b    string
				}{{"DecodeSnapshot", DecodeSnapshot, p.V1}, {"DecodeSnapshotV2", DecodeSnapshotV2, p.V2}} {
					got, err := dec.f(unhex(t, dec.b))
					if err != nil {
						t.Fatalf("point %d: %s: %v", i, dec.name, err)
					}
					if !EqualSnapshots(got, s) {
						t.Errorf("point %d: %s = %+v, want %+v", i, dec.name, got, s)
					}
				}
				var equal []int
				for j := range snaps {
					if EqualSnapshots(s, snaps[j]) {
						equal = append(equal, j)
					}
				}
				if diff := cmp.Diff(p.Equal, equal); diff != "" {
					t.Errorf("point %d: EqualSnapshots (-yjs +go):\n%s", i, diff)
				}
				for j := range updates {
					got, err := SnapshotContainsUpdate(s, updates[j])
					if err != nil || got != p.Contains[j] {
						t.Errorf("point %d: SnapshotContainsUpdate(update %d) = %v, %v; want %v", i, j, got, err, p.Contains[j])
					}
					got, err = SnapshotContainsUpdateV2(s, updatesV2[j])
					if err != nil || got != p.Contains[j] {
						t.Errorf("point %d: SnapshotContainsUpdateV2(update %d) = %v, %v; want %v", i, j, got, err, p.Contains[j])
					}
				}
			}
			// Rebuild each point from the final document, as yjs did.
			before, _ := EncodeStateAsUpdate(d, nil)
			for i, p := range h.Points {
				r, err := CreateDocFromSnapshot(d, snaps[i], nil)
				if err != nil {
					t.Fatalf("point %d: CreateDocFromSnapshot: %v", i, err)
				}
				if diff := cmp.Diff(p.JSON, docCanonJSON(t, r, h.Roots)); diff != "" {
					t.Errorf("point %d: restored JSON (-yjs +go):\n%s", i, diff)
				}
				checkBytes(t, "restored EncodeStateAsUpdate", p.State)(EncodeStateAsUpdate(r, nil))
			}
			after, _ := EncodeStateAsUpdate(d, nil)
			if hex.EncodeToString(before) != hex.EncodeToString(after) {
				t.Errorf("CreateDocFromSnapshot changed the origin document")
			}
			checkBytes(t, "EncodeSnapshot(EmptySnapshot())", h.Empty)(EncodeSnapshot(EmptySnapshot()), nil)
			checkBytes(t, "EncodeSnapshotV2(EmptySnapshot())", h.EmptyV2)(EncodeSnapshotV2(EmptySnapshot()), nil)
		})
	}
}

func TestSnapshotErrors(t *testing.T) {
	gcDoc := NewDoc(&DocOptions{ClientID: 1})
	_ = gcDoc.GetText("t").Insert(0, "abc")
	if _, err := CreateDocFromSnapshot(gcDoc, SnapshotOf(gcDoc), nil); !errors.Is(err, ErrGCEnabled) {
		t.Errorf("CreateDocFromSnapshot on a gc doc: err = %v, want ErrGCEnabled", err)
	}
	d := NewDoc(&DocOptions{ClientID: 1, DisableGC: true})
	_ = d.GetText("t").Insert(0, "abc")
	ahead := Snapshot{StateVector: map[uint64]uint64{1: 10}}
	if _, err := CreateDocFromSnapshot(d, ahead, nil); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("CreateDocFromSnapshot with a snapshot ahead of the doc: err = %v, want ErrInvalidSnapshot", err)
	}
	good := EncodeSnapshot(SnapshotOf(d))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"huge range count", []byte{1, 5, 0xff, 0xff, 0xff, 0x0f}},
		{"empty range", []byte{1, 5, 1, 0, 0, 0}},
	} {
		if _, err := DecodeSnapshot(tc.b); !errors.Is(err, ErrInvalidSnapshot) {
			t.Errorf("DecodeSnapshot(%s): err = %v, want ErrInvalidSnapshot", tc.name, err)
		}
	}
	if _, err := SnapshotContainsUpdate(SnapshotOf(d), []byte{5}); !errors.Is(err, ErrMalformedUpdate) {
		t.Errorf("SnapshotContainsUpdate(garbage): err = %v, want ErrMalformedUpdate", err)
	}
}

// FuzzDecodeSnapshot checks that any input decodes or fails with
// ErrInvalidSnapshot, and that decoded snapshots round-trip and rebuild a
// document (or fail) without panicking.
func FuzzDecodeSnapshot(f *testing.F) {
	d := NewDoc(&DocOptions{ClientID: 1, DisableGC: true})
	_ = d.GetText("t").Insert(0, "hello")
	_ = d.GetText("t").Delete(1, 2)
	f.Add(EncodeSnapshot(SnapshotOf(d)))
	f.Add(EncodeSnapshot(EmptySnapshot()))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("error %v does not wrap ErrInvalidSnapshot", err)
			}
			return
		}
		again, err := DecodeSnapshot(EncodeSnapshot(s))
		if err != nil || !EqualSnapshots(s, again) {
			t.Fatalf("round trip: %v, %+v != %+v", err, again, s)
		}
		if _, err := CreateDocFromSnapshot(d, s, nil); err != nil && !errors.Is(err, ErrInvalidSnapshot) && !errors.Is(err, ErrMalformedUpdate) {
			t.Fatalf("CreateDocFromSnapshot: unexpected error %v", err)
		}
	})
}
