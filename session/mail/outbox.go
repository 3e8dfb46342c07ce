package mail

import (
	"context"
	"log/slog"
	"net/mail"
)

// OutboxStore keeps sent mail. session's store implements it on the
// session_mail_outbox table.
type OutboxStore interface {
	AddOutbox(ctx context.Context, m Message) (id int64, err error)
}

// Outbox is the default Mailer: it writes each mail to the outbox table
// and logs recipient, subject and outbox id. It logs the body only when
// UnsafeLogBodies is set, because bodies carry single-use secrets.
type Outbox struct {
	Store           OutboxStore
	Log             *slog.Logger
	UnsafeLogBodies bool
}

var _ Mailer = (*Outbox)(nil)

// Send implements Mailer.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	id, err := o.Store.AddOutbox(ctx, m)
	if err != nil {
		return err
	}
	if o.Log != nil {
		attrs := []any{slog.Int64("outbox_id", id), slog.String("to", m.To), slog.String("subject", m.Subject)}
		if o.UnsafeLogBodies {
			attrs = append(attrs, slog.String("body", m.Text))
		}
		o.Log.InfoContext(ctx, "mail: written to outbox", attrs...)
	}
	return nil
}

func parseName(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", err
	}
	return a.Name, nil
}
