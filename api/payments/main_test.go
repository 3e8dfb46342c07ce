package payments

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/maxbooster/maxbooster/internal/testenv"
)

// StripeMockEnv names stripe-mock for the tests: the path of its binary
// (started here on 127.0.0.1 with a random port, stopped at the end), or
// the http:// URL of one already running. Unset, the tests look for
// ../../bin/stripe-mock-* (make stripe-mock installs it) and otherwise
// skip, or fail with CI=true.
const StripeMockEnv = "MB_TEST_STRIPE_MOCK"

var (
	mockOnce     sync.Once
	mockURL      string
	errMockStart error
	mockCmd      *exec.Cmd
)

func TestMain(m *testing.M) {
	code := m.Run()
	if mockCmd != nil && mockCmd.Process != nil {
		_ = mockCmd.Process.Kill()
		_ = mockCmd.Wait()
	}
	os.Exit(code)
}

// stripeMock returns the base URL of a running stripe-mock.
func stripeMock(tb testing.TB) string {
	tb.Helper()
	mockOnce.Do(func() { mockURL, errMockStart = startStripeMock() })
	if errMockStart != nil {
		testenv.Unavailable(tb, "stripe-mock: %v; run `make stripe-mock` or set %s", errMockStart, StripeMockEnv)
	}
	return mockURL
}

func startStripeMock() (string, error) {
	v := os.Getenv(StripeMockEnv)
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return strings.TrimSuffix(v, "/"), nil
	}
	if v == "" {
		found, _ := filepath.Glob("../../bin/stripe-mock-*")
		sort.Strings(found)
		if len(found) == 0 {
			return "", fmt.Errorf("%s is not set and ../../bin has no stripe-mock", StripeMockEnv)
		}
		v = found[len(found)-1]
	}
	cmd := exec.Command(v, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0") //nolint:gosec // test tool path from the environment
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", v, err)
	}
	mockCmd = cmd
	re := regexp.MustCompile(`Listening for HTTP at address: (\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return "http://" + addr, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("%s did not report its address within 30 s", v)
	}
}

const testWebhookSecret = "whsec_test_secret"

// signedEvent builds a Stripe event of type typ about object, signed for
// testWebhookSecret at time at (the tests make their own payloads).
func signedEvent(tb testing.TB, id, typ string, created int64, account string, object any, at time.Time) ([]byte, string) {
	tb.Helper()
	obj, err := json.Marshal(object)
	if err != nil {
		tb.Fatal(err)
	}
	ev := map[string]any{
		"id": id, "object": "event", "type": typ, "created": created, "api_version": APIVersion,
		"livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": json.RawMessage(obj)},
	}
	if account != "" {
		ev["account"] = account
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: at})
	return payload, sp.Header
}

// deliver sends a signed event to the service and processes the inbox.
func deliver(tb testing.TB, s *Service, id, typ string, created int64, account string, object any) {
	tb.Helper()
	ctx := context.Background()
	payload, header := signedEvent(tb, id, typ, created, account, object, s.now())
	if _, err := s.ReceiveWebhook(ctx, payload, header); err != nil {
		tb.Fatalf("ReceiveWebhook(%s %s): %v", typ, id, err)
	}
	if _, err := s.ProcessInbox(ctx); err != nil {
		tb.Fatalf("ProcessInbox: %v", err)
	}
}
