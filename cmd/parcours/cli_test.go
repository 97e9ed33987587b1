package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/auth"
	"parcours/services/servicetest"
)

// run executes the CLI with env and args and returns its stdout.
func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd(envOf(env))
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTokenCommandPrintsAVerifiableToken(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PARCOURS_KEYS_DIR": dir}
	out, err := run(t, env, "token", "--role", "agent", "--territories", "47-AGEN1, 47-NERAC", "--ttl", "2h", "--sub", "marie")
	require.NoError(t, err)
	raw := strings.TrimSpace(out)
	assert.Equal(t, 2, strings.Count(raw, "."), "the token alone on stdout")

	keys, err := auth.LoadKeyset(dir)
	require.NoError(t, err)
	p, err := auth.NewTokens(keys, auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api", Leeway: time.Second}).Verify(raw)
	require.NoError(t, err)
	assert.Equal(t, auth.Principal{Subject: "marie", Role: auth.RoleAgent, Departement: "47", Territories: []string{"47-AGEN1", "47-NERAC"}}, p)

	_, err = run(t, env, "token", "--role", "root")
	assert.ErrorContains(t, err, "unknown role")
	_, err = run(t, env, "token", "--role", "partner")
	assert.ErrorContains(t, err, "organisation")
}

func TestServeRefusesAnOutdatedSchema(t *testing.T) {
	db, url := servicetest.NewDBWithURL(t)
	require.NoError(t, db.Exec(`DELETE FROM goose_db_version WHERE version_id > 0`).Error)
	_, err := run(t, map[string]string{"DATABASE_URL": url, "PARCOURS_KEYS_DIR": t.TempDir(), "PARCOURS_ADDR": "127.0.0.1:0"}, "serve")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to serve")
	assert.Contains(t, err.Error(), "parcours migrate up")
}

func TestMigrateAndSeedCommands(t *testing.T) {
	db, url := servicetest.NewDBWithURL(t)
	env := map[string]string{"DATABASE_URL": url, "PARCOURS_KEYS_DIR": t.TempDir()}

	out, err := run(t, env, "migrate", "up")
	require.NoError(t, err)
	assert.Contains(t, out, "schema already current")
	out, err = run(t, env, "migrate", "status")
	require.NoError(t, err)
	assert.Contains(t, out, "0001_foundation.sql")
	assert.Contains(t, out, "applied")

	out, err = run(t, env, "seed", "demo")
	require.NoError(t, err)
	assert.Contains(t, out, "8 territories created, 0 already there")
	out, err = run(t, env, "seed", "demo")
	require.NoError(t, err)
	assert.Contains(t, out, "0 territories created, 8 already there", "seeding twice changes nothing")
	var n int64
	require.NoError(t, db.Table("territories").Count(&n).Error)
	assert.Equal(t, int64(8), n)
}

func TestTokenLinkPrintsASingleUseLoginURL(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, map[string]string{"PARCOURS_KEYS_DIR": dir, "PARCOURS_PUBLIC_URL": "https://parcours.example/"}, "token", "--role", "manager", "--link")
	require.NoError(t, err)
	url := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(url, "https://parcours.example/login?token="), url)
	keys, err := auth.LoadKeyset(dir)
	require.NoError(t, err)
	p, jti, expires, err := auth.NewTokens(keys, auth.TokenConfig{Issuer: "parcours", Audience: "parcours-api"}).
		VerifyLogin(strings.TrimPrefix(url, "https://parcours.example/login?token="))
	require.NoError(t, err)
	assert.Equal(t, auth.RoleManager, p.Role)
	assert.NotEmpty(t, jti)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), expires, 5*time.Second)
}
