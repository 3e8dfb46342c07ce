package session

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/maxbooster/maxbooster/internal/apperr"
)

func TestRoomTokenHandler(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil, "", nil)
	c := e.register("room@example.com", goodPassword)
	me := c.want(http.StatusOK, "GET", "/api/v1/me", nil).json(t)["user"].(map[string]any)["id"].(string)

	access := func(_ context.Context, u User, project string) (string, error) {
		switch project {
		case "p-edit":
			return RoomRoleEditor, nil
		case "p-bad-role":
			return "superuser", nil
		}
		return "", apperr.E("test", apperr.NotFound, nil)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/projects/{id}/room-token", e.svc.RoomTokenHandler(access))
	srv := httptest.NewServer(e.svc.Middleware(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(project string, withCookie bool) (int, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/projects/"+project+"/room-token", nil)
		if withCookie {
			req.Header.Set("Cookie", "mb_session="+c.cookie())
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	status, body := post("p-edit", true)
	if status != 200 {
		t.Fatalf("issue: %d %s", status, body)
	}
	var got RoomTokenResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	claims, err := e.svc.RoomTokens().Verify(context.Background(), got.Token)
	if err != nil || claims.UserID != me || claims.ProjectID != "p-edit" || claims.Role != RoomRoleEditor {
		t.Fatalf("claims = %+v, %v", claims, err)
	}
	for _, tc := range []struct {
		project string
		cookie  bool
		want    int
	}{{"p-edit", false, 401}, {"p-other", true, 404}, {"p-bad-role", true, 500}, {"bad%20id", true, 404}} {
		if status, body := post(tc.project, tc.cookie); status != tc.want {
			t.Errorf("%s cookie=%v: %d %s, want %d", tc.project, tc.cookie, status, body, tc.want)
		}
	}
}
