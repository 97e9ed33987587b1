package demo_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services/budget"
	"parcours/services/demo"
	"parcours/services/pii"
	"parcours/services/servicetest"
)

func testCipher(t *testing.T) *pii.Cipher {
	t.Helper()
	c, err := pii.NewCipher(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	return c
}

func TestSeedLoadsTheDemoDataOnce(t *testing.T) {
	db := servicetest.NewDB(t)
	ctx := context.Background()
	cipher := testCipher(t)
	rep, err := demo.Seed(ctx, db, cipher)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{
		Created: 8,
		Budget:  budget.SeedReport{Loaded: true, Actions: 14, BudgetLines: 37, Indicators: 76, FundingLines: 7},
		Pathway: demo.PathwayReport{Organisations: 21, Referents: 5, Sessions: 1, Beneficiaries: 10, Convocations: 10,
			CatchUps: 2, FormalNotices: 1, Orientations: 9},
	}, rep)

	var before int64
	require.NoError(t, db.Model(&models.AuditEvent{}).Count(&before).Error)
	rep, err = demo.Seed(ctx, db, cipher)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{Existing: 8, Pathway: demo.PathwayReport{OrganisationsExisting: 21}}, rep, "a second run changes nothing")
	var after int64
	require.NoError(t, db.Model(&models.AuditEvent{}).Count(&after).Error)
	assert.Equal(t, before, after, "nor writes an audit row")

	var rows []models.Territory
	require.NoError(t, db.Order("code").Find(&rows).Error)
	names := map[string]string{}
	for _, r := range rows {
		assert.Equal(t, "47", r.Departement)
		names[r.Code] = r.Name
	}
	assert.Equal(t, map[string]string{
		"47-AGEN1": "Agen 1", "47-AGEN2": "Agen 2", "47-AGEN3": "Agen 3",
		"47-VILLENEUVE": "Villeneuve-sur-Lot", "47-FUMEL": "Fumel", "47-MARMANDE": "Marmande",
		"47-TONNEINS": "Tonneins", "47-NERAC": "Nérac",
	}, names)

	var audited []struct {
		Resource string
		N        int
	}
	require.NoError(t, db.Model(&models.AuditEvent{}).Select("resource, count(*) AS n").
		Where("actor = ? AND action = 'create'", "parcours seed demo").Group("resource").Order("resource").Scan(&audited).Error)
	got := map[string]int{}
	for _, a := range audited {
		got[a.Resource] = a.N
	}
	assert.Equal(t, map[string]int{"territory": 8, "convention": 1, "organisation": 21, "referent": 5, "orientation_session": 1,
		"beneficiary": 10, "convocation": 10, "formal_notice": 1, "orientation": 9}, got, "the seed's writes are audited too")
}

func TestThePlatformOfDecember2019(t *testing.T) {
	db := servicetest.NewDB(t)
	_, err := demo.Seed(context.Background(), db, testCipher(t))
	require.NoError(t, err)

	var byOutcome []struct {
		Attendance      string
		CatchUpAttended *bool
		Route           *string
		Origin          *string
		Notices         int
	}
	require.NoError(t, db.Raw(`SELECT c.attendance, c.catch_up_attended, o.route, o.origin, count(f.id) AS notices
		FROM convocations c JOIN orientation_sessions s ON s.id = c.session_id
		LEFT JOIN orientations o ON o.beneficiary_id = c.beneficiary_id AND o.current
		LEFT JOIN formal_notices f ON f.convocation_id = c.id
		WHERE s.starts_at = '2019-12-13T08:00:00Z'
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 3`).Scan(&byOutcome).Error)
	type outcome struct {
		attendance, route, origin string
		caughtUp                  bool
		notices                   int
	}
	var got []outcome
	for _, r := range byOutcome {
		o := outcome{attendance: r.Attendance, caughtUp: r.CatchUpAttended != nil && *r.CatchUpAttended, notices: r.Notices}
		if r.Route != nil {
			o.route, o.origin = *r.Route, *r.Origin
		}
		got = append(got, o)
	}
	assert.ElementsMatch(t, []outcome{
		{attendance: "no_show", route: "", notices: 1},
		{attendance: "no_show", route: "professionnelle", origin: "individual", caughtUp: true},
		{attendance: "no_show", route: "sociale", origin: "individual", caughtUp: true},
		{attendance: "present", route: "professionnelle", origin: "platform"},
		{attendance: "present", route: "socio_professionnelle", origin: "platform"},
		{attendance: "present", route: "sociale", origin: "platform"},
	}, got)

	var rights []string
	require.NoError(t, db.Model(&models.Beneficiary{}).Distinct().Pluck("to_char(rights_opened_on, 'YYYY-MM')", &rights).Error)
	assert.Equal(t, []string{"2019-11"}, rights, "the entrants' rights opened in November 2019")
}

// The organisations are named in the source document on the lines the comments quote.
func TestOrganisationsAreNamedInTheDocument(t *testing.T) {
	f, err := os.Open("../../../shared/seed/000_6e5c9574a5e7a458.txt")
	if err != nil {
		t.Skipf("source document not available: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	// Each organisation's distinctive words, and a line of the document holding them.
	cases := map[string]struct {
		line  int
		words string
	}{
		"Pôle emploi Agen":               {2645, "secteur d’Agen : Pôle"},
		"Pôle emploi Villeneuve-sur-Lot": {2632, "Villeneuve sur Lot"},
		"Pôle emploi Marmande":           {2632, "de Marmande"},
		"Département de Lot-et-Garonne – Direction Actions Sociales et d'Insertion": {651, "Direction Actions Sociales et d’Insertion"},
		"CMS Agen 1":                 {2373, "8 Centres Médico-Sociaux (CMS)"},
		"CCAS de Villeneuve-sur-Lot": {990, "CCAS de Villeneuve sur Lot"},
		"CCAS de Marmande":           {990, "de Marmande"},
		"CCAS de Tonneins":           {990, "de Tonneins"},
		"L'Escale":                   {990, "l’association l’Escale"},
		"AFEPT":                      {1918, "AFEPT"},
		"INSUP Aquitaine":            {1918, "INSUP Aquitaine"},
		"PLIE de l'Agenais":          {1972, "PLIE de l’Agenais"},
		"Le Creuset":                 {2646, "le Creuset"},
		"Coup de Pouce":              {2646, "Coup de Pouce"},
	}
	named := map[string]bool{}
	for _, o := range demo.Organisations {
		named[o.Name] = true
	}
	for name, c := range cases {
		assert.True(t, named[name], "%s is a demo organisation", name)
		assert.Contains(t, lines[c.line-1], c.words, "line %d names %s", c.line, name)
	}
	for _, l := range []int{417, 494} {
		assert.Contains(t, strings.ToLower(lines[l-1]), "missions locales", "line %d speaks of missions locales in general", l)
	}
}
