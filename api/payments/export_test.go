package payments

// Test helpers for the external handler tests (package payments_test).
var (
	StripeMockForTest  = stripeMock
	SignedEventForTest = signedEvent
)

// TestWebhookSecret is the signing secret the tests use.
const TestWebhookSecret = testWebhookSecret
