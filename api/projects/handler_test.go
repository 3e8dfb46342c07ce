package projects_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/apitest"
	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
	"github.com/maxbooster/maxbooster/api/projects"
	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// clock is the projects module's clock in a test: real time plus an
// offset the test moves forward.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// env is the whole API (api.NewHandler: session, collab hub, projects)
// over a real database.
type env struct {
	srv   *apitest.Server
	db    *store.DB
	clock *clock
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	clk := &clock{}
	srv := apitest.New(t, db, func(d *api.Deps) {
		d.Projects = projects.Settings{Now: clk.Now, PurgeEvery: 20 * time.Millisecond}
	})
	return &env{srv: srv, db: db, clock: clk}
}

// client checks every response against the OpenAPI document.
type client struct {
	c    *apitest.Client
	user session.User
}

func (e *env) anon() *client { return &client{c: e.srv.Client()} }

func (c *client) do(t *testing.T, method, path string, body any) *apitest.Response {
	t.Helper()
	res := c.c.Do(t, method, path, body)
	p, _, _ := strings.Cut(path, "?")
	if err := openapitest.Validator(t).CheckResponse(method, p, res.Status, res.Header.Get("Content-Type"), res.Body); err != nil {
		t.Errorf("openapi: %v", err)
	}
	return res
}

// register creates an account through the API and returns its client,
// logged in.
func (e *env) register(t *testing.T, email, name string) *client {
	t.Helper()
	c := e.anon()
	res := c.do(t, http.MethodPost, "/api/v1/auth/register", map[string]string{
		"email": email, "password": "a long enough passphrase 42", "displayName": name,
	})
	res.WantStatus(t, http.StatusCreated)
	var u struct {
		User session.User `json:"user"`
	}
	res.JSON(t, &u)
	c.user = u.User
	// httptest.Server.Client returns one shared *http.Client, and
	// apitest.Server.Client swaps its cookie jar, so clients made one after
	// another end up sharing the newest jar. Each user therefore acts with
	// a personal access token of its own, made while its cookie is current.
	var tok struct {
		Token string `json:"token"`
	}
	res = c.do(t, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "test", "scopes": []string{"read", "write"}})
	res.WantStatus(t, http.StatusCreated)
	if err := json.Unmarshal(res.Body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %s, %v", res.Body, err)
	}
	c.c.Header.Set("Authorization", "Bearer "+tok.Token)
	return c
}

func decode[T any](t *testing.T, res *apitest.Response, status int) T {
	t.Helper()
	res.WantStatus(t, status)
	var v T
	res.JSON(t, &v)
	return v
}

var inviteLink = regexp.MustCompile(`/invite/(mbi_[A-Za-z0-9_-]+)`)

// inviteToken waits for the invitation mail to addr in the outbox and
// returns the token from its link.
func (e *env) inviteToken(t *testing.T, addr string, skip int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := session.NewStore(e.db).Outbox(context.Background(), addr, 20)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, m := range msgs { // newest first
			if m.Subject == "You are invited to a Max Booster project" {
				if sm := inviteLink.FindStringSubmatch(m.Text); sm != nil {
					found = append(found, sm[1])
				}
			}
		}
		if len(found) > skip {
			return found[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no invitation mail to %s", addr)
	return ""
}

// dial opens a y-websocket connection with a room token and syncs (sync
// step 1 → step 2), so the room has taken it in and a revocation sent
// afterwards finds it.
func (e *env) dial(t *testing.T, rt projects.RoomToken, projectID string) *websocket.Conn {
	t.Helper()
	c := e.dialRaw(t, rt, projectID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, collab.EncodeSync(collab.SyncStep1, crdt.EncodeStateVector(crdt.NewDoc(nil)))); err != nil {
		t.Fatalf("sync step 1: %v", err)
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for sync step 2: %v", err)
		}
		if m, err := collab.ParseMessage(b); err == nil && m.Type == collab.MessageSync && m.Sync == collab.SyncStep2 {
			return c
		}
	}
}

// dialRaw opens a y-websocket connection with a room token.
func (e *env) dialRaw(t *testing.T, rt projects.RoomToken, projectID string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, rt.URL+"/"+projectID+"?token="+rt.Token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.srv.URL}}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", rt.URL, err)
	}
	c.SetReadLimit(32 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, update []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, collab.EncodeSync(collab.SyncUpdate, update)); err != nil {
		t.Fatalf("send update: %v", err)
	}
}

