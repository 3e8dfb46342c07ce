package projects

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// mustUser creates an account directly in the session tables.
func mustUser(tb testing.TB, db *store.DB, id, email string) session.User {
	tb.Helper()
	u := session.User{ID: id, Email: email, DisplayName: "User " + id, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := session.NewStore(db).CreateUser(context.Background(), u, "not-a-real-hash"); err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestStore(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		alice := mustUser(t, db, "alice", "alice@example.com")
		bob := mustUser(t, db, "bob", "bob@example.com")
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

		p1 := Project{ID: "p1", Name: "First", OwnerID: alice.ID, CreatedAt: t0, UpdatedAt: t0}
		p2 := Project{ID: "p2", Name: "Second", OwnerID: alice.ID, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
		for _, p := range []Project{p1, p2} {
			if err := st.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateProject(ctx, p1); err == nil || !store.IsUniqueViolation(err) {
			t.Errorf("duplicate id: %v, want a unique violation", err)
		}
		if n, err := st.CountOwned(ctx, alice.ID); err != nil || n != 2 {
			t.Errorf("CountOwned = %d, %v; want 2", n, err)
		}
		got, err := st.ProjectFor(ctx, "p1", alice.ID)
		want := p1
		want.Role = RoleOwner
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("ProjectFor = %+v, %v\nwant %+v", got, err, want)
		}
		if _, err := st.ProjectFor(ctx, "p1", bob.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("ProjectFor non-member: %v, want ErrNotFound", err)
		}
		ids := func(ps []Project) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return out
		}
		list, err := st.ListFor(ctx, alice.ID, false, ListCursor{}, 10)
		if err != nil || !cmp.Equal(ids(list), []string{"p2", "p1"}) {
			t.Errorf("ListFor = %v, %v; want newest updated first", ids(list), err)
		}
		if err := st.Rename(ctx, "p1", "Renamed", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if list, _ = st.ListFor(ctx, alice.ID, false, ListCursor{}, 10); !cmp.Equal(ids(list), []string{"p1", "p2"}) || list[0].Name != "Renamed" {
			t.Errorf("after rename: %+v", list)
		}

		// Members, roles and transfer.
		inv := inviteRecord{Invite: Invite{ID: "i1", Email: bob.Email, Role: RoleViewer, CreatedAt: t0, ExpiresAt: t0.Add(InviteTTL)},
			ProjectID: "p1", TokenHash: "h1", InvitedBy: alice.ID}
		if err := st.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		again := inv
		again.ID, again.TokenHash, again.Role = "i2", "h2", RoleEditor
		if err := st.CreateInvite(ctx, again); err != nil {
			t.Fatal(err)
		}
		invs, err := st.Invites(ctx, "p1", t0)
		if err != nil || len(invs) != 1 || invs[0].ID != "i2" || invs[0].Role != RoleEditor {
			t.Errorf("a second invite for the same address replaces the first: %+v, %v", invs, err)
		}
		if n, _ := st.CountInvites(ctx, "p1", "other@example.com", t0); n != 1 {
			t.Errorf("CountInvites = %d, want 1", n)
		}
		if n, _ := st.CountInvites(ctx, "p1", "other@example.com", t0.Add(InviteTTL)); n != 0 {
			t.Errorf("CountInvites after expiry = %d, want 0", n)
		}
		if _, _, err := st.InviteByHash(ctx, "h1", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("replaced invite: %v, want ErrNotFound", err)
		}
		if _, _, err := st.InviteByHash(ctx, "h2", t0.Add(InviteTTL)); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired invite: %v, want ErrNotFound", err)
		}
		rec, info, err := st.InviteByHash(ctx, "h2", t0)
		wantInfo := InviteInfo{ProjectID: "p1", ProjectName: "Renamed", Role: RoleEditor, InviterName: "User alice", Email: bob.Email}
		if err != nil || info != wantInfo || rec.ID != "i2" || !rec.ExpiresAt.Equal(t0.Add(InviteTTL)) {
			t.Errorf("InviteByHash = %+v %+v, %v", rec, info, err)
		}
		if err := st.AcceptInvite(ctx, rec, bob.ID, 1, t0); !errors.Is(err, ErrConflict) {
			t.Errorf("accept over the member limit: %v, want ErrConflict", err)
		}
		if _, _, err := st.InviteByHash(ctx, "h2", t0); err != nil {
			t.Errorf("a refused accept consumed the invite: %v", err)
		}
		if err := st.AcceptInvite(ctx, rec, bob.ID, 10, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.AcceptInvite(ctx, rec, bob.ID, 10, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("second accept: %v, want ErrNotFound (single use)", err)
		}
		ms, err := st.Members(ctx, "p1")
		wantMs := []Member{
			{UserID: alice.ID, Email: alice.Email, DisplayName: alice.DisplayName, Role: RoleOwner, JoinedAt: t0},
			{UserID: bob.ID, Email: bob.Email, DisplayName: bob.DisplayName, Role: RoleEditor, JoinedAt: t0.Add(2 * time.Hour)},
		}
		if err != nil || !cmp.Equal(ms, wantMs) {
			t.Errorf("Members = %+v, %v\nwant %+v", ms, err, wantMs)
		}
		if ok, err := st.MemberByEmail(ctx, "p1", bob.Email); !ok || err != nil {
			t.Errorf("MemberByEmail = %v, %v", ok, err)
		}
		if err := st.SetMemberRole(ctx, "p1", alice.ID, RoleViewer, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetMemberRole on the owner: %v, want ErrNotFound", err)
		}
		if err := st.SetMemberRole(ctx, "p1", bob.ID, RoleViewer, t0); err != nil {
			t.Fatal(err)
		}
		if m, _ := st.Member(ctx, "p1", bob.ID); m.Role != RoleViewer {
			t.Errorf("role = %q, want viewer", m.Role)
		}
		if err := st.RemoveMember(ctx, "p1", alice.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveMember on the owner: %v, want ErrNotFound", err)
		}
		if err := st.Transfer(ctx, "p1", bob.ID, alice.ID, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Transfer by a non-owner: %v, want ErrNotFound", err)
		}
		if err := st.Transfer(ctx, "p1", alice.ID, bob.ID, t0); err != nil {
			t.Fatal(err)
		}
		if p, _ := st.ProjectFor(ctx, "p1", alice.ID); p.Role != RoleEditor || p.OwnerID != bob.ID {
			t.Errorf("after transfer: %+v", p)
		}
		if mids, _ := st.MemberIDs(ctx, "p1"); !cmp.Equal(mids, []string{"alice", "bob"}) {
			t.Errorf("MemberIDs = %v", mids)
		}
		if err := st.RemoveMember(ctx, "p1", alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ProjectFor(ctx, "p1", alice.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("removed member still sees the project: %v", err)
		}

		// Checkpoints.
		c1 := Checkpoint{ID: "c1", Name: "Mix 1", CreatedAt: t0, CreatedBy: bob.ID, Size: 3}
		c2 := Checkpoint{ID: "c2", Name: "Mix 2", CreatedAt: t0.Add(time.Second), CreatedBy: bob.ID, Size: 2}
		if err := st.CreateCheckpoint(ctx, "p1", c1, []byte{1, 2, 3}, 2); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCheckpoint(ctx, "p1", c2, []byte{0, 0}, 2); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCheckpoint(ctx, "p1", Checkpoint{ID: "c3", CreatedAt: t0}, []byte{0, 0}, 2); !errors.Is(err, ErrConflict) {
			t.Errorf("checkpoint over the limit: %v, want ErrConflict", err)
		}
		cs, err := st.Checkpoints(ctx, "p1")
		if err != nil || !cmp.Equal(cs, []Checkpoint{c2, c1}) {
			t.Errorf("Checkpoints = %+v, %v", cs, err)
		}
		c, state, err := st.CheckpointState(ctx, "p1", "c1")
		if err != nil || c != c1 || !cmp.Equal(state, []byte{1, 2, 3}) {
			t.Errorf("CheckpointState = %+v %v, %v", c, state, err)
		}
		if _, _, err := st.CheckpointState(ctx, "p2", "c1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("checkpoint of another project: %v, want ErrNotFound", err)
		}

		// Trash, restore and purge.
		del := t0.Add(24 * time.Hour)
		if err := st.SetDeleted(ctx, "p1", &del, del, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetDeleted(ctx, "p1", &del, del, time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting twice: %v, want ErrNotFound", err)
		}
		if err := st.Rename(ctx, "p1", "x", del); !errors.Is(err, ErrNotFound) {
			t.Errorf("renaming a trashed project: %v, want ErrNotFound", err)
		}
		if list, _ := st.ListFor(ctx, bob.ID, true, ListCursor{}, 10); !cmp.Equal(ids(list), []string{"p1"}) || list[0].DeletedAt == nil || !list[0].DeletedAt.Equal(del) {
			t.Errorf("trash = %+v", list)
		}
		if list, _ := st.ListFor(ctx, bob.ID, false, ListCursor{}, 10); len(list) != 0 {
			t.Errorf("live list shows trashed projects: %+v", list)
		}
		if err := st.SetDeleted(ctx, "p1", nil, del, del); !errors.Is(err, ErrNotFound) {
			t.Errorf("restore past the retention: %v, want ErrNotFound", err)
		}
		if err := st.SetDeleted(ctx, "p1", nil, del, del.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.SetDeleted(ctx, "p1", &del, del, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.TrashedBefore(ctx, del.Add(-time.Second), 10); len(got) != 0 {
			t.Errorf("TrashedBefore too early = %v", got)
		}
		if got, _ := st.TrashedBefore(ctx, del, 10); !cmp.Equal(got, []string{"p1"}) {
			t.Errorf("TrashedBefore = %v", got)
		}
		if err := st.Purge(ctx, "p2", del); !errors.Is(err, ErrNotFound) {
			t.Errorf("purging a live project: %v, want ErrNotFound", err)
		}
		if err := st.Purge(ctx, "p1", del); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`SELECT COUNT(*) FROM projects WHERE id = 'p1'`, `SELECT COUNT(*) FROM project_members WHERE project_id = 'p1'`,
			`SELECT COUNT(*) FROM project_checkpoints WHERE project_id = 'p1'`, `SELECT COUNT(*) FROM project_invites WHERE project_id = 'p1'`,
		} {
			var n int
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s = %d, %v after purge", q, n, err)
			}
		}
		if _, err := st.ProjectFor(ctx, "p2", alice.ID); err != nil {
			t.Errorf("purge touched another project: %v", err)
		}

		// Expired invitations are swept.
		exp := inviteRecord{Invite: Invite{ID: "i3", Email: "x@example.com", Role: RoleViewer, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			ProjectID: "p2", TokenHash: "h3", InvitedBy: alice.ID}
		if err := st.CreateInvite(ctx, exp); err != nil {
			t.Fatal(err)
		}
		if n, err := st.DeleteExpiredInvites(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Errorf("DeleteExpiredInvites = %d, %v; want 1", n, err)
		}
		if err := st.DeleteInvite(ctx, "p2", "i3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteInvite of a swept invite: %v", err)
		}
	})
}

func TestDocStoreDelete(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := store.NewDocStore(db, nil)
		t.Cleanup(func() { _ = docs.Close() })
		for _, room := range []string{"a", "b"} {
			if _, err := docs.Append(ctx, room, [][]byte{{0, 0}, {0, 0}}); err != nil {
				t.Fatal(err)
			}
		}
		sd, err := docs.Load(ctx, "a")
		if err != nil || len(sd.Updates) != 2 {
			t.Fatalf("Load = %+v, %v", sd, err)
		}
		if err := docs.Compact(ctx, "a", 0, 1, []byte{0, 0}); err != nil {
			t.Fatal(err)
		}
		if err := docs.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if sd, err := docs.Load(ctx, "a"); err != nil || sd.Snapshot != nil || len(sd.Updates) != 0 || sd.LastSeq() != 0 {
			t.Errorf("after Delete: %+v, %v; want empty", sd, err)
		}
		if sd, err := docs.Load(ctx, "b"); err != nil || len(sd.Updates) != 2 {
			t.Errorf("Delete touched another room: %+v, %v", sd, err)
		}
		if err := docs.Delete(ctx, "never"); err != nil {
			t.Errorf("Delete of an unknown room: %v", err)
		}
	})
}

// TestLimitsUnderConcurrency: checkpoints created at once, and
// invitations accepted at once, never go past their limit (on PostgreSQL
// two read-committed transactions would both count one free slot).
func TestLimitsUnderConcurrency(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		owner := mustUser(t, db, "owner", "owner@example.com")
		now := time.Now().UTC().Truncate(time.Microsecond)
		if err := st.CreateProject(ctx, Project{ID: "p", Name: "P", OwnerID: owner.ID, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		const tries, limit = 12, 3
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				c := Checkpoint{ID: fmt.Sprintf("c%d", i), Name: "c", CreatedAt: now, CreatedBy: owner.ID}
				if err := st.CreateCheckpoint(ctx, "p", c, []byte{0, 0}, limit); err != nil && !errors.Is(err, ErrConflict) {
					t.Errorf("checkpoint %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if cs, err := st.Checkpoints(ctx, "p"); err != nil || len(cs) != limit {
			t.Errorf("%d checkpoints (%v), want the limit %d", len(cs), err, limit)
		}

		var invs []inviteRecord
		for i := range tries {
			u := mustUser(t, db, fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i))
			inv := inviteRecord{Invite: Invite{ID: fmt.Sprintf("i%d", i), Email: u.Email, Role: RoleEditor, CreatedAt: now,
				ExpiresAt: now.Add(time.Hour)}, ProjectID: "p", TokenHash: fmt.Sprintf("h%d", i), InvitedBy: owner.ID}
			if err := st.CreateInvite(ctx, inv); err != nil {
				t.Fatal(err)
			}
			invs = append(invs, inv)
		}
		for i, inv := range invs {
			wg.Go(func() {
				if err := st.AcceptInvite(ctx, inv, fmt.Sprintf("u%d", i), limit, now); err != nil && !errors.Is(err, ErrConflict) {
					t.Errorf("accept %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if n, err := st.CountMembers(ctx, "p"); err != nil || n != limit {
			t.Errorf("%d members (%v), want the limit %d", n, err, limit)
		}

		// A project in the trash takes no checkpoint.
		if err := st.SetDeleted(ctx, "p", &now, now, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCheckpoint(ctx, "p", Checkpoint{ID: "late", Name: "c", CreatedAt: now, CreatedBy: owner.ID}, []byte{0}, 100); !errors.Is(err, ErrNotFound) {
			t.Errorf("checkpoint in the trash: %v, want ErrNotFound", err)
		}
	})
}

// TestListForPages pages through a list whose sort keys tie and differ in
// their fractional seconds (SQLite compares the stored text), and checks
// the pages join up to the whole list in order, each project once.
func TestListForPages(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewStore(db)
		alice := mustUser(t, db, "alice", "alice@example.com")
		base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		type row struct {
			id string
			at time.Time
		}
		var all []row
		for i := range 25 {
			// Groups of three share a time; times step by 100 ms (so ".9"
			// sits next to a whole second) and some by a microsecond.
			at := base.Add(time.Duration(i/3) * 100 * time.Millisecond)
			if i%7 == 0 {
				at = at.Add(time.Microsecond)
			}
			p := Project{ID: fmt.Sprintf("p%02d", (i*11)%25), Name: "P", OwnerID: alice.ID, CreatedAt: base, UpdatedAt: at}
			if err := st.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
			all = append(all, row{p.ID, at})
		}
		want := make([]string, 0, len(all))
		slices.SortFunc(all, func(a, b row) int {
			if c := b.at.Compare(a.at); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		for _, r := range all {
			want = append(want, r.id)
		}
		for _, size := range []int{1, 4, 7, 25, 30} {
			var got []string
			var after ListCursor
			for range 30 {
				page, err := st.ListFor(ctx, alice.ID, false, after, size)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range page {
					got = append(got, p.ID)
				}
				if len(page) < size {
					break
				}
				last := page[len(page)-1]
				after = ListCursor{At: last.UpdatedAt, ID: last.ID}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages of %d (-want +got):\n%s", size, diff)
			}
		}

		// The trash pages by deleted_at.
		for i, id := range []string{"p03", "p07", "p11"} {
			del := base.Add(time.Hour + time.Duration(i%2)*time.Second)
			if err := st.SetDeleted(ctx, id, &del, del, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		first, err := st.ListFor(ctx, alice.ID, true, ListCursor{}, 1)
		if err != nil || len(first) != 1 || first[0].ID != "p07" {
			t.Fatalf("first trash page = %+v, %v", first, err)
		}
		rest, err := st.ListFor(ctx, alice.ID, true, ListCursor{At: *first[0].DeletedAt, ID: first[0].ID}, 10)
		if err != nil || len(rest) != 2 || rest[0].ID != "p03" || rest[1].ID != "p11" {
			t.Errorf("rest of the trash = %+v, %v", rest, err)
		}
	})
}
