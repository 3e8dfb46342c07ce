package collab_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
)

// These tests run the real yjs 13.6.33 with the real y-websocket 3.1.0
// provider in Node against the hub (MB_TEST_YJS=1).

func TestYjsClientsConverge(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	d := startDriver(t)
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		d.open(n, env.wsURL, "proj-1", env.token(t, "user-"+n, "proj-1", "editor"))
	}
	for _, n := range names {
		d.call("waitSynced", map[string]any{"client": n, "timeoutMs": 5000})
	}
	// Concurrent edits at the same position from every client.
	for round := 0; round < 5; round++ {
		for _, n := range names {
			d.call("insert", map[string]any{"client": n, "index": 0, "text": fmt.Sprintf("%s%d ", n, round)})
		}
	}
	d.call("mapSet", map[string]any{"client": "a", "key": "tempo", "value": 120})
	d.call("mapSet", map[string]any{"client": "b", "key": "tempo", "value": 128})
	want := ""
	waitFor(t, "convergence", func() bool {
		texts := map[string]bool{}
		for _, n := range names {
			texts[d.text(n)] = true
		}
		if len(texts) != 1 {
			return false
		}
		for s := range texts {
			want = s
		}
		return len(want) == 5*4*3
	})
	for _, n := range names {
		if !strings.Contains(want, n+"4 ") {
			t.Errorf("converged text %q lacks %s's edits", want, n)
		}
	}
	// The hub's stored document agrees with the clients.
	if got := storedText(t, env.store, "proj-1"); got != want {
		t.Errorf("stored %q, clients have %q", got, want)
	}
	// Concurrent map sets: every client settles on the same value.
	tempo := func(n string) any {
		j, _ := d.call("json", map[string]any{"client": n})["json"].(map[string]any)
		m, _ := j["m"].(map[string]any)
		return m["tempo"]
	}
	waitFor(t, "map convergence", func() bool {
		v := tempo("a")
		for _, n := range names {
			if w := tempo(n); w == nil || w != v {
				return false
			}
		}
		return true
	})
}

func TestYjsOfflineEditsMerge(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	d := startDriver(t)
	d.open("a", env.wsURL, "p", env.token(t, "ua", "p", "editor"))
	d.open("b", env.wsURL, "p", env.token(t, "ub", "p", "editor"))
	d.call("waitSynced", map[string]any{"client": "a"})
	d.call("waitSynced", map[string]any{"client": "b"})
	d.call("insert", map[string]any{"client": "a", "index": 0, "text": "base."})
	d.call("waitText", map[string]any{"client": "b", "text": "base."})

	d.call("disconnect", map[string]any{"client": "b"})
	d.call("insert", map[string]any{"client": "b", "index": 5, "text": " offline-b"})
	d.call("insert", map[string]any{"client": "a", "index": 0, "text": "online-a "})
	d.call("waitText", map[string]any{"client": "a", "text": "online-a base."})
	d.call("connect", map[string]any{"client": "b"})
	want := "online-a base. offline-b"
	d.call("waitText", map[string]any{"client": "a", "text": want})
	d.call("waitText", map[string]any{"client": "b", "text": want})
	if got := storedText(t, env.store, "p"); got != want {
		t.Errorf("stored %q, want %q", got, want)
	}
}

func TestYjsViewerCannotWrite(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	d := startDriver(t)
	d.open("ed", env.wsURL, "p", env.token(t, "ue", "p", "editor"))
	d.open("view", env.wsURL, "p", env.token(t, "uv", "p", "viewer"))
	d.call("waitSynced", map[string]any{"client": "ed"})
	d.call("waitSynced", map[string]any{"client": "view"})
	d.call("insert", map[string]any{"client": "ed", "index": 0, "text": "score"})
	d.call("waitText", map[string]any{"client": "view", "text": "score"})
	d.call("insert", map[string]any{"client": "view", "index": 0, "text": "HACKED "})
	waitFor(t, "permission denied", func() bool {
		w, _ := d.call("warnings", nil)["warnings"].([]any)
		for _, s := range w {
			if strings.Contains(fmt.Sprint(s), "read-only") {
				return true
			}
		}
		return false
	})
	// A later editor change still reaches everyone; the viewer's never does.
	d.call("insert", map[string]any{"client": "ed", "index": 5, "text": "!"})
	d.call("waitText", map[string]any{"client": "view", "text": "HACKED score!"})
	if got := d.text("ed"); got != "score!" {
		t.Errorf("editor sees %q", got)
	}
	if got := storedText(t, env.store, "p"); got != "score!" {
		t.Errorf("stored %q", got)
	}
}

