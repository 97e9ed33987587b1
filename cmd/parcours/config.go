package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parcours/services/auth"
)

// Config is the whole configuration, read once from the environment.
type Config struct {
	DatabaseURL     string        // DATABASE_URL
	ReplicaURL      string        // DATABASE_REPLICA_URL: a read replica for the reports; "": none
	Addr            string        // PARCOURS_ADDR
	KeysDir         string        // PARCOURS_KEYS_DIR
	Issuer          string        // PARCOURS_ISSUER
	Audience        string        // PARCOURS_AUDIENCE
	Departement     string        // PARCOURS_DEPARTEMENT
	LogLevel        slog.Level    // PARCOURS_LOG_LEVEL
	MaxBodyBytes    int64         // PARCOURS_MAX_BODY_BYTES
	MaxImportBytes  int64         // PARCOURS_MAX_IMPORT_BYTES
	DBMaxConns      int           // PARCOURS_DB_MAX_CONNS
	ShutdownTimeout time.Duration // PARCOURS_SHUTDOWN_TIMEOUT
	DBDialTimeout   time.Duration // PARCOURS_DB_CONNECT_TIMEOUT: bound on opening a database connection; 0: none
	RequestTimeout  time.Duration // PARCOURS_REQUEST_TIMEOUT: bound on a request's work in serve (database waits included); 0: none
	TokenLeeway     time.Duration // PARCOURS_TOKEN_LEEWAY
	PublicURL       string        // PARCOURS_PUBLIC_URL: where browsers reach the server
	PartnerRate     float64       // PARCOURS_PARTNER_RATE: requests per second per partner client
	PartnerBurst    int           // PARCOURS_PARTNER_BURST: requests at once per partner client
	PprofAddr       string        // PARCOURS_PPROF_ADDR: a loopback host:port serving net/http/pprof; "": off
}

// loadConfig parses and validates the environment read through getenv.
func loadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	integer := func(name string, def int64) int64 {
		raw := str(name, "")
		if raw == "" {
			return def
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive whole number, got %q", name, raw))
			return def
		}
		return n
	}
	number := func(name string, def float64) float64 {
		raw := str(name, "")
		if raw == "" {
			return def
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("%s: want a positive number such as 10 or 0.5, got %q", name, raw))
			return def
		}
		return f
	}
	duration := func(name string, def time.Duration) time.Duration {
		raw := str(name, "")
		if raw == "" {
			return def
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: want a duration such as 30s, got %q", name, raw))
			return def
		}
		return d
	}

	cfg := Config{
		DatabaseURL:     str("DATABASE_URL", ""),
		ReplicaURL:      str("DATABASE_REPLICA_URL", ""),
		Addr:            str("PARCOURS_ADDR", ":8080"),
		KeysDir:         str("PARCOURS_KEYS_DIR", ".data/keys"),
		Issuer:          str("PARCOURS_ISSUER", "parcours"),
		Audience:        str("PARCOURS_AUDIENCE", "parcours-api"),
		Departement:     str("PARCOURS_DEPARTEMENT", "47"),
		MaxBodyBytes:    integer("PARCOURS_MAX_BODY_BYTES", 1<<20),
		MaxImportBytes:  integer("PARCOURS_MAX_IMPORT_BYTES", 64<<20),
		DBMaxConns:      int(integer("PARCOURS_DB_MAX_CONNS", 20)),
		ShutdownTimeout: duration("PARCOURS_SHUTDOWN_TIMEOUT", 20*time.Second),
		DBDialTimeout:   duration("PARCOURS_DB_CONNECT_TIMEOUT", 5*time.Second),
		RequestTimeout:  duration("PARCOURS_REQUEST_TIMEOUT", time.Minute),
		TokenLeeway:     duration("PARCOURS_TOKEN_LEEWAY", 30*time.Second),
		PublicURL:       strings.TrimRight(str("PARCOURS_PUBLIC_URL", "http://localhost:8080"), "/"),
		PartnerRate:     number("PARCOURS_PARTNER_RATE", 10),
		PartnerBurst:    int(integer("PARCOURS_PARTNER_BURST", 20)),
		PprofAddr:       str("PARCOURS_PPROF_ADDR", ""),
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(str("PARCOURS_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("PARCOURS_LOG_LEVEL: want debug, info, warn or error: %w", err))
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("PARCOURS_ADDR: want host:port such as :8080: %w", err))
	}
	if cfg.PprofAddr != "" && !isLoopback(cfg.PprofAddr) {
		errs = append(errs, errors.New("PARCOURS_PPROF_ADDR: want a loopback host:port such as 127.0.0.1:6060 (profiles must not be reachable from the network)"))
	}
	if !auth.ValidDepartement(cfg.Departement) {
		errs = append(errs, fmt.Errorf("PARCOURS_DEPARTEMENT: %q is not a département code", cfg.Departement))
	}
	if cfg.TokenLeeway > auth.MaxLeeway {
		errs = append(errs, fmt.Errorf("PARCOURS_TOKEN_LEEWAY: at most %s", auth.MaxLeeway))
	}
	if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("PARCOURS_PUBLIC_URL: want an http(s) URL such as http://localhost:8080"))
	}
	for name, raw := range map[string]string{"DATABASE_URL": cfg.DatabaseURL, "DATABASE_REPLICA_URL": cfg.ReplicaURL} {
		if raw != "" && !isPostgresURL(raw) {
			errs = append(errs, fmt.Errorf("%s: want a postgres:// URL", name))
		}
	}
	return cfg, errors.Join(errs...)
}

// isPostgresURL tells whether raw parses as a postgres:// or postgresql:// URL.
func isPostgresURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}

// isLoopback tells whether addr is host:port with a host that only the machine itself can
// reach: localhost or a loopback IP (127.0.0.0/8, ::1). An empty host listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// databaseURL is raw with a connect_timeout of PARCOURS_DB_CONNECT_TIMEOUT (whole seconds,
// rounded up) unless raw sets one: without it, a database host that does not answer holds
// every request that needs a new connection for the system's TCP timeout (minutes).
func (c Config) databaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || c.DBDialTimeout <= 0 || u.Query().Has("connect_timeout") {
		return raw
	}
	q := u.Query()
	q.Set("connect_timeout", strconv.FormatFloat(math.Ceil(c.DBDialTimeout.Seconds()), 'f', 0, 64))
	u.RawQuery = q.Encode()
	return u.String()
}

// requireDatabase fails when DATABASE_URL is unset.
func (c Config) requireDatabase() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (make run sets it up; or eval \"$(scripts/pg.sh start)\")")
	}
	return nil
}

// LogValue shows the configuration with the database password masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", maskPassword(c.DatabaseURL)),
		slog.String("database_replica_url", maskPassword(c.ReplicaURL)),
		slog.String("addr", c.Addr),
		slog.String("keys_dir", c.KeysDir),
		slog.String("issuer", c.Issuer),
		slog.String("audience", c.Audience),
		slog.String("departement", c.Departement),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Int64("max_import_bytes", c.MaxImportBytes),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("db_connect_timeout", c.DBDialTimeout),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Duration("token_leeway", c.TokenLeeway),
		slog.String("public_url", c.PublicURL),
		slog.Float64("partner_rate", c.PartnerRate),
		slog.Int("partner_burst", c.PartnerBurst),
		slog.String("pprof_addr", c.PprofAddr),
	)
}

func maskPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
