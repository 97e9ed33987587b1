package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// parcours runs the parcours binary with env and returns its standard output.
func parcours(ctx context.Context, bin string, env []string, args ...string) (string, error) {
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

// environment is what every parcours command of a run gets: the database, a keys folder of
// the run, the synthetic département, quiet logs.
func environment(databaseURL, keysDir string, extra ...string) []string {
	env := append(os.Environ(),
		"DATABASE_URL="+databaseURL,
		"PARCOURS_KEYS_DIR="+keysDir,
		"PARCOURS_DEPARTEMENT="+departement,
		"PARCOURS_LOG_LEVEL=warn",
	)
	return append(env, extra...)
}

// prepare migrates the database and seeds the synthetic département.
func prepare(ctx context.Context, bin string, env []string, beneficiaries int) error {
	for _, args := range [][]string{
		{"migrate", "up"},
		{"seed", "synthetic", "--departements", "1", "--beneficiaries", fmt.Sprint(beneficiaries), "--seed", "1"},
	} {
		if _, err := parcours(ctx, bin, env, args...); err != nil {
			return err
		}
	}
	return nil
}

// server is a running `parcours serve` on a loopback port.
type server struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, once exited is closed
}

// startServer starts `parcours serve` on a free loopback port, its logs going to logs, and
// waits until it answers.
func startServer(bin string, env []string, logs io.Writer) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env, cmd.Stderr = append(env, "PARCOURS_ADDR="+addr), logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("parcours serve: %w", err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("parcours serve exited before answering: %v", s.err)
		default:
		}
	}
	s.stop(5 * time.Second)
	return nil, fmt.Errorf("parcours serve did not become ready on %s", addr)
}

// terminate sends SIGTERM: the server stops accepting and drains its requests.
func (s *server) terminate() error { return s.cmd.Process.Signal(syscall.SIGTERM) }

// wait waits at most timeout for the process to exit and returns its exit status; an error
// when it is still running then.
func (s *server) wait(timeout time.Duration) error {
	select {
	case <-s.exited:
		return s.err
	case <-time.After(timeout):
		return errors.New("parcours serve still running " + timeout.String() + " after SIGTERM")
	}
}

// stop sends SIGTERM and waits for the exit, killing the process after timeout.
func (s *server) stop(timeout time.Duration) error {
	_ = s.terminate()
	err := s.wait(timeout)
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return err
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
