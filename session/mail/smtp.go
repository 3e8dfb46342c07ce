package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS (required)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS; refused with credentials unless the server is on loopback
)

// SMTPConfig configures SMTP. Zero values mean the documented defaults.
type SMTPConfig struct {
	Addr     string // host:port
	From     string // e.g. "Max Booster <no-reply@example.com>"
	Username string // empty: no AUTH
	Password string
	TLS      string        // TLSStartTLS (default), TLSImplicit or TLSNone
	Timeout  time.Duration // whole conversation; default 30s
	// TLSConfig overrides the TLS client config (tests pass their own CA).
	TLSConfig *tls.Config
}

// SMTP sends mail through an SMTP server (github.com/emersion/go-smtp).
type SMTP struct {
	cfg SMTPConfig
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP checks cfg and returns an SMTP mailer.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp address: %w", err)
	}
	if _, err := envelopeAddress(cfg.From); err != nil {
		return nil, err
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if cfg.Username != "" && !isLoopback(host) {
			return nil, errors.New("mail: refusing to send SMTP credentials without TLS to a non-loopback server")
		}
	default:
		return nil, fmt.Errorf("mail: unknown smtp TLS mode %q", cfg.TLS)
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return &SMTP{cfg: cfg}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send implements Mailer.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	from, _ := envelopeAddress(s.cfg.From)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mail: smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection if ctx ends mid-conversation.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, s.cfg.TLSConfig))
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, s.cfg.TLSConfig)
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("mail: smtp starttls: %w", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return fmt.Errorf("mail: smtp auth: %w", err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("mail: smtp MAIL: %w", err)
	}
	if err := c.Rcpt(m.To, nil); err != nil {
		return fmt.Errorf("mail: smtp RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: smtp DATA: %w", err)
	}
	if _, err := w.Write(compose(s.cfg.From, m, time.Now())); err != nil {
		return fmt.Errorf("mail: smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: smtp DATA end: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("mail: smtp QUIT: %w", err)
	}
	return nil
}
