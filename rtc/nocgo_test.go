//go:build !cgo

package rtc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/rtc"
)

// TestMixNeedsOpus: without cgo, a mix preview is refused with a clear
// message (asset previews and live sessions still work).
func TestMixNeedsOpus(t *testing.T) {
	checkLeaks(t)
	e := newEnv(t, rtc.Limits{})
	c := e.dial(t, "p1", "u1", "viewer", rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview}, rtc.ClientOptions{})
	defer c.Close()
	m := waitEvent(t, c, rtc.MsgError, 5*time.Second)
	if m.Code != "unavailable" || !strings.Contains(m.Message, "libopus") {
		t.Errorf("error %+v, want unavailable naming libopus", m)
	}
	<-c.Done()
	if code := rtc.CloseCode(c.Err()); code != rtc.CloseUnavailable {
		t.Errorf("close code %d, want %d", code, rtc.CloseUnavailable)
	}
}
