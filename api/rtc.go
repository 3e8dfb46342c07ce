package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/internal/apperr"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/rtc/redislease"
	"github.com/maxbooster/maxbooster/session"
)

// rtcDeps is what the rtc block in NewHandler hands mountRTC: project
// access (current role), the collab hub (the project documents the mix
// follows), and, when the assets module is mounted, asset files and the
// blob store for recordings.
type rtcDeps struct {
	tokens *session.RoomTokens
	access func(ctx context.Context, userID, projectID string) (string, error)
	hub    *collab.Hub
	// openAsset opens an asset userID may read: its preview or its
	// original, with the project it belongs to. Nil: no asset previews.
	openAsset func(ctx context.Context, userID, assetID string, preview bool) (blob.Object, string, error)
	// recordings stores live recordings: as project assets with the
	// assets service, else as blobs. Nil: recording refused.
	recordings rtc.Recordings
}

// newRTCDeps gathers rtcDeps; as (the assets service) and blobs may be nil.
func newRTCDeps(tokens *session.RoomTokens, access func(ctx context.Context, userID, projectID string) (string, error),
	hub *collab.Hub, as *assets.Service, blobs blob.Store) rtcDeps {
	rd := rtcDeps{tokens: tokens, access: access, hub: hub}
	switch {
	case as != nil:
		rd.recordings = assetRecordings{as}
	case blobs != nil:
		rd.recordings = blobRecordings{blobs}
	}
	if as != nil {
		rd.openAsset = func(ctx context.Context, userID, assetID string, preview bool) (blob.Object, string, error) {
			which := assets.BlobOriginal
			if preview {
				which = assets.BlobPreview
			}
			o, a, err := as.Open(ctx, assets.Caller{UserID: userID}, assetID, which)
			if err != nil {
				return nil, "", err
			}
			project := ""
			if a.ProjectID != nil {
				project = *a.ProjectID
			}
			return o, project, nil
		}
	}
	return rd
}

// mountRTC serves WebRTC signalling (package rtc) at GET /rtc/{projectId}:
// asset and mix previews and live sessions, admitting room tokens (role
// re-checked with projects at every join) or a session cookie. The engine's
// one UDP port (and optional ICE-TCP port) come from d.RTC. With d.Redis
// and d.RTCNodeURL, rooms are leased to one node each and signalling
// arriving at another node is relayed to it (rtc.Options.Leases). Lifecycle:
// Shutdown closes every peer (close code 4503), then the sockets.
func mountRTC(mux *http.ServeMux, d Deps, rd rtcDeps) error {
	cfg := d.RTC
	if cfg.Logger == nil {
		cfg.Logger = d.Logger
	}
	eng, err := rtc.NewEngine(cfg)
	if err != nil {
		return fmt.Errorf("api: rtc engine: %w", err)
	}
	var origins []string
	for _, o := range d.CORSOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			origins = append(origins, u.Host)
		}
	}
	current := func(ctx context.Context, g rtc.Grant) (rtc.Grant, error) {
		if rd.access == nil {
			return g, nil
		}
		now, err := rd.access(ctx, g.UserID, g.ProjectID)
		if err != nil {
			return rtc.Grant{}, err
		}
		if roleRank(now) < roleRank(g.Role) {
			g.Role = now // lowered since the token was issued
		}
		return g, nil
	}
	opts := rtc.Options{
		Engine: eng,
		Verify: func(ctx context.Context, tok string) (rtc.Grant, error) {
			c, err := rd.tokens.Verify(ctx, tok)
			if err != nil {
				return rtc.Grant{}, err
			}
			return current(ctx, rtc.Grant{UserID: c.UserID, ProjectID: c.ProjectID, Role: c.Role})
		},
		OriginPatterns: origins,
		Logger:         d.Logger,
	}
	if rd.access != nil {
		opts.Access = func(r *http.Request, projectID string) (rtc.Grant, error) {
			u, ok := session.UserFromContext(r.Context())
			if !ok {
				return rtc.Grant{}, fmt.Errorf("api: rtc: not signed in")
			}
			role, err := rd.access(r.Context(), u.ID, projectID)
			if err != nil {
				return rtc.Grant{}, fmt.Errorf("%w: %w", rtc.ErrNoAccess, err)
			}
			return rtc.Grant{UserID: u.ID, ProjectID: projectID, Role: role}, nil
		}
	}
	if rd.hub != nil {
		opts.Docs = rtc.HubDocs(rd.hub)
	}
	if rd.openAsset != nil {
		opts.Assets = rtcAssets{rd.openAsset}
	}
	if rd.recordings != nil {
		opts.Recordings = rd.recordings
	}
	switch {
	case d.Redis != nil && d.RTCNodeURL != "":
		leases, err := redislease.New(d.Redis, redislease.Options{NodeURL: d.RTCNodeURL, Prefix: d.redisPrefix() + "rtc:room:"})
		if err != nil {
			_ = eng.Close()
			return fmt.Errorf("api: rtc: %w", err)
		}
		opts.Leases = leases
	case d.Redis != nil:
		d.Logger.Warn("rtc: no node URL: rtc rooms stay on the node a connection arrives at, so collaborators on different nodes do not meet")
	}
	srv, err := rtc.NewServer(opts)
	if err != nil {
		_ = eng.Close()
		return fmt.Errorf("api: rtc: %w", err)
	}
	if err := d.Lifecycle.Go(func(ctx context.Context) {
		<-ctx.Done() // Shutdown began
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := srv.Close(cctx); err != nil {
			d.Logger.Warn("rtc: close", "err", err)
		}
		_ = eng.Close()
	}); err != nil {
		_ = eng.Close()
		return err
	}
	tcp := "off"
	if a := eng.TCPAddr(); a != nil {
		tcp = a.String()
	}
	d.Logger.Info("rtc: listening", "udp", eng.UDPAddr().String(), "tcp", tcp, "shared_rooms", opts.Leases != nil)
	mux.Handle("GET /rtc/{projectId}", srv)
	return nil
}

