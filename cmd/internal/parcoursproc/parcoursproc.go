// Package parcoursproc runs the parcours binary for the driver commands (parcoursbench,
// parcoursload): one-shot subcommands, and `parcours serve` as a subprocess on a free
// loopback port, waited for until ready and stopped with SIGTERM.
package parcoursproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Run runs bin with args and env and returns its standard output; when it fails, the error
// holds its standard error.
func Run(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("parcours %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// FreeAddr returns a loopback address ("127.0.0.1:port") whose port was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Config says how to start `parcours serve`.
type Config struct {
	Bin    string        // the parcours binary
	Env    []string      // its environment; Start appends PARCOURS_ADDR
	Logs   io.Writer     // its standard error (its logs)
	Ready  string        // the path polled until it answers 200, e.g. "/healthz" or "/readyz"
	Within time.Duration // how long Start waits for that answer
}

// Server is a running `parcours serve`.
type Server struct {
	Base   string // its URL, "http://127.0.0.1:port"
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, once exited is closed
}

// Start starts `parcours serve` as cfg says on a free loopback port and waits until
// cfg.Ready answers 200; it fails when the process exits first or cfg.Within passes. ctx
// kills the process when done.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, cfg.Bin, "serve")
	cmd.Env, cmd.Stderr = append(slices.Clip(cfg.Env), "PARCOURS_ADDR="+addr), cfg.Logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("parcours serve: %w", err)
	}
	s := &Server{Base: "http://" + addr, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.awaitReady(cfg.Ready, cfg.Within); err != nil {
		_ = s.Stop(5 * time.Second)
		return nil, err
	}
	return s, nil
}

// awaitReady polls path until it answers 200, the process exits or within passes.
func (s *Server) awaitReady(path string, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(s.Base + path); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("parcours serve exited before answering: %v", s.err)
		default:
		}
	}
	return fmt.Errorf("parcours serve did not answer %s on %s within %s", path, s.Base, within)
}

// Pid is the process id of the server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited is closed once the process has exited; Err then holds its exit status.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Err is the exit status of the process, once Exited is closed.
func (s *Server) Err() error { return s.err }

// Terminate sends SIGTERM: the server stops accepting and drains its requests.
func (s *Server) Terminate() error { return s.cmd.Process.Signal(syscall.SIGTERM) }

// Wait waits at most timeout for the process to exit and returns its exit status; an error
// when it is still running then.
func (s *Server) Wait(timeout time.Duration) error {
	select {
	case <-s.exited:
		return s.err
	case <-time.After(timeout):
		return errors.New("parcours serve still running " + timeout.String() + " after SIGTERM")
	}
}

// Stop sends SIGTERM and waits for the exit, killing the process after timeout.
func (s *Server) Stop(timeout time.Duration) error {
	_ = s.Terminate()
	err := s.Wait(timeout)
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return err
}

// Call sends method url with token as bearer through client, and body as JSON when it is not
// empty, and returns the answer's body; a status other than want is an error.
func Call(ctx context.Context, client *http.Client, method, url, token string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, req.URL.RequestURI(), resp.StatusCode, want, raw)
	}
	return raw, err
}
