package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/redisbus"
	"github.com/maxbooster/maxbooster/session"
	"github.com/maxbooster/maxbooster/store"
)

// mountCollab serves the real-time hub (package collab): y-websocket at
// GET /collab/{projectId} and Hocuspocus at GET /hocuspocus, admitting
// room tokens from session. Updates are appended to the database log
// before anyone sees them; with Redis, rooms are shared between nodes.
// Lifecycle: Shutdown closes the hub (connections, then rooms flushed to
// the log); Flush stops the log's committer and the Redis bus. The hub
// and its DocStore are returned for modules that read, edit or follow
// project documents in process (Hub.State, Hub.Apply, Hub.Watch) or manage
// rooms (Hub.Revoke). access, when not nil, is asked for the user's
// current role at every join: a token issued before a role was lowered,
// a member removed or the project deleted then no longer grants more.
func mountCollab(mux *http.ServeMux, d Deps, tokens *session.RoomTokens, access func(ctx context.Context, userID, projectID string) (string, error)) (*collab.Hub, *store.DocStore, error) {
	docs := store.NewDocStore(d.DB, nil)
	var bus collab.Bus
	var rb *redisbus.Bus
	if d.Redis != nil {
		rb = redisbus.New(d.Redis, redisbus.Options{Prefix: d.redisPrefix() + "collab:"})
		bus = rb
	}
	var origins []string
	for _, o := range d.CORSOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			origins = append(origins, u.Host)
		}
	}
	hub, err := collab.NewHub(collab.Options{
		Store:  docs,
		Bus:    bus,
		Logger: d.Logger,
		Auth: collab.RoomTokenAuthorizer{Verify: func(ctx context.Context, tok string) (collab.RoomGrant, error) {
			c, err := tokens.Verify(ctx, tok)
			if err != nil {
				return collab.RoomGrant{}, err
			}
			g := collab.RoomGrant{UserID: c.UserID, ProjectID: c.ProjectID, Role: c.Role}
			if access != nil {
				now, err := access(ctx, c.UserID, c.ProjectID)
				if err != nil {
					return collab.RoomGrant{}, err
				}
				if have, _ := collab.ParseRole(now); have < mustRole(c.Role) {
					g.Role = now // lowered since the token was issued
				}
			}
			return g, nil
		}},
		OriginPatterns: origins,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("api: collab hub: %w", err)
	}
	if err := d.Lifecycle.Go(func(ctx context.Context) {
		<-ctx.Done() // Shutdown began
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := hub.Close(cctx); err != nil {
			d.Logger.Warn("collab: hub close", "err", err)
		}
	}); err != nil {
		return nil, nil, err
	}
	d.Lifecycle.OnFlush("collab update log", func(context.Context) error { return docs.Close() })
	if rb != nil {
		d.Lifecycle.OnFlush("collab redis bus", func(context.Context) error { return rb.Close() })
	}
	mux.Handle("GET /collab/{projectId}", hub)
	mux.HandleFunc("GET /hocuspocus", hub.ServeHocuspocus)
	return hub, docs, nil
}

// mustRole is the collab role of a verified token's role name (Verify
// accepts only known names).
func mustRole(name string) collab.Role {
	r, _ := collab.ParseRole(name)
	return r
}
