package synthetic_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accompindicators"
	"parcours/services/auth"
	"parcours/services/cumul"
	"parcours/services/demo"
	"parcours/services/indicators"
	"parcours/services/orientations"
	"parcours/services/reports"
	"parcours/services/servicetest"
	"parcours/services/synthetic"
)

var small = synthetic.Options{Departements: 2, Beneficiaries: 1000, Seed: 7}

func generate(t *testing.T, opts synthetic.Options) (*gorm.DB, synthetic.Report) {
	t.Helper()
	db := servicetest.NewDB(t)
	rep, err := synthetic.Generate(context.Background(), db, opts)
	require.NoError(t, err)
	return db, rep
}

// aggregates are figures that depend on every generated value, not on the ids.
type aggregates struct {
	Beneficiaries, NoShows, Convocations, Oriented   int64
	RightsDays, DecisionDays, EnrolmentDays, Ended   int64
	Contracts, Allocations, AllocationCents, Expense int64
}

const aggregatesSQL = `SELECT
	(SELECT count(*) FROM beneficiaries WHERE departement = @d) AS beneficiaries,
	(SELECT count(*) FROM convocations WHERE departement = @d AND attendance = 'no_show') AS no_shows,
	(SELECT count(*) FROM convocations WHERE departement = @d) AS convocations,
	(SELECT count(*) FROM orientations WHERE departement = @d) AS oriented,
	(SELECT coalesce(sum(rights_opened_on - date '2019-01-01'), 0) FROM beneficiaries WHERE departement = @d) AS rights_days,
	(SELECT coalesce(sum(o.decided_on - b.rights_opened_on), 0) FROM orientations o JOIN beneficiaries b ON b.id = o.beneficiary_id
	  WHERE o.departement = @d) AS decision_days,
	(SELECT coalesce(sum(started_on - date '2019-01-01'), 0) FROM enrolments WHERE departement = @d) AS enrolment_days,
	(SELECT count(ended_on) FROM enrolments WHERE departement = @d) AS ended,
	(SELECT count(*) FROM contracts WHERE departement = @d) AS contracts,
	(SELECT count(*) FROM cumul_allocations WHERE departement = @d) AS allocations,
	(SELECT coalesce(sum(amount * 100), 0)::bigint FROM cumul_allocations WHERE departement = @d) AS allocation_cents,
	(SELECT coalesce(sum(amount * 100), 0)::bigint FROM expenses WHERE departement = @d) AS expense`

func aggregatesOf(t *testing.T, db *gorm.DB, departement string) aggregates {
	t.Helper()
	var a aggregates
	require.NoError(t, db.Raw(aggregatesSQL, map[string]any{"d": departement}).Scan(&a).Error)
	return a
}

// reportsOf runs the indicator and spend reports of 2020 for departement.
func reportsOf(t *testing.T, db *gorm.DB, departement string) (reports.Indicators, reports.Spend) {
	t.Helper()
	registry := indicators.NewRegistry()
	orientations.RegisterIndicators(registry)
	accompindicators.RegisterIndicators(registry)
	cumul.RegisterIndicators(registry)
	svc := reports.New(db, registry)
	ctx := servicetest.As(auth.Principal{Subject: "test-admin", Role: auth.RoleAdmin, Departement: departement})
	ind, err := svc.Indicators(ctx, 2020)
	require.NoError(t, err)
	asOf := time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)
	spend, err := svc.Spend(ctx, 2020, &asOf)
	require.NoError(t, err)
	return ind, spend
}

func value(t *testing.T, ind reports.Indicators, code string) float64 {
	t.Helper()
	for _, r := range ind.Rows {
		if r.Code == code {
			require.True(t, r.Value.Valid, "%s has a value", code)
			return r.Value.Decimal.InexactFloat64()
		}
	}
	t.Fatalf("no indicator %s", code)
	return 0
}

