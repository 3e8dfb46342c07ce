// Package sentrytest runs a local HTTP endpoint that speaks enough of the
// Sentry envelope protocol for tests to receive and inspect the events a
// real sentry-go client sends.
package sentrytest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Event is the part of a Sentry event payload tests look at. Raw is the
// whole payload as received, for leak checks.
type Event struct {
	Raw        string            `json:"-"`
	Level      string            `json:"level"`
	Message    string            `json:"message"`
	ServerName string            `json:"server_name"`
	Release    string            `json:"release"`
	Tags       map[string]string `json:"tags"`
	User       struct {
		ID string `json:"id"`
	} `json:"user"`
	Request struct {
		URL         string            `json:"url"`
		Method      string            `json:"method"`
		QueryString string            `json:"query_string"`
		Cookies     string            `json:"cookies"`
		Headers     map[string]string `json:"headers"`
	} `json:"request"`
	Exception []struct {
		Type       string `json:"type"`
		Value      string `json:"value"`
		Stacktrace *struct {
			Frames []struct {
				Function string `json:"function"`
			} `json:"frames"`
		} `json:"stacktrace"`
	} `json:"exception"`
}

// Server receives envelopes at /api/{project}/envelope/.
type Server struct {
	srv    *httptest.Server
	events chan Event
}

// NewServer starts a receiver on loopback, closed when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{events: make(chan Event, 100)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	tb.Cleanup(s.srv.Close)
	return s
}

// DSN returns a DSN pointing at the server, project 42.
func (s *Server) DSN() string {
	return strings.Replace(s.srv.URL, "http://", "http://publickey@", 1) + "/42"
}

// WaitEvent returns the next error event, failing the test after 10 s.
func (s *Server) WaitEvent(tb testing.TB) Event {
	tb.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		tb.Fatal("sentrytest: no event received within 10s")
		return Event{}
	}
}

// NoEvent fails the test if an event arrives within d.
func (s *Server) NoEvent(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case ev := <-s.events:
		tb.Errorf("sentrytest: unexpected event: %s", ev.Raw)
	case <-time.After(d):
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/envelope/") {
		http.Error(w, "not an envelope endpoint", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, 10<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	events, err := parseEnvelope(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ev := range events {
		s.events <- ev
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"00000000000000000000000000000000"}`)
}

// parseEnvelope reads the envelope header line, then item header + payload
// pairs, returning the "event" items.
func parseEnvelope(data []byte) ([]Event, error) {
	rd := bufio.NewReader(bytes.NewReader(data))
	if _, err := rd.ReadBytes('\n'); err != nil {
		return nil, fmt.Errorf("sentrytest: envelope header: %w", err)
	}
	var out []Event
	for {
		line, err := rd.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				return out, nil
			}
			continue
		}
		var item struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if jerr := json.Unmarshal(line, &item); jerr != nil {
			return nil, fmt.Errorf("sentrytest: item header %q: %w", line, jerr)
		}
		var payload []byte
		if item.Length != nil {
			payload = make([]byte, *item.Length)
			if _, err := io.ReadFull(rd, payload); err != nil {
				return nil, fmt.Errorf("sentrytest: item payload: %w", err)
			}
			_, _ = rd.ReadByte() // the newline after the payload, if any
		} else {
			payload, _ = rd.ReadBytes('\n')
		}
		if item.Type == "event" {
			var ev Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("sentrytest: event payload: %w", err)
			}
			ev.Raw = string(payload)
			out = append(out, ev)
		}
	}
}
