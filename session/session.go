// Package session is the gate in front of every Max Booster API: accounts
// (register, log in, verify email, reset and change passwords), server-side
// sessions behind an HttpOnly cookie, personal access tokens for REST
// clients, short-lived room tokens (JWT) for collab and rtc connections,
// teams with roles, rate limits, cross-origin protection and an audit log
// of security events.
//
// Other modules use Authenticator.Middleware (or RequireUser) and read the
// caller with UserFromContext; HasScope and RequireScope check what a
// personal access token may do; RoomTokens issues and verifies room tokens.
package session
