package collab_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/crdt"
)

var update = flag.Bool("update", false, "re-record testdata/protocol_vectors.json with Node (needs npm ci in testdata/client)")

type vector struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Hex     string `json:"hex"`
	Payload string `json:"payload"`
	Reason  string `json:"reason"`
	Entries []struct {
		Client uint64 `json:"client"`
		Clock  uint64 `json:"clock"`
		State  string `json:"state"`
	} `json:"entries"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	if *update {
		cmd := exec.Command("node", "record.mjs")
		cmd.Dir = filepath.Join("testdata", "client")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("record.mjs: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "protocol_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtocolVectors parses frames recorded from y-protocols and checks
// that re-encoding them gives the same bytes.
func TestProtocolVectors(t *testing.T) {
	wantType := map[string]collab.Message{
		"sync1":     {Type: collab.MessageSync, Sync: collab.SyncStep1},
		"sync2":     {Type: collab.MessageSync, Sync: collab.SyncStep2},
		"update":    {Type: collab.MessageSync, Sync: collab.SyncUpdate},
		"awareness": {Type: collab.MessageAwareness},
		"auth":      {Type: collab.MessageAuth},
		"query":     {Type: collab.MessageQueryAwareness},
	}
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			frame := mustHex(t, v.Hex)
			m, err := collab.ParseMessage(frame)
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			want := wantType[v.Kind]
			if m.Type != want.Type || m.Sync != want.Sync {
				t.Errorf("type = %d/%d, want %d/%d", m.Type, m.Sync, want.Type, want.Sync)
			}
			if v.Payload != "" && !bytes.Equal(m.Payload, mustHex(t, v.Payload)) {
				t.Errorf("payload = %x, want %s", m.Payload, v.Payload)
			}
			if m.Reason != v.Reason {
				t.Errorf("reason = %q, want %q", m.Reason, v.Reason)
			}
			if got := collab.AppendMessage(nil, m); !bytes.Equal(got, frame) {
				t.Errorf("re-encoded = %x, want %x", got, frame)
			}
			if v.Kind == "awareness" {
				entries, err := collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{})
				if err != nil {
					t.Fatalf("DecodeAwarenessUpdate: %v", err)
				}
				if len(entries) != len(v.Entries) {
					t.Fatalf("%d entries, want %d", len(entries), len(v.Entries))
				}
				for i, e := range entries {
					w := v.Entries[i]
					if e.ClientID != w.Client || e.Clock != w.Clock || string(e.State) != w.State {
						t.Errorf("entry %d = %d/%d/%s, want %d/%d/%s", i, e.ClientID, e.Clock, e.State, w.Client, w.Clock, w.State)
					}
				}
				if got := collab.EncodeAwarenessUpdate(entries); !bytes.Equal(got, m.Payload) {
					t.Errorf("awareness re-encoded = %x, want %x", got, m.Payload)
				}
			}
		})
	}
}

// TestServerFramesMatchYjs builds the hub's own frames from a crdt.Doc and
// compares them with the ones y-protocols wrote for the same document.
func TestServerFramesMatchYjs(t *testing.T) {
	vs := map[string]vector{}
	for _, v := range loadVectors(t) {
		vs[v.Name] = v
	}
	doc := crdt.NewDoc(&crdt.DocOptions{ClientID: 7})
	if got, want := collab.EncodeSync(collab.SyncStep1, crdt.EncodeStateVector(doc)), mustHex(t, vs["sync step 1, empty doc"].Hex); !bytes.Equal(got, want) {
		t.Errorf("empty step 1 = %x, want %x", got, want)
	}
	empty, err := crdt.EncodeStateAsUpdate(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := collab.EncodeSync(collab.SyncStep2, empty), mustHex(t, vs["sync step 2, empty doc"].Hex); !bytes.Equal(got, want) {
		t.Errorf("empty step 2 = %x, want %x", got, want)
	}
	if err := crdt.ApplyUpdate(doc, mustHex(t, vs[`update insert "hi"`].Payload), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := collab.EncodeSync(collab.SyncStep1, crdt.EncodeStateVector(doc)), mustHex(t, vs[`sync step 1 after "hi"`].Hex); !bytes.Equal(got, want) {
		t.Errorf("step 1 = %x, want %x", got, want)
	}
	if got, want := collab.EncodePermissionDenied("read-only"), mustHex(t, vs["permission denied"].Hex); !bytes.Equal(got, want) {
		t.Errorf("permission denied = %x, want %x", got, want)
	}
}

func TestParseMessageErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame string
	}{
		{"empty", ""},
		{"unknown type", "04"},
		{"huge type", "ffffffffffffffffff01"},
		{"unknown sync type", "000300"},
		{"sync truncated", "0000"},
		{"sync payload short", "000005 0102"},
		{"awareness truncated", "01"},
		{"auth unknown", "0201"},
		{"auth bad utf8", "020001ff"},
		{"trailing bytes", "0300"},
		{"sync trailing", "0000010000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(removeSpaces(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			_, err = collab.ParseMessage(b)
			if !errors.Is(err, collab.ErrMalformedMessage) {
				t.Errorf("ParseMessage(%s) error = %v, want ErrMalformedMessage", tt.frame, err)
			}
		})
	}
}

func removeSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func TestDecodeAwarenessLimits(t *testing.T) {
	big := collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 1, Clock: 1, State: json.RawMessage(`"` + string(bytes.Repeat([]byte("x"), 100)) + `"`)}})
	many := collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 1, Clock: 1, State: json.RawMessage(`1`)}, {ClientID: 2, Clock: 1, State: json.RawMessage(`2`)}})
	notJSON := collab.EncodeAwarenessUpdate([]collab.AwarenessEntry{{ClientID: 1, Clock: 1, State: json.RawMessage(`{nope`)}})
	tests := []struct {
		name   string
		update []byte
		lim    collab.AwarenessLimits
		want   error
	}{
		{"state too big", big, collab.AwarenessLimits{MaxStateBytes: 50}, collab.ErrMessageTooLarge},
		{"too many entries", many, collab.AwarenessLimits{MaxEntries: 1}, collab.ErrMessageTooLarge},
		{"not json", notJSON, collab.AwarenessLimits{}, collab.ErrMalformedMessage},
		{"count exceeds input", []byte{0x7f, 1, 1, 0}, collab.AwarenessLimits{}, collab.ErrMalformedMessage},
		{"trailing", append(bytes.Clone(many), 0), collab.AwarenessLimits{}, collab.ErrMalformedMessage},
		{"within limits", many, collab.AwarenessLimits{MaxEntries: 2, MaxStateBytes: 10}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collab.DecodeAwarenessUpdate(tt.update, tt.lim)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAwarenessRules(t *testing.T) {
	now := time.Unix(1000, 0)
	a := collab.NewAwareness()
	st := func(s string) json.RawMessage { return json.RawMessage(s) }
	// Connection 1 introduces client 10.
	got := a.Apply([]collab.AwarenessEntry{{ClientID: 10, Clock: 1, State: st(`{"n":1}`)}}, 1, now, 0)
	if len(got) != 1 {
		t.Fatalf("first state not accepted: %v", got)
	}
	// Same clock again: refused (y-protocols needs a newer clock).
	if got := a.Apply([]collab.AwarenessEntry{{ClientID: 10, Clock: 1, State: st(`{"n":2}`)}}, 1, now, 0); len(got) != 0 {
		t.Errorf("same clock accepted: %v", got)
	}
	// Another connection may not overwrite or remove client 10.
	if got := a.Apply([]collab.AwarenessEntry{{ClientID: 10, Clock: 5, State: st(`null`)}}, 2, now, 0); len(got) != 0 {
		t.Errorf("foreign removal accepted: %v", got)
	}
	// Equal clock with null removes (y-protocols rule).
	if got := a.Apply([]collab.AwarenessEntry{{ClientID: 10, Clock: 1, State: st(`null`)}}, 1, now, 0); len(got) != 1 {
		t.Errorf("removal at equal clock refused")
	}
	if a.Len() != 0 {
		t.Errorf("Len = %d after removal", a.Len())
	}
	// Limit of ids per connection.
	got = a.Apply([]collab.AwarenessEntry{
		{ClientID: 20, Clock: 1, State: st(`1`)}, {ClientID: 21, Clock: 1, State: st(`1`)}, {ClientID: 22, Clock: 1, State: st(`1`)},
	}, 3, now, 2)
	if len(got) != 2 {
		t.Errorf("accepted %d states with maxOwned 2", len(got))
	}
	// Closing connection 3 removes its states with bumped clocks.
	gone := a.RemoveOwner(3, now)
	want := map[uint64]uint64{20: 2, 21: 2}
	gotClocks := map[uint64]uint64{}
	for _, e := range gone {
		if !e.Removed() {
			t.Errorf("RemoveOwner entry %d not a removal", e.ClientID)
		}
		gotClocks[e.ClientID] = e.Clock
	}
	if diff := cmp.Diff(want, gotClocks); diff != "" {
		t.Errorf("RemoveOwner (-want +got):\n%s", diff)
	}
	// Expiry after the timeout.
	a.Apply([]collab.AwarenessEntry{{ClientID: 30, Clock: 1, State: st(`1`)}}, 4, now, 0)
	if gone := a.Expire(now.Add(10*time.Second), 30*time.Second); len(gone) != 0 {
		t.Errorf("expired too early: %v", gone)
	}
	if gone := a.Expire(now.Add(31*time.Second), 30*time.Second); len(gone) != 1 || gone[0].ClientID != 30 {
		t.Errorf("Expire = %v, want client 30", gone)
	}
}

// FuzzParseMessage feeds arbitrary frames to the protocol reader: it must
// never panic, and whatever it accepts must re-encode to the same bytes.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"00000100", "0001020000", "00020c010107000401017402686900", "0119010701157b2275736572223a7b226e616d65223a2241227d7d", "020009726561642d6f6e6c79", "03", "0108010702046e756c6c"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := collab.ParseMessage(frame)
		if err != nil {
			if !errors.Is(err, collab.ErrMalformedMessage) {
				t.Fatalf("error %v does not wrap ErrMalformedMessage", err)
			}
			return
		}
		if got := collab.AppendMessage(nil, m); !bytes.Equal(got, frame) {
			// Non-minimal varUints decode but re-encode shorter; anything
			// else is a bug.
			m2, err := collab.ParseMessage(got)
			if err != nil || m2.Type != m.Type || m2.Sync != m.Sync || !bytes.Equal(m2.Payload, m.Payload) || m2.Reason != m.Reason {
				t.Fatalf("round trip of %x gave %x (%v)", frame, got, err)
			}
		}
		if m.Type == collab.MessageAwareness {
			entries, err := collab.DecodeAwarenessUpdate(m.Payload, collab.AwarenessLimits{MaxEntries: 64, MaxStateBytes: 1 << 14})
			if err == nil {
				a := collab.NewAwareness()
				a.Apply(entries, 1, time.Now(), 8)
				a.RemoveOwner(1, time.Now())
			}
		}
	})
}
