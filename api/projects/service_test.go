package projects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/session/mail"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// mailbox records the mail the service sends.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	if err := msg.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mailbox) wait(tb testing.TB, n int) []mail.Message {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		got := append([]mail.Message(nil), m.msgs...)
		m.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d mails, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fixture struct {
	svc   *Service
	db    *store.DB
	mail  *mailbox
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newFixture builds a Service on SQLite with a real hub and update log;
// mod may change the options.
func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	db := storetest.OpenSQLite(t)
	docs := store.NewDocStore(db, nil)
	hub, err := collab.NewHub(collab.Options{Store: docs, Auth: collab.AuthorizerFunc(func(_ *http.Request, _ string) (collab.Principal, error) {
		return collab.Principal{}, collab.ErrForbidden
	})})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	mb := &mailbox{}
	opts := Options{
		DB: db, Docs: docs, Hub: hub, Mailer: mb,
		Tokens:    session.NewRoomTokens(session.NewMemoryRoomKeyStore(), session.RoomTokenOptions{}),
		PublicURL: &url.URL{Scheme: "https", Host: "studio.example.com", Path: "/app/"},
		Settings:  Settings{Now: clk.Now, PurgeEvery: time.Hour},
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = hub.Close(cctx)
		_ = docs.Close()
	})
	return &fixture{svc: svc, db: db, mail: mb, clock: clk}
}

func wantErr(tb testing.TB, err error, kind apperr.Kind, code string) {
	tb.Helper()
	if err == nil || apperr.KindOf(err) != kind || apperr.Code(err) != code {
		tb.Fatalf("error %v (kind %v, code %q), want kind %v code %q", err, apperr.KindOf(err), apperr.Code(err), kind, code)
	}
}