func TestYjsAwarenessAndRevoke(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	d := startDriver(t)
	d.open("a", env.wsURL, "p", env.token(t, "ua", "p", "editor"))
	d.open("b", env.wsURL, "p", env.token(t, "ub", "p", "editor"))
	d.call("setAwareness", map[string]any{"client": "a", "state": map[string]any{"user": map[string]any{"name": "Ann"}}})
	d.call("setAwareness", map[string]any{"client": "b", "state": map[string]any{"user": map[string]any{"name": "Bob"}}})
	d.call("waitAwareness", map[string]any{"client": "a", "count": 2})
	d.call("waitAwareness", map[string]any{"client": "b", "count": 2})
	// Revoking b cuts it off for good (4403 is permanent for y-websocket),
	// and a sees b's presence go at once.
	if err := env.hub.Revoke(t.Context(), "p", "ub", 0); err != nil {
		t.Fatal(err)
	}
	res := d.call("waitClosed", map[string]any{"client": "b"})
	closes := fmt.Sprint(res["closes"])
	if !strings.Contains(closes, "4403") {
		t.Errorf("b closes = %s, want 4403", closes)
	}
	d.call("waitAwareness", map[string]any{"client": "a", "count": 1})
	st := d.call("status", map[string]any{"client": "b"})
	if st["shouldConnect"] != false {
		t.Errorf("b still reconnecting after 4403: %v", st)
	}
	if got := env.hub.Stats().Conns; got != 1 {
		t.Errorf("hub has %d connections, want 1", got)
	}
}

// TestHocuspocusProvider runs the real @hocuspocus/provider 4.8 against
// the hub: two documents multiplexed on one socket, per-document tokens,
// acknowledged updates, read-only scope, a refused document, and
// interplay with a y-websocket client in the same room.
func TestHocuspocusProvider(t *testing.T) {
	checkGoroutines(t)
	env := newEnv(t, nil, nil)
	hpURL := strings.Replace(env.wsURL, "/collab", "/hocuspocus", 1)
	d := startDriver(t)
	d.call("hpSocket", map[string]any{"socket": "s1", "url": hpURL})
	d.call("hpOpen", map[string]any{"client": "song", "socket": "s1", "name": "song", "token": env.token(t, "u1", "song", "editor")})
	d.call("hpOpen", map[string]any{"client": "demo", "socket": "s1", "name": "demo", "token": env.token(t, "u1", "demo", "viewer")})
	d.call("hpOpen", map[string]any{"client": "secret", "socket": "s1", "name": "secret", "token": env.token(t, "u1", "other", "editor")})
	if res := d.call("hpWaitAuth", map[string]any{"client": "song"}); res["scope"] != "read-write" {
		t.Errorf("song scope = %v", res)
	}
	if res := d.call("hpWaitAuth", map[string]any{"client": "demo"}); res["scope"] != "readonly" {
		t.Errorf("demo scope = %v", res)
	}
	if res := d.call("hpWaitAuth", map[string]any{"client": "secret"}); fmt.Sprint(res["authFailed"]) != "[forbidden]" {
		t.Errorf("secret = %v, want permission denied", res)
	}
	d.call("waitSynced", map[string]any{"client": "song"})
	// A y-websocket client in the same room.
	d.open("yws", env.wsURL, "song", env.token(t, "u2", "song", "editor"))
	d.call("waitSynced", map[string]any{"client": "yws"})

	d.call("insert", map[string]any{"client": "song", "index": 0, "text": "from hocuspocus"})
	d.call("hpWaitAcked", map[string]any{"client": "song"})
	// Acknowledged means durable.
	if got := storedText(t, env.store, "song"); got != "from hocuspocus" {
		t.Errorf("stored %q after the ack", got)
	}
	d.call("waitText", map[string]any{"client": "yws", "text": "from hocuspocus"})
	d.call("insert", map[string]any{"client": "yws", "index": 0, "text": "y-websocket, "})
	d.call("waitText", map[string]any{"client": "song", "text": "y-websocket, from hocuspocus"})

	// The read-only document refuses writes with a negative sync status.
	d.call("insert", map[string]any{"client": "demo", "index": 0, "text": "nope"})
	waitFor(t, "refusal", func() bool {
		st := d.call("hpStatus", map[string]any{"client": "demo"})
		u, _ := st["unsynced"].(float64)
		return u > 0
	})
	if got := storedText(t, env.store, "demo"); got != "" {
		t.Errorf("viewer wrote %q", got)
	}
	// Awareness across protocols.
	d.call("setAwareness", map[string]any{"client": "yws", "state": map[string]any{"name": "y"}})
	waitFor(t, "awareness on the hocuspocus side", func() bool {
		st, _ := d.call("awareness", map[string]any{"client": "song"})["states"].(map[string]any)
		return len(st) >= 1
	})
	d.call("destroy", map[string]any{"client": "song"})
	d.call("destroy", map[string]any{"client": "demo"})
	d.call("destroy", map[string]any{"client": "secret"})
	d.call("hpCloseSocket", map[string]any{"socket": "s1"})
	d.call("destroy", map[string]any{"client": "yws"})
}

