//go:build !linux

package collab

import "syscall"

// idlePoller is Linux only (epoll); elsewhere newIdlePoller returns nil and
// every idle connection keeps a goroutine waiting for its next message.
type idlePoller struct{}

func newIdlePoller() *idlePoller { return nil }

func (*idlePoller) park(syscall.RawConn, *bool, func()) (uint64, bool) { return 0, false }
func (*idlePoller) take(uint64) func()                                 { return nil }
func (*idlePoller) close()                                             {}
