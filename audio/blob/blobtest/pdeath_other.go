//go:build !linux

package blobtest

import "os/exec"

// dieWithParent is a no-op where Pdeathsig does not exist; StopServers
// still ends the server.
func dieWithParent(*exec.Cmd) {}