func TestTheSameSeedGivesTheSameData(t *testing.T) {
	db1, rep1 := generate(t, small)
	db2, rep2 := generate(t, small)
	assert.Equal(t, []string{"01", "02"}, rep1.Departements)
	assert.Equal(t, rep1.Tables, rep2.Tables)
	for _, tc := range rep1.Tables {
		var n int64
		require.NoError(t, db1.Table(tc.Table).Count(&n).Error)
		assert.Equal(t, int64(tc.Rows), n, tc.Table)
		assert.Positive(t, n, "%s has rows", tc.Table)
	}
	for _, d := range rep1.Departements {
		a := aggregatesOf(t, db1, d)
		assert.Equal(t, a, aggregatesOf(t, db2, d), d)
		assert.Equal(t, int64(500), a.Beneficiaries, d)
		rate := float64(a.NoShows) / float64(a.Convocations)
		assert.True(t, rate >= 0.20 && rate <= 0.30, "%s: no-show rate %.3f", d, rate)

		ind1, spend1 := reportsOf(t, db1, d)
		ind2, spend2 := reportsOf(t, db2, d)
		assert.Equal(t, ind1.Rows, ind2.Rows, "%s: the indicators", d)
		assert.Equal(t, spend1.Totals, spend2.Totals, "%s: the spend", d)
		entrants := value(t, ind1, orientations.CodeNewEntrants)
		assert.InDelta(t, 500.0/3, entrants, 50, "%s: about a third of the entrants open rights in 2020", d)
		assert.Less(t, value(t, ind1, orientations.CodeNewEntrantsOriented), entrants, "%s: the long tail misses the month", d)
		assert.True(t, spend1.Totals.Committed.Add(spend1.Totals.Paid).IsPositive(), "%s: the ledger shows in the spend", d)
	}
}

func TestAnotherSeedGivesOtherData(t *testing.T) {
	db1, _ := generate(t, small)
	other := small
	other.Seed = 8
	db2, _ := generate(t, other)
	assert.NotEqual(t, aggregatesOf(t, db1, "01"), aggregatesOf(t, db2, "01"))
}

func TestGenerateRefusesASeededDepartementAndBadOptions(t *testing.T) {
	db, _ := generate(t, synthetic.Options{Departements: 1, Beneficiaries: 10, Seed: 1})
	_, err := synthetic.Generate(context.Background(), db, synthetic.Options{Departements: 1, Beneficiaries: 10, Seed: 2})
	assert.ErrorIs(t, err, services.ErrConflict)
	var n int64
	require.NoError(t, db.Table("beneficiaries").Count(&n).Error)
	assert.Equal(t, int64(10), n, "nothing more written")

	var verr *services.ValidationError
	_, err = synthetic.Generate(context.Background(), db, synthetic.Options{Departements: 0, Beneficiaries: 10})
	assert.ErrorAs(t, err, &verr)
	_, err = synthetic.Generate(context.Background(), db, synthetic.Options{Departements: 102, Beneficiaries: 1000})
	assert.ErrorAs(t, err, &verr)
}

func TestCodesAreTheDepartementsOfFranceWithTheDemoOneLast(t *testing.T) {
	assert.Len(t, synthetic.Codes, 101, "96 metropolitan and 5 overseas")
	assert.Equal(t, demo.Departement, synthetic.Codes[100], "only the national data set takes the demo département")
	assert.NotContains(t, synthetic.Codes[:100], demo.Departement)
	assert.Subset(t, synthetic.Codes, []string{"01", "2A", "2B", "95", "971", "972", "973", "974", "976"})
	assert.NotContains(t, synthetic.Codes, "20")
	assert.NotContains(t, synthetic.Codes, "975")
	seen := map[string]bool{}
	for _, c := range synthetic.Codes {
		assert.False(t, seen[c], "%s twice", c)
		seen[c] = true
	}
}

func TestASeededDepartementIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	db := servicetest.NewDB(t)
	require.NoError(t, db.Exec(`INSERT INTO territories (departement, code, name) VALUES ('47', '47-DEMO', 'Démo')`).Error)
	_, err := synthetic.Generate(context.Background(), db, synthetic.Options{Departements: 101, Beneficiaries: 101, Seed: 1})
	assert.ErrorIs(t, err, services.ErrConflict)
	var territories, beneficiaries int64
	require.NoError(t, db.Table("territories").Count(&territories).Error)
	require.NoError(t, db.Table("beneficiaries").Count(&beneficiaries).Error)
	assert.Equal(t, [2]int64{1, 0}, [2]int64{territories, beneficiaries}, "no other département set up")
}

// schemaSQL lists the constraints and indexes of the public tables, with their definitions.
const schemaSQL = `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
	WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1`

func TestTheCopyPutsEveryKeyAndIndexBack(t *testing.T) {
	var fresh, seeded []string
	require.NoError(t, servicetest.NewDB(t).Raw(schemaSQL).Scan(&fresh).Error)
	db, _ := generate(t, synthetic.Options{Departements: 1, Beneficiaries: 50, Seed: 1})
	require.NoError(t, db.Raw(schemaSQL).Scan(&seeded).Error)
	assert.NotEmpty(t, fresh)
	assert.Equal(t, fresh, seeded)
}
