package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/servicetest"
)

func TestPurgeCommand(t *testing.T) {
	db, url := servicetest.NewDBWithURL(t)
	env := map[string]string{"DATABASE_URL": url, "PARCOURS_KEYS_DIR": t.TempDir()}
	_, err := run(t, env, "seed", "demo")
	require.NoError(t, err)
	require.NoError(t, db.Exec(`UPDATE beneficiaries SET created_at = created_at - interval '3 years', updated_at = updated_at - interval '3 years'
		WHERE allocataire_number = '9470010'`).Error)
	for _, table := range []string{"convocations", "formal_notices"} {
		require.NoError(t, db.Exec(`UPDATE `+table+` SET created_at = created_at - interval '3 years', updated_at = updated_at - interval '3 years'`).Error)
	}
	require.NoError(t, db.Exec(`INSERT INTO audit_events (departement, occurred_at, actor, role, action, resource, resource_id)
		VALUES ('47', now() - interval '13 months', 'agent', 'agent', 'read', 'beneficiary', '1')`).Error)

	out, err := run(t, env, "purge", "--dry-run")
	require.NoError(t, err)
	assert.Contains(t, out, "beneficiaries to anonymise: 1 (no pathway event since ")
	assert.Contains(t, out, "audit events to delete: 1 (older than ")
	assert.Contains(t, out, "dry run: nothing changed")

	out, err = run(t, env, "purge", "--batch-size", "10")
	require.NoError(t, err)
	assert.Contains(t, out, "beneficiaries anonymised: 1 (")
	assert.Contains(t, out, "retention P2Y")
	assert.Contains(t, out, "audit events deleted: 1 (")
	assert.Contains(t, out, "2 transactions (audit request id purge-")
	var name string
	require.NoError(t, db.Raw(`SELECT last_name FROM beneficiaries WHERE allocataire_number LIKE 'ANON-%'`).Scan(&name).Error)
	assert.Equal(t, "ANONYMISÉ", name)

	_, err = run(t, map[string]string{"DATABASE_URL": url, "PARCOURS_RETENTION_AUDIT": "P6M"}, "purge")
	assert.ErrorContains(t, err, "shorter than the P1Y the database enforces")
	_, err = run(t, map[string]string{"DATABASE_URL": url, "PARCOURS_RETENTION_CASE": "2 years", "PARCOURS_RETENTION_AUDIT": "P0D"}, "purge")
	assert.ErrorContains(t, err, "PARCOURS_RETENTION_CASE")
	assert.ErrorContains(t, err, "PARCOURS_RETENTION_AUDIT")
	_, err = run(t, env, "purge", "--batch-size", "0")
	assert.ErrorContains(t, err, "--batch-size")
}
