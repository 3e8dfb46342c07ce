package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
)

// Client is a Go participant speaking the signalling protocol: tests, the
// benchmarks' load generator and server-side tools use it. It answers the
// server's offers and trickles candidates both ways.
type Client struct {
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	opts ClientOptions

	// Events receives every message that is not an offer or a candidate
	// (welcome, joined, left, speaking, muted, recorded, error). It is
	// buffered; when full, events are dropped.
	Events chan Message

	mu      sync.Mutex
	pending []webrtc.ICECandidateInit
	held    []webrtc.ICECandidateInit
	answers int

	done   chan struct{}
	err    error
	cancel context.CancelFunc // ends the reader's context
}

// ClientOptions configure Dial.
type ClientOptions struct {
	// Setup prepares the connection before the join is sent: add a track
	// to publish, install OnTrack and OnDataChannel handlers.
	Setup func(pc *webrtc.PeerConnection) error
	// HoldCandidates sends the answer only after every local candidate
	// was sent (the server must buffer them). Tests use it.
	HoldCandidates bool
	// NoAnswer never answers offers (tests of the answer timeout).
	NoAnswer bool
	// Header is sent with the WebSocket handshake (a session Cookie,
	// Authorization: Bearer).
	Header http.Header
}

// Dial connects to url (ws://host/rtc/{projectId}?token=...), sends join
// and starts answering offers. Close releases it.
func Dial(ctx context.Context, api *webrtc.API, url string, join Message, opts ClientOptions) (*Client, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: opts.Header})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("rtc client: dial: %w", err)
	}
	ws.SetReadLimit(1 << 20)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("rtc client: %w", err)
	}
	c := &Client{ws: ws, pc: pc, opts: opts, Events: make(chan Message, 256), done: make(chan struct{})}
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		ci := ic.ToJSON()
		if opts.HoldCandidates {
			c.mu.Lock()
			c.held = append(c.held, ci)
			c.mu.Unlock()
			return
		}
		_ = c.send(context.Background(), Message{Type: MsgCandidate, Candidate: &ci})
	})
	if opts.Setup != nil {
		if err := opts.Setup(pc); err != nil {
			_ = pc.Close()
			_ = ws.CloseNow()
			return nil, err
		}
	}
	if err := c.send(ctx, join); err != nil {
		_ = pc.Close()
		_ = ws.CloseNow()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	go c.readLoop(rctx)
	return c, nil
}

// PC is the client's peer connection.
func (c *Client) PC() *webrtc.PeerConnection { return c.pc }

// Send writes one signalling message.
func (c *Client) Send(ctx context.Context, m Message) error { return c.send(ctx, m) }

// SendRaw writes a text frame as is (tests of bad input).
func (c *Client) SendRaw(ctx context.Context, b []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Client) send(ctx context.Context, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Done is closed when the signalling socket ends; Err then says why
// (a websocket.CloseError carries the server's close code).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is the error that ended the socket, after Done.
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Answers counts the offers answered so far.
func (c *Client) Answers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers
}

func (c *Client) readLoop(ctx context.Context) {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			c.err = err
			return
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = fmt.Errorf("rtc client: bad message: %w", err)
			_ = c.ws.CloseNow()
			return
		}
		switch m.Type {
		case MsgOffer:
			if c.opts.NoAnswer {
				continue
			}
			if err := c.answer(ctx, m.SDP); err != nil {
				c.err = err
				_ = c.ws.CloseNow()
				return
			}
		case MsgCandidate:
			if m.Candidate == nil {
				continue
			}
			c.mu.Lock()
			if c.pc.RemoteDescription() == nil {
				c.pending = append(c.pending, *m.Candidate)
			} else {
				_ = c.pc.AddICECandidate(*m.Candidate)
			}
			c.mu.Unlock()
		default:
			select {
			case c.Events <- m:
			default:
			}
		}
	}
}

func (c *Client) answer(ctx context.Context, sdp string) error {
	c.mu.Lock()
	err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	if err == nil {
		for _, ci := range c.pending {
			_ = c.pc.AddICECandidate(ci)
		}
		c.pending = nil
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("rtc client: offer: %w", err)
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("rtc client: answer: %w", err)
	}
	var gathered <-chan struct{}
	if c.opts.HoldCandidates {
		gathered = webrtc.GatheringCompletePromise(c.pc)
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("rtc client: answer: %w", err)
	}
	if gathered != nil {
		<-gathered
		c.mu.Lock()
		held := c.held
		c.held = nil
		c.mu.Unlock()
		for _, cand := range held {
			ci := cand
			if err := c.send(ctx, Message{Type: MsgCandidate, Candidate: &ci}); err != nil {
				return err
			}
		}
	}
	c.mu.Lock()
	c.answers++
	c.mu.Unlock()
	return c.send(ctx, Message{Type: MsgAnswer, SDP: ans.SDP})
}

// PendingCandidates lists the server candidates held because no offer was
// applied yet (with NoAnswer, every candidate the server sent).
func (c *Client) PendingCandidates() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.pending))
	for _, p := range c.pending {
		out = append(out, p.Candidate)
	}
	return out
}

// Close ends the connection and waits for the reader.
func (c *Client) Close() error {
	err := c.pc.Close()
	_ = c.ws.Close(websocket.StatusNormalClosure, "bye")
	c.cancel()
	<-c.done
	return err
}

// CloseCode is the close code the server ended the socket with, or -1.
func CloseCode(err error) websocket.StatusCode {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}
