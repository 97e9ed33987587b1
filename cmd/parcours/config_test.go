package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(envOf(nil))
	require.NoError(t, err)
	assert.Equal(t, Config{
		Addr: ":8080", KeysDir: ".data/keys", Issuer: "parcours", Audience: "parcours-api", Departement: "47",
		LogLevel: slog.LevelInfo, MaxBodyBytes: 1 << 20, MaxImportBytes: 64 << 20, DBMaxConns: 20,
		ShutdownTimeout: 20 * time.Second, TokenLeeway: 30 * time.Second, PublicURL: "http://localhost:8080",
		DBDialTimeout: 5 * time.Second, RequestTimeout: time.Minute,
		PartnerRate: 10, PartnerBurst: 20,
	}, cfg)
	assert.ErrorContains(t, cfg.requireDatabase(), "DATABASE_URL is not set")
}

func TestLoadConfigRejectsBadValues(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want string
	}{
		"addr":        {map[string]string{"PARCOURS_ADDR": "8080"}, "PARCOURS_ADDR"},
		"departement": {map[string]string{"PARCOURS_DEPARTEMENT": "99"}, "PARCOURS_DEPARTEMENT"},
		"log level":   {map[string]string{"PARCOURS_LOG_LEVEL": "loud"}, "PARCOURS_LOG_LEVEL"},
		"body limit":  {map[string]string{"PARCOURS_MAX_BODY_BYTES": "-1"}, "PARCOURS_MAX_BODY_BYTES"},
		"conns":       {map[string]string{"PARCOURS_DB_MAX_CONNS": "many"}, "PARCOURS_DB_MAX_CONNS"},
		"shutdown":    {map[string]string{"PARCOURS_SHUTDOWN_TIMEOUT": "soon"}, "PARCOURS_SHUTDOWN_TIMEOUT"},
		"dial":        {map[string]string{"PARCOURS_DB_CONNECT_TIMEOUT": "5"}, "PARCOURS_DB_CONNECT_TIMEOUT"},
		"request":     {map[string]string{"PARCOURS_REQUEST_TIMEOUT": "-1s"}, "PARCOURS_REQUEST_TIMEOUT"},
		"leeway":      {map[string]string{"PARCOURS_TOKEN_LEEWAY": "5m"}, "PARCOURS_TOKEN_LEEWAY"},
		"database":    {map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		"replica":     {map[string]string{"DATABASE_REPLICA_URL": "replica:5432"}, "DATABASE_REPLICA_URL"},
		"public url":  {map[string]string{"PARCOURS_PUBLIC_URL": "localhost"}, "PARCOURS_PUBLIC_URL"},
		"rate":        {map[string]string{"PARCOURS_PARTNER_RATE": "0"}, "PARCOURS_PARTNER_RATE"},
		"rate nan":    {map[string]string{"PARCOURS_PARTNER_RATE": "NaN"}, "PARCOURS_PARTNER_RATE"},
		"burst":       {map[string]string{"PARCOURS_PARTNER_BURST": "1.5"}, "PARCOURS_PARTNER_BURST"},
		"pprof all":   {map[string]string{"PARCOURS_PPROF_ADDR": ":6060"}, "PARCOURS_PPROF_ADDR"},
		"pprof lan":   {map[string]string{"PARCOURS_PPROF_ADDR": "192.168.1.2:6060"}, "PARCOURS_PPROF_ADDR"},
		"pprof any":   {map[string]string{"PARCOURS_PPROF_ADDR": "0.0.0.0:6060"}, "PARCOURS_PPROF_ADDR"},
		"pprof host":  {map[string]string{"PARCOURS_PPROF_ADDR": "example.org:6060"}, "PARCOURS_PPROF_ADDR"},
		"pprof port":  {map[string]string{"PARCOURS_PPROF_ADDR": "127.0.0.1"}, "PARCOURS_PPROF_ADDR"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(envOf(tt.env))
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := loadConfig(envOf(map[string]string{"PARCOURS_ADDR": "x", "PARCOURS_DEPARTEMENT": "00"}))
	assert.ErrorContains(t, err, "PARCOURS_ADDR")
	assert.ErrorContains(t, err, "PARCOURS_DEPARTEMENT", "every bad variable is reported at once")
}

func TestLoadConfigAcceptsLoopbackPprof(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060", "127.0.0.2:0"} {
		cfg, err := loadConfig(envOf(map[string]string{"PARCOURS_PPROF_ADDR": addr}))
		require.NoError(t, err, addr)
		assert.Equal(t, addr, cfg.PprofAddr)
	}
}

func TestDatabaseURLBoundsTheConnect(t *testing.T) {
	cfg := Config{DBDialTimeout: 2500 * time.Millisecond}
	for raw, want := range map[string]string{
		"postgres://u@db:5432/parcours?sslmode=disable":               "postgres://u@db:5432/parcours?connect_timeout=3&sslmode=disable",
		"postgres://u@db/parcours":                                    "postgres://u@db/parcours?connect_timeout=3",
		"postgres://u@db/parcours?connect_timeout=10&sslmode=disable": "postgres://u@db/parcours?connect_timeout=10&sslmode=disable",
	} {
		assert.Equal(t, want, cfg.databaseURL(raw), raw)
	}
	assert.Equal(t, "postgres://u@db/parcours", Config{}.databaseURL("postgres://u@db/parcours"), "0: no bound")
}

func TestConfigLogMasksThePassword(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{
		"DATABASE_URL":         "postgres://app:s3cret@db:5432/parcours",
		"DATABASE_REPLICA_URL": "postgresql://reader:r3plica@standby:5433/parcours",
	}))
	require.NoError(t, err)
	assert.Equal(t, "postgresql://reader:r3plica@standby:5433/parcours", cfg.ReplicaURL)
	shown := cfg.LogValue().String()
	assert.NotContains(t, shown, "s3cret")
	assert.NotContains(t, shown, "r3plica")
	assert.Contains(t, shown, "app:xxxxx@db:5432")
	assert.Contains(t, shown, "reader:xxxxx@standby:5433")
}
