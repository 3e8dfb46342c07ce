package rtc

import (
	"context"
	"sync"
	"time"
)

// Leases elect the one node that holds each project's room when several
// nodes serve rtc behind a load balancer (rtc/redislease implements it on
// Redis). A lease names its holder by the URL other nodes reach it at; it
// lasts TTL unless renewed, so the rooms of a node that dies move to the
// next node a client joins through once its leases expire.
type Leases interface {
	// Acquire makes this node the holder of projectID's lease unless
	// another node holds it. It returns "" when this node holds it (now or
	// already), else the holder's base URL.
	Acquire(ctx context.Context, projectID string) (owner string, err error)
	// Renew extends this node's lease by TTL. It reports false when the
	// lease is no longer this node's (expired, or taken since).
	Renew(ctx context.Context, projectID string) (bool, error)
	// Release gives the lease up if this node holds it.
	Release(ctx context.Context, projectID string) error
	// TTL is how long a lease lasts without renewal.
	TTL() time.Duration
}

// lease is this node's claim on one project's room: the signalling
// connections served here and whether the Leases lease is held.
type lease struct {
	refs int // connections of the project served here; guarded by Server.mu

	mu   sync.Mutex // serializes Acquire and Release for the project
	held bool
}

// leaseTimeout bounds one Leases call.
const leaseTimeout = 3 * time.Second

// claim counts one more local connection of projectID and makes sure this
// node holds its lease. It returns the holder's URL when another node
// holds it (and nothing is counted then); release undoes a successful
// claim.
func (s *Server) claim(ctx context.Context, projectID string) (owner string, release func(), err error) {
	s.mu.Lock()
	l := s.leases[projectID]
	if l == nil {
		l = &lease{}
		s.leases[projectID] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	if !l.held {
		actx, cancel := context.WithTimeout(ctx, leaseTimeout)
		owner, err = s.opts.Leases.Acquire(actx, projectID)
		cancel()
		if err == nil && owner == "" {
			l.held = true
		}
	}
	l.mu.Unlock()
	if err != nil || owner != "" {
		s.unclaim(projectID, l)
		return owner, nil, err
	}
	return "", func() { s.unclaim(projectID, l) }, nil
}

// unclaim drops one local connection of projectID; the last one releases
// the lease. A claim that comes meanwhile keeps it (refs is checked again
// under l.mu, which claim takes before acquiring).
func (s *Server) unclaim(projectID string, l *lease) {
	s.mu.Lock()
	l.refs--
	last := l.refs == 0
	s.mu.Unlock()
	if !last {
		return
	}
	l.mu.Lock()
	s.mu.Lock()
	still := l.refs == 0
	s.mu.Unlock()
	if still && l.held {
		ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
		if err := s.opts.Leases.Release(ctx, projectID); err != nil {
			s.log.Warn("rtc: release room lease", "project", projectID, "err", err)
		}
		cancel()
		l.held = false
	}
	l.mu.Unlock()
	s.mu.Lock()
	if l.refs == 0 && s.leases[projectID] == l {
		delete(s.leases, projectID)
	}
	s.mu.Unlock()
}

// renewLoop renews the leases of the rooms served here every third of the
// TTL until stop is closed.
func (s *Server) renewLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	every := s.opts.Leases.TTL() / 3
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		ids := make([]string, 0, len(s.leases))
		ls := make([]*lease, 0, len(s.leases))
		for id, l := range s.leases {
			ids, ls = append(ids, id), append(ls, l)
		}
		s.mu.Unlock()
		for i, l := range ls {
			s.renew(ids[i], l)
		}
	}
}

// renew extends one lease. A lease found lost (Redis restarted, or this
// node stalled past the TTL) is taken again when it is free; when another
// node holds it now, the peers here are closed with 4503 "room_moved" so
// that they reconnect into the one room.
func (s *Server) renew(projectID string, l *lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
	defer cancel()
	ok, err := s.opts.Leases.Renew(ctx, projectID)
	if err != nil {
		s.log.Warn("rtc: renew room lease", "project", projectID, "err", err)
		return // keep serving; the next renewal tries again
	}
	if ok {
		return
	}
	owner, err := s.opts.Leases.Acquire(ctx, projectID)
	if err != nil {
		s.log.Warn("rtc: retake room lease", "project", projectID, "err", err)
		return
	}
	if owner == "" {
		return
	}
	l.held = false
	s.log.Warn("rtc: room lease lost to another node; closing its peers here", "project", projectID, "owner", owner)
	s.mu.Lock()
	var moved []*peer
	for p := range s.peers {
		if p.grant.ProjectID == projectID {
			moved = append(moved, p)
		}
	}
	s.mu.Unlock()
	for _, p := range moved {
		p.fail(CloseUnavailable, "room_moved", "the room moved to another server; reconnect")
	}
}
