package collab

import (
	"encoding/json"
	"time"
)

// Awareness holds the awareness states of one room with the rules of
// y-protocols awareness.js: an entry is accepted when its clock is newer
// than the known one, or equal with a null state removing a present
// client. It also remembers which connection introduced each client id, so
// that the states of a closed connection can be removed for everyone.
//
// Awareness is not safe for concurrent use; a room owns it from one
// goroutine.
type Awareness struct {
	states map[uint64]*awarenessState
	// removedTTL is how long the clock of a removed client is remembered,
	// so a stale re-send of its old state is refused.
	removedTTL time.Duration
}

type awarenessState struct {
	clock   uint64
	state   json.RawMessage // nil when removed
	updated time.Time
	owner   uint64 // connection id that introduced it; 0 = another node
}

// NewAwareness returns an empty awareness set.
func NewAwareness() *Awareness {
	return &Awareness{states: make(map[uint64]*awarenessState), removedTTL: time.Minute}
}

// Len returns the number of present (non-removed) states.
func (a *Awareness) Len() int {
	n := 0
	for _, s := range a.states {
		if s.state != nil {
			n++
		}
	}
	return n
}

// Tracked returns how many client ids the set remembers, present or
// recently removed.
func (a *Awareness) Tracked() int { return len(a.states) }

// Apply applies entries received from connection owner (0 for another node)
// at time now and returns the entries it accepted, ready to relay. An entry
// for a client that another connection introduced is refused, so one
// connection cannot remove or impersonate another's presence, and a
// connection may introduce at most maxOwned present client ids (0 = no
// limit).
func (a *Awareness) Apply(entries []AwarenessEntry, owner uint64, now time.Time, maxOwned int) []AwarenessEntry {
	var accepted []AwarenessEntry
	owned := -1
	for _, e := range entries {
		cur := a.states[e.ClientID]
		removal := e.Removed()
		if cur != nil && cur.owner != owner && cur.owner != 0 && owner != 0 && cur.state != nil {
			continue
		}
		if maxOwned > 0 && owner != 0 && !removal && (cur == nil || cur.state == nil || cur.owner != owner) {
			if owned < 0 {
				owned = a.OwnedBy(owner)
			}
			if owned >= maxOwned {
				continue
			}
			owned++
		}
		switch {
		case cur == nil:
			if removal {
				// Nothing to remove; remember the clock anyway.
				a.states[e.ClientID] = &awarenessState{clock: e.Clock, updated: now, owner: owner}
				continue
			}
		case cur.clock < e.Clock:
		case cur.clock == e.Clock && removal && cur.state != nil:
		default:
			continue
		}
		st := &awarenessState{clock: e.Clock, updated: now, owner: owner}
		if !removal {
			st.state = e.State
		}
		a.states[e.ClientID] = st
		accepted = append(accepted, AwarenessEntry{ClientID: e.ClientID, Clock: e.Clock, State: e.State})
	}
	return accepted
}

// RemoveOwner removes every present state introduced by connection owner,
// bumping each clock as y-protocols removeAwarenessStates does, and returns
// the removal entries to relay.
func (a *Awareness) RemoveOwner(owner uint64, now time.Time) []AwarenessEntry {
	var out []AwarenessEntry
	for id, s := range a.states {
		if s.owner != owner || s.state == nil {
			continue
		}
		s.clock++
		s.state = nil
		s.updated = now
		out = append(out, AwarenessEntry{ClientID: id, Clock: s.clock, State: json.RawMessage("null")})
	}
	return out
}

// Expire removes states not renewed for timeout (y-protocols
// outdatedTimeout, 30 s; clients renew every 15 s) and forgets removed
// clients after a minute. It returns the removals to relay.
func (a *Awareness) Expire(now time.Time, timeout time.Duration) []AwarenessEntry {
	var out []AwarenessEntry
	for id, s := range a.states {
		age := now.Sub(s.updated)
		if s.state == nil {
			if age >= a.removedTTL {
				delete(a.states, id)
			}
			continue
		}
		if age >= timeout {
			s.clock++
			s.state = nil
			s.updated = now
			out = append(out, AwarenessEntry{ClientID: id, Clock: s.clock, State: json.RawMessage("null")})
		}
	}
	return out
}

// Snapshot returns every present state, for a joining connection or a
// query-awareness request.
func (a *Awareness) Snapshot() []AwarenessEntry {
	out := make([]AwarenessEntry, 0, len(a.states))
	for id, s := range a.states {
		if s.state != nil {
			out = append(out, AwarenessEntry{ClientID: id, Clock: s.clock, State: s.state})
		}
	}
	return out
}

// OwnedBy returns how many present states connection owner introduced.
func (a *Awareness) OwnedBy(owner uint64) int {
	n := 0
	for _, s := range a.states {
		if s.owner == owner && s.state != nil {
			n++
		}
	}
	return n
}
