package mail

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
)

// SendGridConfig configures SendGrid.
type SendGridConfig struct {
	APIKey string
	From   string // e.g. "Max Booster <no-reply@example.com>"
	// BaseURL is the API host; default https://api.sendgrid.com. Tests
	// point it at an httptest server.
	BaseURL string
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
}

// SendGrid sends mail through the SendGrid v3 Web API
// (github.com/sendgrid/sendgrid-go).
type SendGrid struct {
	cfg    SendGridConfig
	from   *sgmail.Email
	client *rest.Client
}

var _ Mailer = (*SendGrid)(nil)

// NewSendGrid checks cfg and returns a SendGrid mailer.
func NewSendGrid(cfg SendGridConfig) (*SendGrid, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("mail: sendgrid API key is empty")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.sendgrid.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	addr, err := envelopeAddress(cfg.From)
	if err != nil {
		return nil, err
	}
	name := ""
	if a, err := parseName(cfg.From); err == nil {
		name = a
	}
	return &SendGrid{cfg: cfg, from: sgmail.NewEmail(name, addr), client: &rest.Client{HTTPClient: cfg.HTTPClient}}, nil
}

// Send implements Mailer.
func (s *SendGrid) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg := sgmail.NewSingleEmailPlainText(s.from, m.Subject, sgmail.NewEmail("", m.To), m.Text)
	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/mail/send", s.cfg.BaseURL)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(msg)
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return fmt.Errorf("mail: sendgrid: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The body is SendGrid's error list; it holds no secret of ours.
		body := resp.Body
		if len(body) > 512 {
			body = body[:512]
		}
		return fmt.Errorf("mail: sendgrid: status %d: %s", resp.StatusCode, body)
	}
	return nil
}
