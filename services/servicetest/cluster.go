package servicetest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a PostgreSQL cluster of a test's own, run from the machine's binaries (as the
// postgres user when the test runs as root, as scripts/pg.sh does): a test may stop and
// start it at will, which it must never do to the shared cluster behind DATABASE_URL. It is
// stopped and removed when the test ends.
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	data string
	port int
	opts string
}

// StartCluster initialises a fresh cluster (trust authentication, fsync off) with a database
// named parcours, starts it on a free loopback port and returns it. settings are extra
// server settings such as "max_connections=50".
func StartCluster(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	c := newCluster(t, settings)
	c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")
	c.Start()
	c.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", "parcours")
	return c
}

// StartStandby makes a streaming standby of the server at primary (a postgres:// URL) with
// pg_basebackup -R, starts it on a free loopback port and returns it. A hot standby needs at
// least the primary's max_connections: pass it in settings.
func StartStandby(t testing.TB, primary string, settings ...string) *Cluster {
	t.Helper()
	server, err := url.Parse(primary)
	if err != nil {
		t.Fatalf("primary URL: %v", err)
	}
	c := newCluster(t, settings)
	c.run("pg_basebackup", "-h", server.Hostname(), "-p", server.Port(), "-U", "postgres",
		"-D", c.data, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	c.Start()
	return c
}

// newCluster prepares a folder the cluster owner may write in, a free port, and the cleanup.
func newCluster(t testing.TB, settings []string) *Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "parcours-cluster-")
	if err != nil {
		t.Fatalf("cluster folder: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("cluster folder: %v", err)
	}
	handToOwner(t, dir)
	c := &Cluster{t: t, bin: PostgresBinaries(t), dir: dir, data: filepath.Join(dir, "data"), port: FreePort(t)}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c fsync=off", c.port, c.data)
	for _, s := range settings {
		if strings.ContainsAny(s, " \t") {
			t.Fatalf("server setting %q: pg_ctl -o takes settings without spaces", s)
		}
		c.opts += " -c " + s
	}
	t.Cleanup(func() {
		_ = c.command("pg_ctl", "-D", c.data, "-m", "immediate", "stop").Run()
		_ = os.RemoveAll(dir)
	})
	return c
}

// Port is the cluster's loopback port.
func (c *Cluster) Port() int { return c.port }

// URL is the postgres:// URL of database on the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// Start starts the (stopped) cluster on its port and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data, "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", c.opts, "start")
}

// Stop stops the cluster in the pg_ctl shutdown mode given ("fast": sessions are terminated
// with 57P01, "immediate": the server quits at once) and waits until it has.
func (c *Cluster) Stop(mode string) {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data, "-m", mode, "-w", "stop")
}

// Log is the server log so far, for a failing test to show.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return string(b)
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	return PGCommand(filepath.Join(c.bin, name), args...)
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := c.command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v: %s\n%s", cmd, err, out, c.Log())
	}
}

// PostgresBinaries is the newest /usr/lib/postgresql/*/bin with pg_basebackup, as
// scripts/pg.sh picks.
func PostgresBinaries(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "pg_basebackup")); err == nil {
			return dir
		}
	}
	t.Fatal("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
	return ""
}

func versionOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// PGCommand runs a PostgreSQL binary as the postgres user when we are root (the server
// refuses to run as root), as scripts/pg.sh does.
func PGCommand(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// handToOwner hands dir to the postgres user when we are root.
func handToOwner(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("the postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
}

// FreePort is a loopback TCP port nothing listens on at the moment.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
