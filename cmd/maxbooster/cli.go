package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and failed
	exitUsage  = 2 // bad command line or configuration
)

// cli is what a subcommand gets: its output streams, the environment, and
// stopSignals, which restores default signal handling (a second Ctrl-C
// then kills the process).
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	stopSignals    func()
}

// command is one subcommand. run gets the arguments after the command
// name and returns the exit code; ctx is canceled on SIGINT/SIGTERM.
type command struct {
	summary string
	run     func(ctx context.Context, c *cli, args []string) int
}

// commands is the dispatch table. To add a subcommand, put it in its own
// file (cmd/maxbooster/NAME.go) as
//
//	func runNAME(ctx context.Context, c *cli, args []string) int { ... }
//
// and add one line here. Use parseConfig when the command needs the
// server's settings, and return exitUsage for bad arguments.
var commands = map[string]command{
	"serve":   {"run the server (the default command)", runServe},
	"migrate": {"apply pending database migrations, or list them with `migrate status`", runMigrate},
	"version": {"print the version", runVersion},
	"analyze": {"print loudness, format, tags, tempo, key and platform compliance of audio files", runAnalyze},
	"doc":     {"inspect stored Yjs documents: json, dump, merge, diff", runDoc},
}

func run(ctx context.Context, stopSignals func(), args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv, stopSignals: stopSignals}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(stdout)
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "maxbooster: unknown command %q\n", name)
		usage(stderr)
		return exitUsage
	}
	return cmd.run(ctx, c, args)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: maxbooster [command] [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `maxbooster COMMAND --help` for a command's flags.")
}

// configOrExit parses the settings for a command. It returns ok=false and
// the exit code when the command should stop: 0 after --help, 2 after one
// clear line naming a bad setting.
func (c *cli) configOrExit(name string, args []string) (Config, []string, int, bool) {
	cfg, rest, err := parseConfig(name, args, c.getenv, c.stdout)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, nil, exitOK, false
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster: %v\n", err)
		return cfg, nil, exitUsage, false
	}
	return cfg, rest, exitOK, true
}

// newLogger builds the process logger from the config.
func newLogger(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