// TestYjsReadsDAWDocument: a project document written with collab/daw is
// read by the real yjs in a browser-side client, and a marker the browser
// adds is read back by daw.Read on the server.
func TestYjsReadsDAWDocument(t *testing.T) {
	checkGoroutines(t)
	store := collab.NewMemStore()
	doc := crdt.NewDoc(nil)
	if err := daw.SetSettings(doc, daw.Settings{Name: "Demo", Tempo: 96, TimeSigNum: 3, TimeSigDen: 4, Key: "D major", SampleRate: 44100}); err != nil {
		t.Fatal(err)
	}
	if err := daw.AddTrack(doc, daw.Track{ID: "t1", Name: "Keys", Kind: daw.KindMIDI, Volume: -2,
		Clips: []daw.Clip{{ID: "c1", AssetID: "asset-9", Position: 1.5, Length: 8}}}); err != nil {
		t.Fatal(err)
	}
	u, err := crdt.EncodeStateAsUpdate(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(t.Context(), "song", [][]byte{u}); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, store, nil)
	d := startDriver(t)
	d.open("b", env.wsURL, "song", env.token(t, "ub", "song", "editor"))
	d.call("waitSynced", map[string]any{"client": "b"})
	res := d.call("dawJson", map[string]any{"client": "b"})
	project, _ := res["project"].(map[string]any)
	tracks, _ := res["tracks"].([]any)
	if project["name"] != "Demo" || project["tempo"] != float64(96) || len(tracks) != 1 {
		t.Fatalf("yjs reads %v", res)
	}
	clips, _ := tracks[0].(map[string]any)["clips"].([]any)
	if len(clips) != 1 || clips[0].(map[string]any)["assetId"] != "asset-9" {
		t.Errorf("yjs reads clips %v", clips)
	}
	d.call("dawAddMarker", map[string]any{"client": "b", "id": "m1", "time": 12.5, "name": "Chorus"})
	waitFor(t, "marker stored", func() bool {
		sd, err := store.Load(t.Context(), "song")
		if err != nil {
			return false
		}
		fresh := crdt.NewDoc(nil)
		for _, su := range sd.Updates {
			if err := crdt.ApplyUpdate(fresh, su.Update, nil); err != nil {
				return false
			}
		}
		ms := daw.Read(fresh).Markers
		return len(ms) == 1 && ms[0].Name == "Chorus" && ms[0].Time == 12.5
	})
}
