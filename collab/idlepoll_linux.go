//go:build linux

package collab

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// idlePoller waits for the next message of idle connections (y-websocket
// and Hocuspocus) without a goroutine each.
//
// Most of a hub's connections are idle, and a goroutine waiting for a
// socket to become readable costs its stack (2 KiB at least) and its g:
// with 10,000 idle connections that was a quarter of the hub's memory,
// twice over once the garbage collector's headroom is counted. The reader
// of a quiet connection (see readConn for which) parks it here instead
// and ends: the poller's own epoll instance watches the socket (level
// triggered, one shot), and when bytes arrive (or the peer hangs up) it
// starts the connection's reader again.
//
// The epoll instance is itself watched by Go's netpoller (an epoll file
// descriptor is readable while it has events ready), so the poller's
// goroutine waits like any network read: it holds no thread and no P.
//
// A parked connection is identified by a token, never by its file
// descriptor, which the kernel reuses once the socket is closed. Exactly
// one of the poller (on readiness) and the socket (socket.fail, when the
// hub closes the connection) takes a token and resumes the reader; the
// other finds it gone.
type idlePoller struct {
	ep  *os.File // the epoll instance, non-blocking, in Go's netpoller
	raw syscall.RawConn

	mu     sync.Mutex
	parked map[uint64]func()
	next   uint64
	closed bool
	done   chan struct{}
}

// newIdlePoller starts a poller; nil when epoll is not available (the
// hub then keeps a waiting goroutine per connection).
func newIdlePoller() *idlePoller {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil
	}
	ep := os.NewFile(uintptr(fd), "collab-idlepoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return nil
	}
	p := &idlePoller{ep: ep, raw: raw, parked: make(map[uint64]func()), done: make(chan struct{})}
	go p.run()
	return p
}

// park arms the socket under raw: resume runs once, on the poller's
// goroutine, when it is readable, hung up or failed, unless take(token)
// got the token first. *armed records that the socket is registered with
// this poller (the first park adds it, the later ones re-arm it); only
// the connection's reader, one at a time, parks it. ok is false when the
// socket could not be armed (closed, or the poller is): the caller must
// resume the reader itself.
func (p *idlePoller) park(raw syscall.RawConn, armed *bool, resume func()) (token uint64, ok bool) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, false
	}
	p.next++
	token = p.next
	p.parked[token] = resume
	p.mu.Unlock()

	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
	ev.Fd, ev.Pad = int32(uint32(token)), int32(uint32(token>>32)) //nolint:gosec // the token's two halves, reassembled bit for bit by tokenOf
	var ctlErr error
	// Control holds the socket's descriptor open for the call: a socket
	// closed meanwhile fails here instead of arming whatever reused it.
	err := raw.Control(func(fd uintptr) {
		var epfd int
		if ctlErr = p.raw.Control(func(e uintptr) { epfd = int(e) }); ctlErr != nil {
			return
		}
		op := unix.EPOLL_CTL_MOD
		if !*armed {
			op = unix.EPOLL_CTL_ADD
		}
		ctlErr = unix.EpollCtl(epfd, op, int(fd), &ev)
		if ctlErr == nil {
			*armed = true
		}
	})
	if err != nil || ctlErr != nil {
		p.take(token)
		return 0, false
	}
	return token, true
}

// take removes token's resume function and returns it; nil when the
// token was taken already.
func (p *idlePoller) take(token uint64) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.parked[token]
	delete(p.parked, token)
	return f
}

// tokenOf reassembles the token park stored in an event.
func tokenOf(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32 //nolint:gosec // see park
}

// run resumes the readers of sockets that became ready until close.
func (p *idlePoller) run() {
	defer close(p.done)
	evs := make([]unix.EpollEvent, 128)
	var ready []func()
	for {
		ready = ready[:0]
		var waitErr error
		err := p.raw.Read(func(fd uintptr) bool {
			for {
				n, err := unix.EpollWait(int(fd), evs, 0)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case err != nil:
					waitErr = err
					return true
				case n == 0:
					// Nothing (more) ready: wait in the netpoller.
					return len(ready) > 0
				}
				for i := range evs[:n] {
					if f := p.take(tokenOf(&evs[i])); f != nil {
						ready = append(ready, f)
					}
				}
				if n < len(evs) {
					return true
				}
			}
		})
		for _, f := range ready {
			f()
		}
		if err != nil || waitErr != nil {
			// Closed, or epoll failed: no socket can wait here any more.
			for _, f := range p.shutdown() {
				f()
			}
			return
		}
	}
}

// shutdown marks the poller closed (park fails from now on) and returns
// the resume functions of the sockets still parked.
func (p *idlePoller) shutdown() []func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	rest := make([]func(), 0, len(p.parked))
	for t, f := range p.parked {
		rest = append(rest, f)
		delete(p.parked, t)
	}
	return rest
}

// close stops the poller; every reader still parked is resumed (its
// socket sees the hub's close). It may be called more than once.
func (p *idlePoller) close() {
	rest := p.shutdown()
	_ = p.ep.Close()
	<-p.done
	for _, f := range rest {
		f()
	}
}