func roleRank(role string) int {
	switch role {
	case "owner":
		return 3
	case "editor":
		return 2
	case "viewer":
		return 1
	}
	return 0
}

// rtcAssets opens assets through the assets module, checking that the
// asset belongs to the project being previewed.
type rtcAssets struct {
	open func(ctx context.Context, userID, assetID string, preview bool) (blob.Object, string, error)
}

func (a rtcAssets) get(ctx context.Context, userID, projectID, assetID string, preview bool) (blob.Object, error) {
	o, project, err := a.open(ctx, userID, assetID, preview)
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.NotFound || k == apperr.Conflict || k == apperr.Forbidden {
			return nil, fmt.Errorf("api: rtc asset %s: %w (%w)", assetID, blob.ErrNotFound, err)
		}
		return nil, err
	}
	if project != projectID {
		_ = o.Close()
		return nil, fmt.Errorf("api: rtc asset %s is not in project %s: %w", assetID, projectID, blob.ErrNotFound)
	}
	return o, nil
}

func (a rtcAssets) Preview(ctx context.Context, userID, projectID, assetID string) (io.ReadCloser, error) {
	return a.get(ctx, userID, projectID, assetID, true)
}

func (a rtcAssets) Audio(ctx context.Context, userID, projectID, assetID string) (blob.Object, error) {
	return a.get(ctx, userID, projectID, assetID, false)
}

// maxRecordingBytes bounds what a recording may store (rtc stops
// recording at 64 MiB).
const maxRecordingBytes = 65 << 20

// assetRecordings makes each recording an asset of the project, owned by
// the recorded user (their quota; analysis and preview queued as for an
// upload), so it can be dropped into the project as a clip.
type assetRecordings struct{ s *assets.Service }

func (a assetRecordings) StoreRecording(ctx context.Context, userID, projectID, filename string, r io.Reader, size int64) (rtc.Stored, error) {
	as, err := a.s.Create(ctx, assets.Caller{UserID: userID}, assets.CreateInput{Filename: filename, ProjectID: projectID, Body: r, Size: size})
	if err != nil {
		return rtc.Stored{}, err
	}
	return rtc.Stored{AssetID: as.ID, Blob: as.SHA256, Bytes: as.Size}, nil
}

// blobRecordings keeps recordings as plain blobs.
type blobRecordings struct{ b blob.Store }

func (b blobRecordings) StoreRecording(ctx context.Context, _, _, _ string, r io.Reader, _ int64) (rtc.Stored, error) {
	ref, err := b.b.Put(ctx, r, maxRecordingBytes)
	if err != nil {
		return rtc.Stored{}, err
	}
	return rtc.Stored{Blob: ref.Key, Bytes: ref.Size}, nil
}
