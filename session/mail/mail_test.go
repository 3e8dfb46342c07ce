package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	stdmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/maxbooster/maxbooster/session/mail"
)

// received is one mail the in-process SMTP server accepted.
type received struct {
	From, To string
	User     string
	TLS      bool
	Data     []byte
}

// smtpServer is a real go-smtp server on loopback that records mail.
type smtpServer struct {
	Addr string
	CA   *x509.CertPool

	mu   sync.Mutex
	got  []received
	fail error // returned from RCPT when set
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "mailer" || pass != "s3cret-pass" {
			return errors.New("invalid credentials")
		}
		ss.cur.User = user
		return nil
	}), nil
}
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error { ss.cur.From = from; return nil }
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	if ss.srv.fail != nil {
		return ss.srv.fail
	}
	ss.cur.To = to
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	_, ss.cur.TLS = ss.conn.TLSConnectionState()
	ss.srv.mu.Lock()
	ss.srv.got = append(ss.srv.got, ss.cur)
	ss.srv.mu.Unlock()
	return nil
}
func (ss *smtpSession) Reset()        { ss.cur = received{} }
func (ss *smtpSession) Logout() error { return nil }

// startSMTP runs a go-smtp server with STARTTLS on 127.0.0.1.
func startSMTP(t *testing.T, allowInsecureAuth bool) *smtpServer {
	t.Helper()
	cert, pool := selfSigned(t)
	srv := &smtpServer{CA: pool}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.AllowInsecureAuth = allowInsecureAuth
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.MaxMessageBytes = 1 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	// Close the listener too: Server.Close misses it if Serve has not started.
	t.Cleanup(func() { _ = s.Close(); _ = l.Close(); <-done })
	return srv
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

var testMsg = mail.Message{To: "artist@example.com", Subject: "Réinitialiser your password", Text: "Open https://app.example/reset#mbr_abc\nThanks = Max"}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	srv := startSMTP(t, false)
	m, err := mail.NewSMTP(mail.SMTPConfig{
		Addr: srv.Addr, From: "Max Booster <no-reply@maxbooster.test>", Username: "mailer", Password: "s3cret-pass",
		TLSConfig: &tls.Config{RootCAs: srv.CA, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "no-reply@maxbooster.test" || r.To != "artist@example.com" || r.User != "mailer" || !r.TLS {
		t.Errorf("envelope = from %q to %q user %q tls %v", r.From, r.To, r.User, r.TLS)
	}
	parsed, err := stdmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := new(mimeDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subj != testMsg.Subject {
		t.Errorf("Subject = %q (%v), want %q", subj, err, testMsg.Subject)
	}
	body, _ := io.ReadAll(qpReader(parsed.Body))
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); strings.TrimRight(got, "\n") != testMsg.Text {
		t.Errorf("body = %q, want %q", got, testMsg.Text)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := startSMTP(t, false)
	m, _ := mail.NewSMTP(mail.SMTPConfig{
		Addr: srv.Addr, From: "no-reply@maxbooster.test", Username: "mailer", Password: "wrong",
		TLSConfig: &tls.Config{RootCAs: srv.CA, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
	})
	err := m.Send(context.Background(), testMsg)
	if err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("Send = %v, want an auth error", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	srv := startSMTP(t, false)
	m, _ := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, From: "no-reply@maxbooster.test", Username: "mailer", Password: "s3cret-pass"})
	if err := m.Send(context.Background(), testMsg); err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
}

func TestSMTPPlainLoopbackAndServerRejection(t *testing.T) {
	srv := startSMTP(t, true)
	m, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, From: "no-reply@maxbooster.test", TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	if got := srv.messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("messages = %+v", got)
	}
	srv.mu.Lock()
	srv.fail = &smtp.SMTPError{Code: 550, Message: "mailbox unavailable"}
	srv.mu.Unlock()
	if err := m.Send(context.Background(), testMsg); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("Send = %v, want the server's 550", err)
	}
}

func TestNewSMTPRefusesCleartextCredentials(t *testing.T) {
	_, err := mail.NewSMTP(mail.SMTPConfig{Addr: "mail.example.com:25", From: "a@example.com", Username: "u", Password: "p", TLS: mail.TLSNone})
	if err == nil {
		t.Fatal("NewSMTP accepted credentials without TLS to a remote server")
	}
	if _, err := mail.NewSMTP(mail.SMTPConfig{Addr: "no-port", From: "a@example.com"}); err == nil {
		t.Fatal("NewSMTP accepted an address without port")
	}
	if _, err := mail.NewSMTP(mail.SMTPConfig{Addr: "h:25", From: "a@example.com", TLS: "ssl3"}); err == nil {
		t.Fatal("NewSMTP accepted an unknown TLS mode")
	}
}

func TestMessageValidate(t *testing.T) {
	for _, m := range []mail.Message{
		{To: "a@example.com\r\nBcc: victim@example.com", Subject: "s", Text: "t"},
		{To: "a@example.com", Subject: "s\r\nBcc: victim@example.com", Text: "t"},
		{To: "Victim <a@example.com>", Subject: "s", Text: "t"},
		{To: "not an address", Subject: "s", Text: "t"},
		{To: "a@example.com", Subject: "", Text: "t"},
		{To: "a@example.com", Subject: "s", Text: strings.Repeat("x", mail.MaxTextLen+1)},
	} {
		if err := m.Validate(); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Validate(%+.40v) = %v, want ErrInvalidMessage", m, err)
		}
	}
	srv := startSMTP(t, true)
	s, _ := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, From: "no-reply@maxbooster.test", TLS: mail.TLSNone})
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com\r\nRCPT TO:<x@y.z>", Subject: "s", Text: "t"}); !errors.Is(err, mail.ErrInvalidMessage) {
		t.Fatalf("Send with injected recipient = %v", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestSendGrid(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []map[string]any
		auth []string
	)
	status := http.StatusAccepted
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		reqs = append(reqs, body)
		auth = append(auth, r.Header.Get("Authorization"))
		s := status
		mu.Unlock()
		if s != http.StatusAccepted {
			w.WriteHeader(s)
			_, _ = w.Write([]byte(`{"errors":[{"message":"The provided authorization grant is invalid"}]}`))
			return
		}
		w.WriteHeader(s)
	}))
	defer ts.Close()
	sg, err := mail.NewSendGrid(mail.SendGridConfig{APIKey: "SG.test-key", From: "Max Booster <no-reply@maxbooster.test>", BaseURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := sg.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(reqs) != 1 || auth[0] != "Bearer SG.test-key" {
		t.Fatalf("requests = %d, auth = %q", len(reqs), auth)
	}
	b, _ := json.Marshal(reqs[0])
	mu.Unlock()
	for _, want := range []string{`"email":"no-reply@maxbooster.test"`, `"name":"Max Booster"`, `"email":"artist@example.com"`,
		`"subject":"Réinitialiser your password"`, `"type":"text/plain"`, `mbr_abc`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("request %s lacks %s", b, want)
		}
	}
	mu.Lock()
	status = http.StatusUnauthorized
	mu.Unlock()
	err = sg.Send(context.Background(), testMsg)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Send on 401 = %v", err)
	}
	if strings.Contains(err.Error(), "SG.test-key") {
		t.Errorf("error leaks the API key: %v", err)
	}
	if _, err := mail.NewSendGrid(mail.SendGridConfig{From: "a@example.com"}); err == nil {
		t.Error("NewSendGrid accepted an empty API key")
	}
}

