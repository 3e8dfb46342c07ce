package rtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Relaying. With Options.Leases, a signalling connection for a project
// whose room is held by another node is relayed there: this node dials
// the holder's /rtc/{projectId} with the client's own credentials (the
// token query, Authorization and Cookie headers), and the holder
// authenticates it exactly as a direct request. Messages are copied both
// ways unchanged; media goes straight between the browser and the holder,
// whose ICE candidates are in the offers.

// hopsHeader counts how often a connection was relayed, so that a lease
// moving between two nodes' lookups cannot send it around in a circle. It
// grants nothing: a client that sets it only refuses itself relaying.
const hopsHeader = "X-Maxbooster-Rtc-Hops"

const (
	maxHops = 2
	// maxRelayedServerMessage bounds a message from the holder to the
	// client (offers grow with the room: about 600 bytes per
	// participant); the client's messages keep Limits.MaxMessageBytes.
	maxRelayedServerMessage = 1 << 20
	relayDialTimeout        = 2 * time.Second
	relayWriteTimeout       = 5 * time.Second
	relayRetry              = 500 * time.Millisecond
)

// relay is one connection relayed to another node.
type relay struct {
	client, up *websocket.Conn
}

// route decides where ws (authorized for projectID) is served. It returns
// here true, with release to call when the connection ends, when this node
// holds the room; otherwise it relays ws to the holder (or closes it with
// 4503) and returns false once that is over. A holder that cannot be
// reached is retried until its lease could have expired (TTL), so that
// clients reconnecting after a node died land in a room on a live node.
func (s *Server) route(r *http.Request, ws *websocket.Conn, projectID string) (release func(), here bool) {
	ctx := r.Context()
	hops, _ := strconv.Atoi(r.Header.Get(hopsHeader))
	deadline := time.Now().Add(s.opts.Leases.TTL() + time.Second)
	for {
		owner, release, err := s.claim(ctx, projectID)
		if err != nil {
			s.log.Warn("rtc: room lease", "project", projectID, "err", err)
			_ = ws.Close(CloseUnavailable, "room directory unavailable; reconnect")
			return nil, false
		}
		if owner == "" {
			return release, true
		}
		if hops >= maxHops {
			_ = ws.Close(CloseUnavailable, "room moved; reconnect")
			return nil, false
		}
		up, err := s.dialHolder(ctx, r, owner, projectID, hops+1)
		if err == nil {
			s.relay(ctx, ws, up)
			return nil, false
		}
		var refused refusedError
		if errors.As(err, &refused) {
			s.log.Warn("rtc: room holder refused a relayed connection", "project", projectID, "owner", owner, "status", refused.status)
			_ = ws.Close(CloseUnavailable, fmt.Sprintf("room server refused the connection (HTTP %d)", refused.status))
			return nil, false
		}
		s.log.Debug("rtc: room holder unreachable", "project", projectID, "owner", owner, "err", err)
		if time.Now().After(deadline) {
			s.log.Warn("rtc: room holder unreachable", "project", projectID, "owner", owner, "err", err)
			_ = ws.Close(CloseUnavailable, "room server unreachable; reconnect")
			return nil, false
		}
		select {
		case <-time.After(relayRetry):
		case <-ctx.Done():
			_ = ws.CloseNow()
			return nil, false
		case <-s.stop:
			_ = ws.Close(CloseUnavailable, "server shutting down")
			return nil, false
		}
	}
}

// dialHolder opens the signalling WebSocket of projectID on the node at
// owner (its base URL), carrying r's credentials.
func (s *Server) dialHolder(ctx context.Context, r *http.Request, owner, projectID string, hops int) (*websocket.Conn, error) {
	u, err := url.Parse(strings.TrimSuffix(owner, "/") + "/rtc/" + url.PathEscape(projectID))
	if err != nil {
		return nil, fmt.Errorf("rtc: room holder url %q: %w", owner, err)
	}
	u.RawQuery = r.URL.RawQuery
	h := http.Header{}
	for _, k := range []string{"Authorization", "Cookie", "User-Agent"} {
		for _, v := range r.Header.Values(k) {
			h.Add(k, v)
		}
	}
	h.Set(hopsHeader, strconv.Itoa(hops))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
			host = prior + ", " + host
		}
		h.Set("X-Forwarded-For", host)
	}
	dctx, cancel := context.WithTimeout(ctx, relayDialTimeout)
	defer cancel()
	up, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{HTTPHeader: h})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, refusedError{status: resp.StatusCode}
		}
		return nil, fmt.Errorf("rtc: dial room holder: %w", err)
	}
	return up, nil
}

