package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Handler runs one job. It reports progress through progress (percent
// 0…100 and a short stage name such as "decoding") and returns the result
// document. It must stop when ctx ends.
type Handler func(ctx context.Context, job *Job, progress func(percent float64, stage string)) (result string, err error)

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks an error that a retry cannot fix (bad input, unsupported
// codec): the job fails without using its remaining attempts.
func Permanent(err error) error { return permanent{err} }

// Pool runs jobs from a Queue on a bounded number of workers.
type Pool struct {
	Queue    *Queue
	Handlers map[string]Handler
	// Workers is the number of jobs run at once (default 2).
	Workers int
	// Lease is how long a claim lasts without renewal (default 30 s); the
	// pool renews it every Lease/3 while a job runs.
	Lease time.Duration
	// Timeout bounds one attempt (default 10 min); a job that exceeds it
	// fails without retry.
	Timeout time.Duration
	// Poll is the pause when the queue is empty (default 500 ms).
	Poll time.Duration
	// Name identifies this process in the worker column (default host-pid).
	Name string
}

func (p *Pool) defaults() {
	if p.Workers <= 0 {
		p.Workers = 2
	}
	if p.Lease <= 0 {
		p.Lease = 30 * time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Minute
	}
	if p.Poll <= 0 {
		p.Poll = 500 * time.Millisecond
	}
	if p.Name == "" {
		host, _ := os.Hostname()
		p.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
}

// Run works until ctx ends, then waits for the running jobs to stop (their
// contexts are canceled; a canceled job goes back to the queue while it has
// attempts left) and
// returns ctx's error.
func (p *Pool) Run(ctx context.Context) error {
	p.defaults()
	var wg sync.WaitGroup
	for i := range p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.worker(ctx, fmt.Sprintf("%s/%d", p.Name, i))
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (p *Pool) worker(ctx context.Context, name string) {
	for ctx.Err() == nil {
		job, err := p.Queue.Claim(ctx, name, p.Lease)
		if err != nil || job == nil {
			select {
			case <-ctx.Done():
			case <-time.After(p.Poll):
			}
			continue
		}
		p.run(ctx, name, job)
	}
}

// run executes one claimed job and records the outcome.
func (p *Pool) run(ctx context.Context, name string, job *Job) {
	jctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()

	var mu sync.Mutex
	percent, stage := 0.0, "starting"
	progress := func(pc float64, st string) {
		mu.Lock()
		percent, stage = pc, st
		mu.Unlock()
	}
	// The heartbeat renews the lease and stores progress; it belongs to this
	// call and ends with it.
	stop := make(chan struct{})
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(p.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				pc, st := percent, stage
				mu.Unlock()
				if err := p.Queue.Progress(jctx, job.ID, name, pc, st, p.Lease); errors.Is(err, ErrLost) {
					cancel() // someone else owns the job now
					return
				}
			}
		}
	}()
	result, err := p.call(jctx, job, progress)
	close(stop)
	<-hbDone

	// Record the outcome even if ctx is ending: use a short detached context.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	switch {
	case err == nil:
		_ = p.Queue.Complete(rctx, job.ID, name, result)
	case errors.Is(jctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		_ = p.Queue.Fail(rctx, job.ID, name, fmt.Errorf("took longer than %v", p.Timeout), false)
	case IsPermanent(err):
		_ = p.Queue.Fail(rctx, job.ID, name, err, false)
	default:
		_ = p.Queue.Fail(rctx, job.ID, name, err, true)
	}
}

// call runs the handler, turning an unknown kind and a panic into
// permanent failures.
func (p *Pool) call(ctx context.Context, job *Job, progress func(float64, string)) (result string, err error) {
	h, ok := p.Handlers[job.Kind]
	if !ok {
		return "", Permanent(fmt.Errorf("no handler for job kind %q", job.Kind))
	}
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("handler panicked: %v", r))
		}
	}()
	return h(ctx, job, progress)
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