type memOutbox struct{ msgs []mail.Message }

func (m *memOutbox) AddOutbox(_ context.Context, msg mail.Message) (int64, error) {
	m.msgs = append(m.msgs, msg)
	return int64(len(m.msgs)), nil
}

func TestOutboxDoesNotLogBodies(t *testing.T) {
	for _, unsafe := range []bool{false, true} {
		var logs bytes.Buffer
		st := &memOutbox{}
		o := &mail.Outbox{Store: st, Log: slog.New(slog.NewJSONHandler(&logs, nil)), UnsafeLogBodies: unsafe}
		if err := o.Send(context.Background(), testMsg); err != nil {
			t.Fatal(err)
		}
		if len(st.msgs) != 1 || st.msgs[0] != testMsg {
			t.Fatalf("outbox = %+v", st.msgs)
		}
		if !strings.Contains(logs.String(), `"outbox_id":1`) || !strings.Contains(logs.String(), "artist@example.com") {
			t.Errorf("log lacks id or recipient: %s", logs.String())
		}
		if leaked := strings.Contains(logs.String(), "mbr_abc"); leaked != unsafe {
			t.Errorf("UnsafeLogBodies=%v but body in log = %v: %s", unsafe, leaked, logs.String())
		}
	}
}

func TestNewFromConfig(t *testing.T) {
	srv := startSMTP(t, true)
	m, err := mail.New(mail.Config{SMTPURL: "smtp+insecure://mailer:s3cret-pass@" + srv.Addr, From: "no-reply@maxbooster.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), testMsg); err != nil {
		t.Fatal(err)
	}
	if got := srv.messages(); len(got) != 1 || got[0].User != "mailer" {
		t.Fatalf("messages = %+v", got)
	}
	if m, err := mail.New(mail.Config{}); m != nil || err != nil {
		t.Errorf("empty config = %v, %v; want nil, nil", m, err)
	}
	for _, c := range []mail.Config{
		{SMTPURL: "smtp://h:25", SendGridAPIKey: "k", From: "a@example.com"},
		{SMTPURL: "http://h:25", From: "a@example.com"},
		{SMTPURL: "smtp://h", From: "a@example.com"},
		{SMTPURL: "smtp+insecure://u:p@mail.example.com:25", From: "a@example.com"},
		{SMTPURL: "smtp://h:25", From: "not an address"},
	} {
		if _, err := mail.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("error repeats the password: %v", err)
		}
	}
	sg, err := mail.New(mail.Config{SendGridAPIKey: "SG.x", From: "a@example.com"})
	if _, ok := sg.(*mail.SendGrid); !ok || err != nil {
		t.Errorf("SendGrid config = %T, %v", sg, err)
	}
}
