package rtc

import (
	"container/list"
	"errors"
	"fmt"
	"sync"
)

// errMixBudget is returned when an asset does not fit in the decoded-audio
// budget (Limits.MaxMixBytes) next to what playing mixes hold.
var errMixBudget = errors.New("rtc: mix audio budget exhausted")

// pcmCache holds the decoded audio of mix assets for every mix of a
// server, within a byte budget. An asset is decoded once and shared by
// every mix (and listener) that plays it; entries a playing mix holds are
// pinned, the others are dropped least recently used first when room is
// needed. Decodes reserve their estimated size before they start, so the
// budget bounds the decoded audio at all times.
type pcmCache struct {
	mu      sync.Mutex
	budget  int64
	used    int64 // bytes of entries plus reservations
	entries map[string]*pcmEntry
	idle    list.List // unpinned entries, least recently used first
	decodes int64     // assets stored since the start
}

type pcmEntry struct {
	key   string
	pcm   PCM
	bytes int64
	refs  int
	elem  *list.Element // in idle while refs == 0
}

func newPCMCache(budget int64) *pcmCache {
	return &pcmCache{budget: budget, entries: map[string]*pcmEntry{}}
}

// acquire pins key's audio if it is cached.
func (c *pcmCache) acquire(key string) (PCM, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil, false
	}
	c.pinLocked(e)
	return e.pcm, true
}

func (c *pcmCache) pinLocked(e *pcmEntry) {
	if e.refs == 0 && e.elem != nil {
		c.idle.Remove(e.elem)
		e.elem = nil
	}
	e.refs++
}

// reserve makes room for n bytes, dropping idle entries, or fails when
// they would not fit even with every idle entry gone.
func (c *pcmCache) reserve(n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.used+n > c.budget {
		front := c.idle.Front()
		if front == nil {
			return fmt.Errorf("%w: %d bytes wanted, %d of %d in use", errMixBudget, n, c.used, c.budget)
		}
		e := front.Value.(*pcmEntry)
		c.idle.Remove(front)
		delete(c.entries, e.key)
		c.used -= e.bytes
	}
	c.used += n
	return nil
}

// unreserve returns a reservation that was not used.
func (c *pcmCache) unreserve(n int64) {
	c.mu.Lock()
	c.used -= n
	c.mu.Unlock()
}

// put stores key's decoded audio in place of a reservation of reserved
// bytes and pins it. If another decode stored key first, that one is
// pinned and returned instead.
func (c *pcmCache) put(key string, pcm PCM, reserved int64) PCM {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used -= reserved
	if e := c.entries[key]; e != nil {
		c.pinLocked(e)
		return e.pcm
	}
	c.decodes++
	e := &pcmEntry{key: key, pcm: pcm, bytes: int64(cap(pcm)) * 4, refs: 1}
	c.entries[key] = e
	c.used += e.bytes
	return pcm
}

// release unpins key; its audio stays cached until room is needed.
func (c *pcmCache) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.refs == 0 {
		return
	}
	e.refs--
	if e.refs == 0 {
		e.elem = c.idle.PushBack(e)
	}
}

// usage reports the bytes held (entries and reservations), how many
// assets are cached and how many were decoded since the start.
func (c *pcmCache) usage() (bytes int64, assets int, decodes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.entries), c.decodes
}
