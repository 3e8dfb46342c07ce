package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Audio format constants shared by previews and live sessions.
const (
	SampleRate  = 48000
	Channels    = 2
	FrameDur    = 20 * time.Millisecond
	FrameLen    = 960 // samples per channel in one 20 ms frame
	OpusFmtp    = "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"
	AudioLevel  = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	opusPayload = 111
)

// Config configures the Engine. The zero value listens on 127.0.0.1 with
// a free UDP port and host candidates only.
type Config struct {
	// UDP is the one UDP address every peer connection shares (ICE UDP
	// mux), e.g. "0.0.0.0:3478". Empty means "127.0.0.1:0".
	UDP string
	// TCP, if set, also accepts ICE over TCP on this address (for clients
	// whose UDP is blocked).
	TCP string
	// PublicIPs are announced instead of the local address (1:1 NAT, e.g.
	// a cloud VM's public IP). Empty announces the local host candidates.
	PublicIPs []string
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// Ephemeral gives every peer connection its own ephemeral UDP port on
	// UDP's IP instead of one shared port. It is for clients (tests, load
	// generators): two connections sharing a port cannot both talk to the
	// same server port, since the server tells peers apart by address.
	Ephemeral bool
}

// Engine is the process's WebRTC stack: one webrtc.API and its sockets.
type Engine struct {
	api  *webrtc.API
	udp  net.PacketConn
	mux  ice.UDPMux
	tcpL net.Listener
	tcpM ice.TCPMux
	log  *slog.Logger
}

// NewEngine opens the sockets and builds the API. Close releases them.
func NewEngine(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := registerInterceptors(ir); err != nil {
		return nil, err
	}
	addr := cfg.UDP
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtc: udp address %q: %w", addr, err)
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	e := &Engine{log: log}
	se := webrtc.SettingEngine{LoggerFactory: lf}
	if !cfg.Ephemeral {
		udp, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, fmt.Errorf("rtc: listen udp %s: %w", addr, err)
		}
		_ = udp.SetReadBuffer(4 << 20) // best effort: fewer drops under load
		_ = udp.SetWriteBuffer(4 << 20)
		e.udp = udp
		e.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: udp, Logger: lf.NewLogger("udpmux")})
		se.SetICEUDPMux(e.mux)
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	local := ua.IP
	if local != nil && !local.IsUnspecified() {
		// Only the address we listen on: host candidates on other
		// interfaces would name a socket that does not exist.
		want := local
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(want) })
		if local.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		}
		if local.To4() != nil {
			networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
		} else {
			networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP6}
		}
	}
	if cfg.TCP != "" {
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", cfg.TCP)
		if err != nil {
			e.closeSockets()
			return nil, fmt.Errorf("rtc: listen tcp %s: %w", cfg.TCP, err)
		}
		e.tcpL = l
		e.tcpM = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), l, 32)
		se.SetICETCPMux(e.tcpM)
		if ta, ok := l.Addr().(*net.TCPAddr); ok && ta.IP.To4() == nil && !ta.IP.IsUnspecified() {
			networks = append(networks, webrtc.NetworkTypeTCP6)
		} else {
			networks = append(networks, webrtc.NetworkTypeTCP4)
		}
	}
	se.SetNetworkTypes(networks)
	if len(cfg.PublicIPs) > 0 {
		for _, ip := range cfg.PublicIPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				e.closeSockets()
				return nil, fmt.Errorf("rtc: public ip %q: %w", ip, err)
			}
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			e.closeSockets()
			return nil, fmt.Errorf("rtc: public ip: %w", err)
		}
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return e, nil
}

// registerCodecs registers Opus (stereo, NACK feedback) and the RFC 6464
// audio-level header extension.
func registerCodecs(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: SampleRate, Channels: Channels, SDPFmtpLine: OpusFmtp,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}},
		},
		PayloadType: opusPayload,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("rtc: register opus: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevel}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("rtc: register audio level: %w", err)
	}
	return nil
}

// registerInterceptors adds NACK (generator and responder) and RTCP
// sender/receiver reports.
func registerInterceptors(ir *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return fmt.Errorf("rtc: nack generator: %w", err)
	}
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return fmt.Errorf("rtc: nack responder: %w", err)
	}
	ir.Add(resp)
	ir.Add(gen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return fmt.Errorf("rtc: receiver reports: %w", err)
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return fmt.Errorf("rtc: sender reports: %w", err)
	}
	ir.Add(rr)
	ir.Add(sr)
	return nil
}

// API is the engine's webrtc.API, for peers made outside this package
// (tests, load generators) that must share its configuration.
func (e *Engine) API() *webrtc.API { return e.api }

// UDPAddr is the address of the shared UDP port, or nil for an
// Ephemeral engine.
func (e *Engine) UDPAddr() net.Addr {
	if e.udp == nil {
		return nil
	}
	return e.udp.LocalAddr()
}

// TCPAddr is the ICE-TCP address, or nil when TCP is off.
func (e *Engine) TCPAddr() net.Addr {
	if e.tcpL == nil {
		return nil
	}
	return e.tcpL.Addr()
}

func (e *Engine) closeSockets() {
	if e.mux != nil {
		_ = e.mux.Close()
		_ = e.udp.Close()
	}
	if e.tcpM != nil {
		_ = e.tcpM.Close()
	}
	if e.tcpL != nil {
		_ = e.tcpL.Close()
	}
}

// Close closes the sockets. Close peer connections first (Server.Close).
func (e *Engine) Close() error {
	e.closeSockets()
	return nil
}

// ParsePublicIPs splits a comma-separated list of IP addresses.
func ParsePublicIPs(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if _, err := netip.ParseAddr(f); err != nil {
			return nil, errors.New("want comma-separated IP addresses")
		}
		out = append(out, f)
	}
	return out, nil
}