// waitDenied reads frames until a permission-denied message.
func waitDenied(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for permission-denied: %v", err)
		}
		if m, err := collab.ParseMessage(b); err == nil && m.Type == collab.MessageAuth {
			return
		}
	}
}

// waitClosed reads until the connection ends and checks the close code.
func waitClosed(t *testing.T, c *websocket.Conn, want websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != want {
				t.Fatalf("connection ended with %v (status %d), want close %d", err, got, want)
			}
			return
		}
	}
}

// editDoc is a browser's document: edits return their v1 update.
type editDoc struct{ doc *crdt.Doc }

func (d *editDoc) edit(t *testing.T, f func(doc *crdt.Doc) error) []byte {
	t.Helper()
	var ups [][]byte
	unsub := d.doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { ups = append(ups, u) })
	defer unsub()
	if err := f(d.doc); err != nil {
		t.Fatal(err)
	}
	m, err := crdt.MergeUpdates(ups)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) waitDocument(t *testing.T, c *client, id string, ok func(daw.Document) bool) daw.Document {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var d daw.Document
	for time.Now().Before(deadline) {
		d = decode[daw.Document](t, c.do(t, http.MethodGet, "/api/v1/projects/"+id+"/document", nil), http.StatusOK)
		if ok(d) {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("document never got there: %+v", d)
	return d
}

// TestProjectFlow drives the whole module through the real server: two
// accounts, an invitation by email, a y-websocket connection whose rights
// follow role changes and removal within seconds, checkpoints and forks,
// the trash and its purge after 30 days.
func TestProjectFlow(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.register(t, "alice@example.com", "Alice")
		bob := e.register(t, "bob@example.com", "Bob")
		carol := e.register(t, "carol@example.com", "Carol")

		p := decode[projects.Project](t, alice.do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": "  Demo  "}), http.StatusCreated)
		if p.Name != "Demo" || p.Role != projects.RoleOwner || p.OwnerID != alice.user.ID || p.DeletedAt != nil || p.PurgeAt != nil {
			t.Fatalf("created %+v (alice %+v)", p, alice.user)
		}
		base := "/api/v1/projects/" + p.ID
		bob.do(t, http.MethodGet, base, nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		bob.do(t, http.MethodPost, base+"/room-token", nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		alice.do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": " "}).WantProblem(t, http.StatusBadRequest, "invalid_name")
		alice.do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": strings.Repeat("é", 201)}).WantProblem(t, http.StatusBadRequest, "invalid_name")
		e.anon().do(t, http.MethodGet, "/api/v1/projects", nil).WantStatus(t, http.StatusUnauthorized)

		// Invite Bob by email; the link is in his mail.
		inv := decode[projects.Invite](t, alice.do(t, http.MethodPost, base+"/invites", map[string]string{"email": "Bob@Example.com", "role": "editor"}), http.StatusCreated)
		if inv.Email != "bob@example.com" || inv.Role != projects.RoleEditor || !inv.ExpiresAt.Equal(inv.CreatedAt.Add(projects.InviteTTL)) {
			t.Errorf("invite %+v", inv)
		}
		tok := e.inviteToken(t, "bob@example.com", 0)
		info := decode[projects.InviteInfo](t, e.anon().do(t, http.MethodGet, "/api/v1/invites/"+tok, nil), http.StatusOK)
		wantInfo := projects.InviteInfo{ProjectID: p.ID, ProjectName: "Demo", Role: "editor", InviterName: "Alice", Email: "bob@example.com"}
		if info != wantInfo {
			t.Errorf("invite info = %+v, want %+v", info, wantInfo)
		}
		e.anon().do(t, http.MethodPost, "/api/v1/invites/"+tok+"/accept", nil).WantStatus(t, http.StatusUnauthorized)
		carol.do(t, http.MethodPost, "/api/v1/invites/"+tok+"/accept", nil).WantProblem(t, http.StatusForbidden, projects.CodeInviteEmail)
		bp := decode[projects.Project](t, bob.do(t, http.MethodPost, "/api/v1/invites/"+tok+"/accept", nil), http.StatusOK)
		if bp.ID != p.ID || bp.Role != projects.RoleEditor {
			t.Errorf("accepted: %+v", bp)
		}
		bob.do(t, http.MethodPost, "/api/v1/invites/"+tok+"/accept", nil).WantProblem(t, http.StatusNotFound, projects.CodeInviteNotFound)
		e.anon().do(t, http.MethodGet, "/api/v1/invites/"+tok, nil).WantProblem(t, http.StatusNotFound, projects.CodeInviteNotFound)

		type members struct {
			Members []projects.Member `json:"members"`
			Invites []projects.Invite `json:"invites"`
		}
		ms := decode[members](t, alice.do(t, http.MethodGet, base+"/members", nil), http.StatusOK)
		if len(ms.Members) != 2 || ms.Members[0].UserID != alice.user.ID || ms.Members[1].UserID != bob.user.ID ||
			ms.Members[1].Role != "editor" || ms.Members[1].DisplayName != "Bob" || len(ms.Invites) != 0 {
			t.Errorf("members = %+v", ms)
		}
		// A pending invitation: visible to the owner only.
		alice.do(t, http.MethodPost, base+"/invites", map[string]string{"email": "dave@example.com", "role": "viewer"}).WantStatus(t, http.StatusCreated)
		if ms := decode[members](t, alice.do(t, http.MethodGet, base+"/members", nil), http.StatusOK); len(ms.Invites) != 1 || ms.Invites[0].Email != "dave@example.com" {
			t.Errorf("owner sees invites %+v", ms.Invites)
		}
		if ms := decode[members](t, bob.do(t, http.MethodGet, base+"/members", nil), http.StatusOK); len(ms.Invites) != 0 || len(ms.Members) != 2 {
			t.Errorf("editor sees %+v", ms)
		}
		bob.do(t, http.MethodPost, base+"/invites", map[string]string{"email": "eve@example.com", "role": "viewer"}).WantProblem(t, http.StatusForbidden, projects.CodeInsufficientRole)
		// Dave had no account when invited: he registers, then accepts.
		dave := e.register(t, "dave@example.com", "Dave")
		dp := decode[projects.Project](t, dave.do(t, http.MethodPost, "/api/v1/invites/"+e.inviteToken(t, "dave@example.com", 0)+"/accept", nil), http.StatusOK)
		if dp.Role != projects.RoleViewer {
			t.Errorf("dave joined as %q", dp.Role)
		}
		if ms := decode[members](t, alice.do(t, http.MethodGet, base+"/members", nil), http.StatusOK); len(ms.Members) != 3 || len(ms.Invites) != 0 {
			t.Errorf("after dave joined: %+v", ms)
		}

		// Bob edits through y-websocket as an editor.
		rt := decode[projects.RoomToken](t, bob.do(t, http.MethodPost, base+"/room-token", nil), http.StatusOK)
		if rt.Role != "editor" || !strings.HasPrefix(rt.URL, "ws://") || !strings.HasSuffix(rt.URL, "/collab") || rt.Token == "" {
			t.Errorf("room token %+v", rt)
		}
		ws := e.dial(t, rt, p.ID)
		bdoc := &editDoc{doc: crdt.NewDoc(nil)}
		send(t, ws, bdoc.edit(t, func(d *crdt.Doc) error {
			return daw.SetSettings(d, daw.Settings{Name: "Demo", Tempo: 120, TimeSigNum: 4, TimeSigDen: 4, Key: "C minor", SampleRate: 48000})
		}))
		send(t, ws, bdoc.edit(t, func(d *crdt.Doc) error {
			return daw.AddTrack(d, daw.Track{ID: "t1", Name: "Drums", Kind: daw.KindAudio, Volume: -3})
		}))
		send(t, ws, bdoc.edit(t, func(d *crdt.Doc) error { return d.GetText(daw.RootNotes).Insert(0, "hello") }))
		e.waitDocument(t, alice, p.ID, func(d daw.Document) bool { return d.Notes == "hello" && len(d.Tracks) == 1 })

		// Lowered to viewer: the open connection is read-only within seconds.
		m := decode[projects.Member](t, alice.do(t, http.MethodPatch, base+"/members/"+bob.user.ID, map[string]string{"role": "viewer"}), http.StatusOK)
		if m.Role != "viewer" || m.UserID != bob.user.ID || m.Email != "bob@example.com" {
			t.Errorf("member = %+v", m)
		}
		send(t, ws, bdoc.edit(t, func(d *crdt.Doc) error { return d.GetText(daw.RootNotes).Insert(5, " again") }))
		waitDenied(t, ws)
		// The editor token issued before the change no longer writes either.
		ws2 := e.dial(t, rt, p.ID)
		send(t, ws2, bdoc.edit(t, func(d *crdt.Doc) error { return d.GetText(daw.RootNotes).Insert(0, ">") }))
		waitDenied(t, ws2)
		_ = ws2.CloseNow()
		if vt := decode[projects.RoomToken](t, bob.do(t, http.MethodPost, base+"/room-token", nil), http.StatusOK); vt.Role != "viewer" {
			t.Errorf("viewer's room token role = %q", vt.Role)
		}
		bob.do(t, http.MethodPatch, base, map[string]string{"name": "Mine"}).WantProblem(t, http.StatusForbidden, projects.CodeInsufficientRole)
		alice.do(t, http.MethodPatch, base+"/members/"+alice.user.ID, map[string]string{"role": "viewer"}).WantProblem(t, http.StatusConflict, "owner_role")
		alice.do(t, http.MethodPatch, base+"/members/"+bob.user.ID, map[string]string{"role": "owner"}).WantProblem(t, http.StatusBadRequest, "invalid_role")

		// Checkpoint, download, fork.
		bob.do(t, http.MethodPost, base+"/checkpoints", map[string]string{"name": "v1"}).WantProblem(t, http.StatusForbidden, projects.CodeInsufficientRole)
		cp := decode[projects.Checkpoint](t, alice.do(t, http.MethodPost, base+"/checkpoints", map[string]string{"name": "v1"}), http.StatusCreated)
		if cp.Name != "v1" || cp.CreatedBy != alice.user.ID || cp.Size <= 0 {
			t.Errorf("checkpoint %+v", cp)
		}
		type checkpoints struct {
			Checkpoints []projects.Checkpoint `json:"checkpoints"`
		}
		if cs := decode[checkpoints](t, bob.do(t, http.MethodGet, base+"/checkpoints", nil), http.StatusOK); len(cs.Checkpoints) != 1 || cs.Checkpoints[0] != cp {
			t.Errorf("checkpoints = %+v", cs)
		}
		up := bob.do(t, http.MethodGet, base+"/checkpoints/"+cp.ID+"/update", nil)
		up.WantStatus(t, http.StatusOK)
		if ct, cd := up.Header.Get("Content-Type"), up.Header.Get("Content-Disposition"); ct != "application/octet-stream" || !strings.HasPrefix(cd, "attachment") {
			t.Errorf("download headers %q %q", ct, cd)
		}
		if int64(len(up.Body)) != cp.Size {
			t.Errorf("download is %d bytes, checkpoint says %d", len(up.Body), cp.Size)
		}
		fromUpdate := crdt.NewDoc(nil)
		if err := crdt.ApplyUpdate(fromUpdate, up.Body, nil); err != nil {
			t.Fatalf("downloaded update does not apply: %v", err)
		}
		cpDoc := decode[daw.Document](t, bob.do(t, http.MethodGet, base+"/checkpoints/"+cp.ID+"/document", nil), http.StatusOK)
		if diff := cmp.Diff(daw.Read(fromUpdate), cpDoc); diff != "" {
			t.Errorf("checkpoint document differs from its update (-update +document):\n%s", diff)
		}
		if cpDoc.Notes != "hello" || len(cpDoc.Tracks) != 1 || cpDoc.Tracks[0].Name != "Drums" || cpDoc.Settings.Tempo != 120 {
			t.Errorf("checkpoint document = %+v", cpDoc)
		}
		bob.do(t, http.MethodGet, base+"/checkpoints/nope/document", nil).WantProblem(t, http.StatusNotFound, projects.CodeCheckpointNotFound)
		fork := decode[projects.Project](t, bob.do(t, http.MethodPost, base+"/checkpoints/"+cp.ID+"/fork", map[string]string{"name": "Bob's fork"}), http.StatusCreated)
		if fork.ID == p.ID || fork.OwnerID != bob.user.ID || fork.Role != projects.RoleOwner || fork.Name != "Bob's fork" {
			t.Errorf("fork = %+v", fork)
		}
		forkDoc := decode[daw.Document](t, bob.do(t, http.MethodGet, "/api/v1/projects/"+fork.ID+"/document", nil), http.StatusOK)
		if diff := cmp.Diff(cpDoc, forkDoc); diff != "" {
			t.Errorf("fork document differs from the checkpoint (-checkpoint +fork):\n%s", diff)
		}
		alice.do(t, http.MethodGet, "/api/v1/projects/"+fork.ID+"/document", nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)

		// Transfer and back.
		tp := decode[projects.Project](t, alice.do(t, http.MethodPost, base+"/transfer", map[string]string{"userId": bob.user.ID}), http.StatusOK)
		if tp.Role != projects.RoleEditor || tp.OwnerID != bob.user.ID {
			t.Errorf("after transfer alice sees %+v", tp)
		}
		bob.do(t, http.MethodPost, base+"/transfer", map[string]string{"userId": carol.user.ID}).WantProblem(t, http.StatusNotFound, projects.CodeMemberNotFound)
		decode[projects.Project](t, bob.do(t, http.MethodPost, base+"/transfer", map[string]string{"userId": alice.user.ID}), http.StatusOK)
		alice.do(t, http.MethodDelete, base+"/members/"+alice.user.ID, nil).WantProblem(t, http.StatusConflict, projects.CodeOwnerCannotLeave)

		// Removing Bob cuts his open connection (close 4403).
		alice.do(t, http.MethodDelete, base+"/members/"+bob.user.ID, nil).WantStatus(t, http.StatusNoContent)
		waitClosed(t, ws, collab.CloseForbidden)
		bob.do(t, http.MethodGet, base, nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		ws3 := e.dialRaw(t, rt, p.ID) // his old token is refused
		waitClosed(t, ws3, collab.CloseUnauthorized)

		// Trash: the owner's connection is cut, room tokens are refused.
		art := decode[projects.RoomToken](t, alice.do(t, http.MethodPost, base+"/room-token", nil), http.StatusOK)
		aws := e.dial(t, art, p.ID)
		alice.do(t, http.MethodDelete, base, nil).WantStatus(t, http.StatusNoContent)
		waitClosed(t, aws, collab.CloseForbidden)
		alice.do(t, http.MethodPost, base+"/room-token", nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		alice.do(t, http.MethodGet, base+"/document", nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		type list struct {
			Projects []projects.Project `json:"projects"`
		}
		if l := decode[list](t, alice.do(t, http.MethodGet, "/api/v1/projects", nil), http.StatusOK); len(l.Projects) != 0 {
			t.Errorf("live list has %+v", l.Projects)
		}
		trash := decode[list](t, alice.do(t, http.MethodGet, "/api/v1/projects?deleted=true", nil), http.StatusOK)
		if len(trash.Projects) != 1 || trash.Projects[0].DeletedAt == nil || trash.Projects[0].PurgeAt == nil ||
			!trash.Projects[0].PurgeAt.Equal(trash.Projects[0].DeletedAt.Add(projects.TrashRetention)) {
			t.Fatalf("trash = %+v", trash.Projects)
		}
		rp := decode[projects.Project](t, alice.do(t, http.MethodPost, base+"/restore", nil), http.StatusOK)
		if rp.DeletedAt != nil || rp.PurgeAt != nil {
			t.Errorf("restored %+v", rp)
		}
		alice.do(t, http.MethodDelete, base, nil).WantStatus(t, http.StatusNoContent)

		// 29 days later it is still there; after 30 the purge job removes
		// it with its document.
		e.clock.Add(29 * 24 * time.Hour)
		time.Sleep(100 * time.Millisecond) // several purge rounds
		if l := decode[list](t, alice.do(t, http.MethodGet, "/api/v1/projects?deleted=true", nil), http.StatusOK); len(l.Projects) != 1 {
			t.Fatalf("purged too early: %+v", l.Projects)
		}
		e.clock.Add(24*time.Hour + time.Minute)
		deadline := time.Now().Add(5 * time.Second)
		for {
			l := decode[list](t, alice.do(t, http.MethodGet, "/api/v1/projects?deleted=true", nil), http.StatusOK)
			if len(l.Projects) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not purged: %+v", l.Projects)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM collab_updates WHERE room = ?`, `SELECT COUNT(*) FROM collab_docs WHERE room = ?`} {
			var n int
			if err := db.QueryRowContext(context.Background(), q, p.ID).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d rows, %v after purge", q, n, err)
			}
		}
		alice.do(t, http.MethodPost, base+"/restore", nil).WantProblem(t, http.StatusNotFound, projects.CodeProjectNotFound)
		// The fork lives on.
		if d := decode[daw.Document](t, bob.do(t, http.MethodGet, "/api/v1/projects/"+fork.ID+"/document", nil), http.StatusOK); d.Notes != "hello" {
			t.Errorf("fork after purge: %+v", d)
		}
	})
}

// TestListPagination pages through GET /api/v1/projects: the default page
// of 50, ?limit=, the nextBefore cursor, bad values, and a project renamed
// between two pages.
func TestListPagination(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.register(t, "alice@example.com", "Alice")
		bob := e.register(t, "bob@example.com", "Bob")
		bob.do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": "Bob's"}).WantStatus(t, http.StatusCreated)

		// 53 projects straight into the store, two sharing each time, and
		// 7 through the API.
		st := projects.NewStore(db)
		base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
		for i := range 53 {
			at := base.Add(time.Duration(i/2) * time.Second)
			p := projects.Project{ID: fmt.Sprintf("bulk%02d", i), Name: "Bulk", OwnerID: alice.user.ID, CreatedAt: at, UpdatedAt: at}
			if err := st.CreateProject(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 7 {
			alice.do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": fmt.Sprint("API ", i)}).WantStatus(t, http.StatusCreated)
		}
		const total = 60

		type page struct {
			Projects   []projects.Project `json:"projects"`
			NextBefore string             `json:"nextBefore"`
		}
		walk := func(query string) (ids []string, pages []int) {
			t.Helper()
			next := ""
			for range total + 1 {
				path := "/api/v1/projects?" + query
				if next != "" {
					path += "&before=" + url.QueryEscape(next)
				}
				pg := decode[page](t, alice.do(t, http.MethodGet, path, nil), http.StatusOK)
				pages = append(pages, len(pg.Projects))
				for _, p := range pg.Projects {
					ids = append(ids, p.ID)
				}
				if next = pg.NextBefore; next == "" {
					return ids, pages
				}
			}
			t.Fatalf("%s: no last page", query)
			return nil, nil
		}
		all, pages := walk("")
		if !cmp.Equal(pages, []int{50, 10}) {
			t.Errorf("default pages = %v, want [50 10]", pages)
		}
		if len(all) != total {
			t.Fatalf("listed %d projects, want %d", len(all), total)
		}
		seen := map[string]bool{}
		for _, id := range all {
			if seen[id] {
				t.Errorf("%s listed twice", id)
			}
			seen[id] = true
		}
		if !strings.HasPrefix(all[total-1], "bulk0") || strings.HasPrefix(all[0], "bulk") {
			t.Errorf("not newest updated first: %v", all)
		}
		for _, q := range []string{"limit=7", "limit=1&deleted=false", "limit=200"} {
			ids, pages := walk(q)
			if !cmp.Equal(ids, all) {
				t.Errorf("%s: pages join to %v, want %v", q, ids, all)
			}
			if q == "limit=7" && !cmp.Equal(pages, []int{7, 7, 7, 7, 7, 7, 7, 7, 4}) {
				t.Errorf("limit=7 pages = %v", pages)
			}
		}
		// An exact fit has no empty last page.
		if pg := decode[page](t, alice.do(t, http.MethodGet, "/api/v1/projects?limit=60", nil), http.StatusOK); len(pg.Projects) != total || pg.NextBefore != "" {
			t.Errorf("limit=60: %d projects, nextBefore %q", len(pg.Projects), pg.NextBefore)
		}

		// A project renamed between two pages moves to the top: the next
		// page does not show it again.
		first := decode[page](t, alice.do(t, http.MethodGet, "/api/v1/projects?limit=10", nil), http.StatusOK)
		e.clock.Add(time.Second)
		moved := all[15]
		alice.do(t, http.MethodPatch, "/api/v1/projects/"+moved, map[string]string{"name": "Moved"}).WantStatus(t, http.StatusOK)
		second := decode[page](t, alice.do(t, http.MethodGet, "/api/v1/projects?limit=10&before="+url.QueryEscape(first.NextBefore), nil), http.StatusOK)
		var got []string
		for _, p := range second.Projects {
			got = append(got, p.ID)
		}
		want := slices.Concat(all[10:15], all[16:21])
		if !cmp.Equal(got, want) {
			t.Errorf("page after a rename = %v, want %v", got, want)
		}

		// The trash pages the same way, with cursors of its own.
		for _, id := range all[:3] {
			alice.do(t, http.MethodDelete, "/api/v1/projects/"+id, nil).WantStatus(t, http.StatusNoContent)
		}
		trashIDs, trashPages := walk("deleted=true&limit=2")
		if len(trashIDs) != 3 || !cmp.Equal(trashPages, []int{2, 1}) {
			t.Errorf("trash pages = %v %v", trashIDs, trashPages)
		}
		trashCursor := decode[page](t, alice.do(t, http.MethodGet, "/api/v1/projects?deleted=true&limit=1", nil), http.StatusOK).NextBefore

		if pg := decode[page](t, alice.do(t, http.MethodGet, "/api/v1/projects?limit=", nil), http.StatusOK); len(pg.Projects) != projects.DefaultPageSize {
			t.Errorf("empty limit: %d projects, want the default page", len(pg.Projects))
		}
		for _, q := range []string{"limit=0", "limit=-1", "limit=201", "limit=abc", "limit=1.5", "limit=99999999999999999999"} {
			alice.do(t, http.MethodGet, "/api/v1/projects?"+q, nil).WantProblem(t, http.StatusBadRequest, "invalid_limit")
		}
		for _, c := range []string{"x", "!!!", strings.Repeat("A", 500), "bC4xLg", trashCursor} {
			alice.do(t, http.MethodGet, "/api/v1/projects?before="+url.QueryEscape(c), nil).WantProblem(t, http.StatusBadRequest, "invalid_cursor")
		}
		// Bob sees only his own project, whatever cursor he sends.
		if pg := decode[page](t, bob.do(t, http.MethodGet, "/api/v1/projects?limit=1", nil), http.StatusOK); len(pg.Projects) != 1 || pg.NextBefore != "" {
			t.Errorf("bob's list = %+v", pg)
		}
		if pg := decode[page](t, bob.do(t, http.MethodGet, "/api/v1/projects?before="+url.QueryEscape(first.NextBefore), nil), http.StatusOK); len(pg.Projects) != 0 {
			t.Errorf("bob with alice's cursor = %+v", pg)
		}
	})
}