// refusedError is a holder's HTTP answer other than the upgrade (a rate
// limit, most likely): the holder is alive, so it is not retried.
type refusedError struct{ status int }

func (e refusedError) Error() string {
	return fmt.Sprintf("rtc: room holder refused the upgrade: HTTP %d", e.status)
}

// relay copies messages between client and up until either closes, then
// closes the other with the same code and reason.
func (s *Server) relay(ctx context.Context, client, up *websocket.Conn) {
	rl := &relay{client: client, up: up}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = up.Close(websocket.StatusGoingAway, "relay shutting down")
		_ = client.Close(CloseUnavailable, "server shutting down")
		return
	}
	s.wg.Add(1)
	s.relays[rl] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.relays, rl)
		s.mu.Unlock()
		s.wg.Done()
	}()
	client.SetReadLimit(s.lim.MaxMessageBytes)
	up.SetReadLimit(maxRelayedServerMessage)
	fromClient, fromUp := make(chan error, 1), make(chan error, 1)
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); fromClient <- copyMessages(ctx, up, client) }()
	go func() { defer pumps.Done(); fromUp <- copyMessages(ctx, client, up) }()
	defer pumps.Wait() // each ends once its side is closed
	select {
	case err := <-fromClient:
		var we relayWriteError
		if errors.As(err, &we) {
			// Relaying a client's message found the holder gone: the
			// holder's close (a refusal such as 4401) is what the client
			// must see, and the other pump reads it.
			select {
			case upErr := <-fromUp:
				code, reason := relayedClose(upErr, CloseUnavailable, "room server connection lost; reconnect")
				_ = client.Close(code, reason)
				_ = up.CloseNow()
				return
			case <-time.After(relayWriteTimeout):
			}
		}
		code, reason := relayedClose(err, websocket.StatusGoingAway, "client gone")
		_ = up.Close(code, reason)
	case err := <-fromUp:
		code, reason := relayedClose(err, CloseUnavailable, "room server connection lost; reconnect")
		_ = client.Close(code, reason)
	case <-s.stop:
		_ = client.Close(CloseUnavailable, "server shutting down")
		_ = up.Close(websocket.StatusGoingAway, "relay shutting down")
		return
	}
	_ = client.CloseNow()
	_ = up.CloseNow()
}

// copyMessages writes every message read from src to dst until one fails;
// a failed write is a relayWriteError.
func copyMessages(ctx context.Context, dst, src *websocket.Conn) error {
	for {
		typ, b, err := src.Read(ctx)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, relayWriteTimeout)
		err = dst.Write(wctx, typ, b)
		cancel()
		if err != nil {
			return relayWriteError{err}
		}
	}
}

// relayWriteError is copyMessages failing to write to its destination:
// that side's end, not the source's.
type relayWriteError struct{ err error }

func (e relayWriteError) Error() string { return "rtc: relay write: " + e.err.Error() }
func (e relayWriteError) Unwrap() error { return e.err }

// relayedClose is the close code and reason to pass on for err, the end
// of one side; def when that side ended without a close frame.
func relayedClose(err error, defCode websocket.StatusCode, defReason string) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return defCode, defReason
	}
	if ce.Code == websocket.StatusNoStatusRcvd {
		return websocket.StatusNormalClosure, ""
	}
	if ce.Code == websocket.StatusAbnormalClosure || ce.Code == websocket.StatusTLSHandshake {
		return defCode, defReason // codes that cannot be sent
	}
	return ce.Code, ce.Reason
}
