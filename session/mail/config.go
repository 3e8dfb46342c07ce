package mail

import (
	"errors"
	"fmt"
	"net/url"
)

// Config selects a Mailer from settings, as the server's configuration
// gives them.
type Config struct {
	// SMTPURL is smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465
	// (TLS from the start) or smtp+insecure://host:25 (no TLS; refused with
	// credentials unless the host is loopback).
	SMTPURL string
	// SendGridAPIKey selects the SendGrid Web API.
	SendGridAPIKey string
	// From is the sender, e.g. "Max Booster <no-reply@example.com>".
	From string
}

// New returns the Mailer cfg selects, or nil when it selects none (the
// caller then uses the outbox). Setting both SMTP and SendGrid is an
// error.
func New(cfg Config) (Mailer, error) {
	switch {
	case cfg.SMTPURL != "" && cfg.SendGridAPIKey != "":
		return nil, errors.New("mail: configure SMTP or SendGrid, not both")
	case cfg.SendGridAPIKey != "":
		return NewSendGrid(SendGridConfig{APIKey: cfg.SendGridAPIKey, From: cfg.From})
	case cfg.SMTPURL == "":
		return nil, nil
	}
	u, err := url.Parse(cfg.SMTPURL)
	if err != nil {
		return nil, errors.New("mail: SMTP URL does not parse") // the error would repeat the password
	}
	c := SMTPConfig{Addr: u.Host, From: cfg.From}
	switch u.Scheme {
	case "smtp":
		c.TLS = TLSStartTLS
	case "smtps":
		c.TLS = TLSImplicit
	case "smtp+insecure":
		c.TLS = TLSNone
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: want smtp, smtps or smtp+insecure", u.Scheme)
	}
	if u.Port() == "" {
		return nil, errors.New("mail: SMTP URL needs a port")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return NewSMTP(c)
}