// TestPermissions checks every operation for every relation to the
// project: owner, editor, viewer, outsider.
func TestPermissions(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := mustUser(t, f.db, "owner", "owner@example.com")
	editor := mustUser(t, f.db, "editor", "editor@example.com")
	viewer := mustUser(t, f.db, "viewer", "viewer@example.com")
	outsider := mustUser(t, f.db, "outsider", "outsider@example.com")
	p, err := f.svc.Create(ctx, owner, "Song")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		u    session.User
		role string
	}{{editor, RoleEditor}, {viewer, RoleViewer}} {
		if _, err := f.svc.Invite(ctx, owner, p.ID, m.u.Email, m.role); err != nil {
			t.Fatal(err)
		}
	}
	msgs := f.mail.wait(t, 2)
	for i, u := range []session.User{editor, viewer} {
		link := msgs[i].Text[strings.Index(msgs[i].Text, "https://"):]
		link = link[:strings.IndexByte(link, '\n')]
		if !strings.HasPrefix(link, "https://studio.example.com/app/invite/mbi_") {
			t.Fatalf("link %q", link)
		}
		if _, err := f.svc.AcceptInvite(ctx, u, strings.TrimPrefix(link, "https://studio.example.com/app/invite/")); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := f.svc.CreateCheckpoint(ctx, owner, p.ID, "v1")
	if err != nil {
		t.Fatal(err)
	}

	notFound := func(code string) func(*testing.T, error) {
		return func(t *testing.T, err error) { t.Helper(); wantErr(t, err, apperr.NotFound, code) }
	}
	forbidden := func(t *testing.T, err error) { t.Helper(); wantErr(t, err, apperr.Forbidden, CodeInsufficientRole) }
	ok := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hidden := notFound(CodeProjectNotFound)
	type check func(*testing.T, error)
	ops := []struct {
		name string
		do   func(u session.User) error
		want map[string]check // by user id
	}{
		{"get", func(u session.User) error { _, err := f.svc.Get(ctx, u, p.ID); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"access", func(u session.User) error { _, err := f.svc.Access(ctx, u.ID, p.ID); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"rename", func(u session.User) error { _, err := f.svc.Rename(ctx, u, p.ID, "Song"); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": forbidden, "outsider": hidden}},
		{"members", func(u session.User) error { _, _, err := f.svc.Members(ctx, u, p.ID); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"invite", func(u session.User) error {
			_, err := f.svc.Invite(ctx, u, p.ID, "new@example.com", RoleViewer)
			return err
		}, map[string]check{"owner": ok, "editor": forbidden, "viewer": forbidden, "outsider": hidden}},
		{"set role", func(u session.User) error { _, err := f.svc.SetRole(ctx, u, p.ID, "viewer", RoleViewer); return err },
			map[string]check{"owner": ok, "editor": forbidden, "viewer": forbidden, "outsider": hidden}},
		{"remove other", func(u session.User) error { return f.svc.RemoveMember(ctx, u, p.ID, "nobody") },
			map[string]check{"owner": notFound(CodeMemberNotFound), "editor": forbidden, "viewer": forbidden, "outsider": hidden}},
		{"transfer", func(u session.User) error { _, err := f.svc.Transfer(ctx, u, p.ID, "nobody"); return err },
			map[string]check{"owner": notFound(CodeMemberNotFound), "editor": forbidden, "viewer": forbidden, "outsider": hidden}},
		{"room token", func(u session.User) error {
			rt, err := f.svc.RoomToken(ctx, u, p.ID, nil)
			if err == nil && (rt.Role != u.ID /* users are named after their roles */ || rt.URL != "wss://studio.example.com/app/collab") {
				return errors.New("room token " + rt.Role + " " + rt.URL)
			}
			return err
		}, map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"document", func(u session.User) error { _, err := f.svc.Document(ctx, u, p.ID); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"checkpoint", func(u session.User) error { _, err := f.svc.CreateCheckpoint(ctx, u, p.ID, "x"); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": forbidden, "outsider": hidden}},
		{"checkpoint update", func(u session.User) error { _, _, err := f.svc.CheckpointState(ctx, u, p.ID, cp.ID); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"fork", func(u session.User) error { _, err := f.svc.Fork(ctx, u, p.ID, cp.ID, "Copy"); return err },
			map[string]check{"owner": ok, "editor": ok, "viewer": ok, "outsider": hidden}},
		{"delete", func(u session.User) error {
			if u.ID == "owner" {
				return nil // below, last
			}
			return f.svc.Delete(ctx, u, p.ID)
		}, map[string]check{"owner": ok, "editor": forbidden, "viewer": forbidden, "outsider": hidden}},
		{"restore live", func(u session.User) error { _, err := f.svc.Restore(ctx, u, p.ID); return err },
			map[string]check{"owner": func(t *testing.T, err error) { wantErr(t, err, apperr.Conflict, "not_deleted") },
				"editor": forbidden, "viewer": forbidden, "outsider": hidden}},
	}
	for _, op := range ops {
		for _, u := range []session.User{owner, editor, viewer, outsider} {
			t.Run(op.name+"/"+u.ID, func(t *testing.T) { op.want[u.ID](t, op.do(u)) })
		}
	}

	// Leaving: members may leave, the owner may not.
	wantErr(t, f.svc.RemoveMember(ctx, owner, p.ID, owner.ID), apperr.Conflict, CodeOwnerCannotLeave)
	if err := f.svc.RemoveMember(ctx, viewer, p.ID, viewer.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, f.svc.RemoveMember(ctx, viewer, p.ID, viewer.ID), apperr.NotFound, CodeProjectNotFound)

	// In the trash: hidden from everyone but its owner's Get and Restore.
	if err := f.svc.Delete(ctx, owner, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Access(ctx, owner.ID, p.ID)
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
	_, errMissing := f.svc.Access(ctx, owner.ID, "no-such-project")
	if apperr.Message(err) != apperr.Message(errMissing) || apperr.Code(err) != apperr.Code(errMissing) {
		t.Errorf("a trashed project answers differently (%v) from a missing one (%v)", err, errMissing)
	}
	if g, err := f.svc.Get(ctx, owner, p.ID); err != nil || g.PurgeAt == nil || !g.PurgeAt.Equal(f.clock.Now().Add(TrashRetention)) {
		t.Errorf("owner's Get of a trashed project = %+v, %v", g, err)
	}
	_, err = f.svc.Get(ctx, editor, p.ID)
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
	_, err = f.svc.Restore(ctx, editor, p.ID)
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
	_, err = f.svc.RoomToken(ctx, owner, p.ID, nil)
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
	if _, err := f.svc.Restore(ctx, owner, p.ID); err != nil {
		t.Fatal(err)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := mustUser(t, f.db, "owner", "owner@example.com")
	for _, name := range []string{"", "   ", strings.Repeat("a", 201), "bad\x00name", "tab\there", string([]byte{0xff})} {
		_, err := f.svc.Create(ctx, owner, name)
		wantErr(t, err, apperr.Invalid, "invalid_name")
	}
	p, err := f.svc.Create(ctx, owner, " "+strings.Repeat("é", 200)+" ")
	if err != nil || p.Name != strings.Repeat("é", 200) {
		t.Fatalf("200 runes: %+v, %v", p, err)
	}
	_, err = f.svc.Invite(ctx, owner, p.ID, "not an email", RoleEditor)
	wantErr(t, err, apperr.Invalid, "invalid_email")
	_, err = f.svc.Invite(ctx, owner, p.ID, "x@example.com", RoleOwner)
	wantErr(t, err, apperr.Invalid, "invalid_role")
	_, err = f.svc.Invite(ctx, owner, p.ID, "OWNER@example.com", RoleEditor)
	wantErr(t, err, apperr.Conflict, CodeAlreadyMember)
	_, err = f.svc.SetRole(ctx, owner, p.ID, owner.ID, RoleViewer)
	wantErr(t, err, apperr.Conflict, "owner_role")
	_, err = f.svc.Transfer(ctx, owner, p.ID, owner.ID)
	wantErr(t, err, apperr.Conflict, "already_owner")
	for _, tok := range []string{"", "mbi_short", "xyz_" + strings.Repeat("A", 43), strings.Repeat("mbi_", 100)} {
		_, err = f.svc.InviteInfo(ctx, tok)
		wantErr(t, err, apperr.NotFound, CodeInviteNotFound)
	}
	_, err = f.svc.Get(ctx, owner, "bad id with spaces")
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
	_, _, err = f.svc.CheckpointState(ctx, owner, p.ID, "../etc")
	wantErr(t, err, apperr.NotFound, CodeCheckpointNotFound)
}

func TestLimits(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Limits = Limits{ProjectsPerUser: 2, MembersPerProject: 2, InvitesPerProject: 1, CheckpointsPerProject: 1,
			InviteMailsPerHour: 2, InviteMailBurst: 2}
	})
	ctx := context.Background()
	owner := mustUser(t, f.db, "owner", "owner@example.com")
	a := mustUser(t, f.db, "a", "a@example.com")
	p, err := f.svc.Create(ctx, owner, "One")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Create(ctx, owner, "Two"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Create(ctx, owner, "Three")
	wantErr(t, err, apperr.Conflict, CodeLimitReached)
	cp, err := f.svc.CreateCheckpoint(ctx, owner, p.ID, "v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateCheckpoint(ctx, owner, p.ID, "v2")
	wantErr(t, err, apperr.Conflict, CodeLimitReached)
	_, err = f.svc.Fork(ctx, owner, p.ID, cp.ID, "Fork") // a fork is a project too
	wantErr(t, err, apperr.Conflict, CodeLimitReached)

	if _, err := f.svc.Invite(ctx, owner, p.ID, "a@example.com", RoleViewer); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Invite(ctx, owner, p.ID, "a@example.com", RoleEditor); err != nil {
		t.Fatalf("re-inviting the same address replaces the invite: %v", err)
	}
	_, err = f.svc.Invite(ctx, owner, p.ID, "b@example.com", RoleViewer)
	wantErr(t, err, apperr.Conflict, CodeLimitReached)
	msgs := f.mail.wait(t, 2)
	tok := msgs[1].Text[strings.Index(msgs[1].Text, "/invite/")+len("/invite/"):]
	tok = tok[:strings.IndexByte(tok, '\n')]
	if _, err := f.svc.AcceptInvite(ctx, a, tok); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Invite(ctx, owner, p.ID, "b@example.com", RoleViewer)
	wantErr(t, err, apperr.Conflict, CodeLimitReached) // two members already
	if err := f.svc.RemoveMember(ctx, a, p.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Invite(ctx, owner, p.ID, "b@example.com", RoleViewer)
	var re *RetryError
	if !errors.As(err, &re) || re.After <= 0 {
		t.Fatalf("third invitation mail within the hour: %v, want a rate limit with a wait", err)
	}
	wantErr(t, err, apperr.TooManyRequests, CodeRateLimited)
}

func TestInviteExpiryAndPurge(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	owner := mustUser(t, f.db, "owner", "owner@example.com")
	a := mustUser(t, f.db, "a", "a@example.com")
	p, err := f.svc.Create(ctx, owner, "One")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Invite(ctx, owner, p.ID, a.Email, RoleViewer); err != nil {
		t.Fatal(err)
	}
	msg := f.mail.wait(t, 1)[0]
	if msg.To != a.Email || !strings.Contains(msg.Text, `"One"`) {
		t.Errorf("mail %+v", msg)
	}
	tok := msg.Text[strings.Index(msg.Text, "/invite/")+len("/invite/"):]
	tok = tok[:strings.IndexByte(tok, '\n')]
	f.clock.Add(InviteTTL - time.Second)
	if info, err := f.svc.InviteInfo(ctx, tok); err != nil || info.ProjectName != "One" || info.InviterName != "User owner" {
		t.Fatalf("InviteInfo before expiry = %+v, %v", info, err)
	}
	f.clock.Add(time.Second)
	_, err = f.svc.InviteInfo(ctx, tok)
	wantErr(t, err, apperr.NotFound, CodeInviteNotFound)
	_, err = f.svc.AcceptInvite(ctx, a, tok)
	wantErr(t, err, apperr.NotFound, CodeInviteNotFound)

	// A trashed project's invitation cannot be used either.
	if _, err := f.svc.Invite(ctx, owner, p.ID, a.Email, RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, owner, p.ID); err != nil {
		t.Fatal(err)
	}
	msg = f.mail.wait(t, 2)[1]
	tok = msg.Text[strings.Index(msg.Text, "/invite/")+len("/invite/"):]
	tok = tok[:strings.IndexByte(tok, '\n')]
	_, err = f.svc.AcceptInvite(ctx, a, tok)
	wantErr(t, err, apperr.NotFound, CodeInviteNotFound)

	f.clock.Add(TrashRetention - time.Second)
	if n, err := f.svc.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge a second early = %d, %v", n, err)
	}
	f.clock.Add(time.Second)
	if n, err := f.svc.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	var left int
	if err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM project_invites`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d invites left, %v", left, err)
	}
	_, err = f.svc.Get(ctx, owner, p.ID)
	wantErr(t, err, apperr.NotFound, CodeProjectNotFound)
}

// BenchmarkAccess measures the role lookup the collab authorizer makes at
// every WebSocket join (SQLite, one indexed join), with the user a member
// of 100 projects.
func BenchmarkAccess(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	u := mustUser(b, f.db, "u", "u@example.com")
	var last Project
	for i := range 100 {
		p, err := f.svc.Create(ctx, u, "P"+string(rune('a'+i%26)))
		if err != nil {
			b.Fatal(err)
		}
		last = p
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if role, err := f.svc.Access(ctx, u.ID, last.ID); err != nil || role != RoleOwner {
			b.Fatal(role, err)
		}
	}
}

// revokeRecorder is the collab hub with its Revoke calls recorded.
type revokeRecorder struct {
	Hub
	mu    sync.Mutex
	calls []string
}

func (r *revokeRecorder) Revoke(ctx context.Context, roomID, userID string, role collab.Role) error {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s %d", roomID, userID, role))
	r.mu.Unlock()
	return r.Hub.Revoke(ctx, roomID, userID, role)
}

// TestTransferUpdatesOpenConnections: after a transfer, the old owner's
// open collab connections become an editor's and the new owner's (here a
// viewer before) an owner's, without reconnecting.
func TestTransferUpdatesOpenConnections(t *testing.T) {
	rec := &revokeRecorder{}
	f := newFixture(t, func(o *Options) { rec.Hub = o.Hub; o.Hub = rec })
	ctx := context.Background()
	owner := mustUser(t, f.db, "own", "own@example.com")
	viewer := mustUser(t, f.db, "view", "view@example.com")
	p, err := f.svc.Create(ctx, owner, "P")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, joined_at) VALUES (?, ?, 'viewer', ?)`,
		p.ID, viewer.ID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transfer(ctx, owner, p.ID, viewer.ID); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{fmt.Sprintf("%s own %d", p.ID, collab.RoleEditor), fmt.Sprintf("%s view %d", p.ID, collab.RoleOwner)}
	if !cmp.Equal(rec.calls, want) {
		t.Errorf("revocations %v, want %v", rec.calls, want)
	}
}
