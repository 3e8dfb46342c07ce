// Package mail sends the account mails (email verification, password
// reset) through a narrow Mailer interface with three implementations: SMTP,
// the SendGrid Web API, and Outbox, the default, which keeps every mail in
// an outbox table and logs that it did, without the body (bodies carry
// secrets such as reset links).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Limits on what a Message may hold.
const (
	MaxSubjectLen = 998
	MaxTextLen    = 64 << 10
)

// ErrInvalidMessage is returned for a message with a bad address, a
// header-injection attempt or an oversized field.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string // bare address
	Subject string
	Text    string // UTF-8 body
}

// Validate checks m before it is sent.
func (m Message) Validate() error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: line break in a header", ErrInvalidMessage)
	}
	if a, err := mail.ParseAddress(m.To); err != nil || a.Name != "" || a.Address != m.To {
		return fmt.Errorf("%w: recipient", ErrInvalidMessage)
	}
	if m.Subject == "" || len(m.Subject) > MaxSubjectLen || len(m.Text) > MaxTextLen {
		return fmt.Errorf("%w: subject or body size", ErrInvalidMessage)
	}
	return nil
}

// Mailer sends a message. Implementations are safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// compose renders m as an RFC 5322 message from from.
func compose(from string, m Message, now time.Time) []byte {
	var b bytes.Buffer
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := "maxbooster.local"
	if _, d, ok := strings.Cut(from, "@"); ok {
		domain = strings.TrimSuffix(d, ">")
	}
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// envelopeAddress returns the bare address of a From value such as
// "Max Booster <no-reply@example.com>".
func envelopeAddress(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("mail: from address: %w", err)
	}
	return a.Address, nil
}
