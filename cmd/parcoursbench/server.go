package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parcours/cmd/internal/parcoursproc"
)

// server is a running `parcours serve` on a loopback port and an admin token for it.
type server struct {
	*parcoursproc.Server
	token  string
	client *http.Client
}

// startServer starts `parcours serve` on a free loopback port and waits until it answers.
func startServer(ctx context.Context, cfg config, env []string) (*server, error) {
	token, err := parcours(ctx, cfg, env, "token", "--role", "admin", "--ttl", "1h")
	if err != nil {
		return nil, err
	}
	proc, err := parcoursproc.Start(ctx, parcoursproc.Config{Bin: cfg.bin, Env: env, Logs: os.Stderr, Ready: "/healthz", Within: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	return &server{Server: proc, token: strings.TrimSpace(token), client: &http.Client{Transport: transport, Timeout: 60 * time.Second}}, nil
}

// stop sends SIGTERM to the server and waits for it to exit.
func (s *server) stop() { _ = s.Stop(time.Minute) }

// do sends one request with the admin token and fails on any status but want.
func (s *server) do(method, path string, body []byte, want int) error {
	_, err := parcoursproc.Call(context.Background(), s.client, method, s.Base+path, s.token, body, want)
	return err
}

// conn is one keep-alive HTTP/1.1 connection to the server, held by one load-generating
// worker as a pgbench client holds its database connection: each request is written as bytes
// and its answer read with net/http's parser, without the http.Client's connection pool and
// its two goroutines per connection, whose scheduling would take CPU from the server and
// PostgreSQL on the cores they all share.
type conn struct {
	s   *server
	c   net.Conn
	r   *bufio.Reader
	req bytes.Buffer
}

// dial opens a connection to the server.
func (s *server) dial() (*conn, error) {
	c, err := net.Dial("tcp", strings.TrimPrefix(s.Base, "http://"))
	if err != nil {
		return nil, err
	}
	return &conn{s: s, c: c, r: bufio.NewReader(c)}, nil
}

// do sends one request with the admin token and fails on any status but want.
func (c *conn) do(method, path string, body []byte, want int) error {
	c.req.Reset()
	fmt.Fprintf(&c.req, "%s %s HTTP/1.1\r\nHost: parcoursbench\r\nAuthorization: Bearer %s\r\n", method, path, c.s.token)
	if body != nil {
		fmt.Fprintf(&c.req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	c.req.WriteString("\r\n")
	c.req.Write(body)
	if _, err := c.c.Write(c.req.Bytes()); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// load runs n calls of call(cn, i), i in [0, n), on c workers, each with its own connection
// to the server, and returns the calls per second. As pgbench's tps "without initial
// connection time", the clock starts once every worker is connected.
func load(s *server, n, c int, call func(cn *conn, i int) error) (float64, error) {
	conns := make([]*conn, c)
	for k := range conns {
		cn, err := s.dial()
		if err != nil {
			return 0, err
		}
		defer cn.c.Close()
		conns[k] = cn
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c)
	start := time.Now()
	for _, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := call(cn, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}
