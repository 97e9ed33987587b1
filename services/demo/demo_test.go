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
	"parcours/services"
	"parcours/services/budget"
	"parcours/services/cumul"
	"parcours/services/demo"
	"parcours/services/pii"
	"parcours/services/programmes"
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
		Budget:  budget.SeedReport{Loaded: true, Actions: 14, BudgetLines: 37, Indicators: 77, FundingLines: 7},
		Pathway: demo.PathwayReport{Organisations: 23, Referents: 5, Sessions: 1, Beneficiaries: 10, Convocations: 10,
			CatchUps: 2, FormalNotices: 1, Orientations: 9},
		Programmes: 8,
		Cumul:      cumul.SeedReport{Schemes: 1, Parameters: 3},
	}, rep)

	var before int64
	require.NoError(t, db.Model(&models.AuditEvent{}).Count(&before).Error)
	rep, err = demo.Seed(ctx, db, cipher)
	require.NoError(t, err)
	assert.Equal(t, demo.Report{Existing: 8, Pathway: demo.PathwayReport{OrganisationsExisting: 23}, ProgrammesExisting: 8}, rep,
		"a second run changes nothing")
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
	assert.Equal(t, map[string]int{"territory": 8, "convention": 1, "organisation": 23, "referent": 5, "orientation_session": 1,
		"beneficiary": 10, "convocation": 10, "formal_notice": 1, "orientation": 9, "programme": 8,
		"cumul_scheme": 1, "rsa_parameters": 3}, got, "the seed's writes are audited too")
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

// documentLines reads the source document, one string per line; the test is skipped without
// it.
func documentLines(t *testing.T) []string {
	t.Helper()
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
	return lines
}

// The organisations are named in the source document on the lines the comments quote.
func TestOrganisationsAreNamedInTheDocument(t *testing.T) {
	lines := documentLines(t)
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
		"Solincité":                  {2220, "Associations Solincité et Sauvegarde"},
		"La Sauvegarde":              {338, "Solincité et la Sauvegarde"},
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

// The demo programmes take their rules from the lines of the source document the comments
// quote.
func TestProgrammesComeFromTheDocument(t *testing.T) {
	lines := documentLines(t)
	type quote struct {
		line  int
		words string
	}
	cases := map[string][]quote{
		"accompagnement_global": {{2809, "conseillers Pôle emploi dédiés"}, {996, "490 personnes accompagnées, soit 70 personnes"},
			{997, "pool de 7 conseillers emploi"}, {2849, "Accompagner 490 personnes"}},
		"offre_departementale_emploi": {{2936, "Offre d’accompagnement Départementale pour les BrSa orientés « professionnel »"},
			{2968, "Renforcer l’équipe de CIP"}},
		"ti_diagnostic":    {{3134, "durée maximum de 3 mois"}, {3203, "Primo évaluations 66 160 €"}},
		"ti_developpement": {{3137, "maximum de 9 mois à un an"}, {3205, "Accompagnements 100 258€"}, {3207, "Evaluations"}, {3208, "viabilité 150 150€"}},
		"paajm": {{349, "entretien diagnostic est financé à hauteur de 250€"}, {350, "600€/mois/jeune"},
			{352, "20 suivis en file active"}, {354, "6 mois renouvelable éventuellement 1"}, {355, "fois"}},
		"asid":           {{1913, "ASID, Accompagnement Social Individualisé Départemental"}, {1918, "AFEPT, INSUP Aquitaine"}, {1924, "durée de 9 mois"}, {3713, "durée de 9 mois"}},
		"pool_infirmier": {{1938, "Le Pool infirmier.es"}, {3727, "Le Pool infirmier.es"}, {1899, "au sein des CMS"}},
		"aide_permis": {{1963, "trois auto-écoles"}, {1965, "1 000 € le permis de conduire pour 12 allocataires"},
			{3749, "participation forfaitaire de 1000 €"}},
	}
	fiches := map[string]struct {
		line  int
		words string
	}{
		"1.1": {2195, "Fiche action N°1.1"}, "4.1": {2800, "Fiche action N°4-1"}, "4.2": {2934, "Fiche action N°4-2"},
		"4.3": {3105, "Fiche action N°4.3"}, "6.2": {3694, "Fiche action N°6.2"},
	}
	require.Len(t, demo.Programmes, len(cases))
	for _, pr := range demo.Programmes {
		quotes, ok := cases[pr.Code]
		require.True(t, ok, "programme %s has its lines checked", pr.Code)
		for _, q := range quotes {
			assert.Contains(t, lines[q.line-1], q.words, "line %d states a rule of %s", q.line, pr.Code)
		}
		f := fiches[pr.Action]
		assert.Contains(t, lines[f.line-1], f.words, "line %d heads fiche %s of %s", f.line, pr.Action, pr.Code)
	}
}

func TestTheDemoProgrammes(t *testing.T) {
	db := servicetest.NewDB(t)
	_, err := demo.Seed(context.Background(), db, testCipher(t))
	require.NoError(t, err)

	page, err := programmes.New(db).List(servicetest.As(servicetest.Admin47), programmes.Filter{Page: services.PageRequest{Limit: 50}})
	require.NoError(t, err)
	type rules struct {
		action                        string
		organisations                 int
		costs                         string
		maxMonths, renewals, capacity any
	}
	got := map[string]rules{}
	for _, pr := range page.Items {
		var costs []string
		for _, c := range pr.UnitCosts {
			costs = append(costs, c.Basis+" "+c.Event+" "+c.Amount.StringFixed(2))
		}
		r := rules{action: pr.ActionCode, organisations: len(pr.OrganisationIDs), costs: strings.Join(costs, "; "), renewals: pr.MaxRenewals}
		if pr.MaxMonths != nil {
			r.maxMonths = *pr.MaxMonths
		}
		if pr.Capacity != nil {
			r.capacity = *pr.Capacity
		}
		got[pr.Code] = r
	}
	assert.Equal(t, map[string]rules{
		"accompagnement_global":       {action: "4.1", organisations: 3, capacity: 490, renewals: 0},
		"offre_departementale_emploi": {action: "4.2", organisations: 1, renewals: 0},
		"ti_diagnostic":               {action: "4.3", organisations: 1, costs: "per_event first_evaluation 160.00", maxMonths: 3, renewals: 0},
		"ti_developpement": {action: "4.3", organisations: 1, costs: "per_enrolment  258.00; per_event viability_evaluation 150.00",
			maxMonths: 12, renewals: 0},
		"paajm": {action: "1.1", organisations: 2, costs: "per_event diagnostic_interview 250.00; per_month  600.00",
			maxMonths: 6, renewals: 1, capacity: 20},
		"asid":           {action: "6.2", organisations: 2, maxMonths: 9, renewals: 0},
		"pool_infirmier": {action: "6.2", organisations: 8, renewals: 0},
		"aide_permis":    {action: "6.2", organisations: 1, costs: "per_enrolment  1000.00", capacity: 36, renewals: 0},
	}, got)
}

// The cumul scheme of fiche 4.4 takes its window and envelope from the lines its comment
// quotes, and its envelope is the 200 000 € line of 2020.
func TestCumulSchemeComesFromTheDocument(t *testing.T) {
	lines := documentLines(t)
	for n, words := range map[int]string{1532: "a démarré dès le 1er", 1533: "avril 2020", 1535: "jusqu’à fin décembre 2021",
		3313: "fin décembre 2021", 3336: "Financement de l’allocation 200 000"} {
		assert.Contains(t, strings.Join(strings.Fields(lines[n-1]), " "), words, "line %d", n)
	}
	db := servicetest.NewDB(t)
	_, err := demo.Seed(context.Background(), db, testCipher(t))
	require.NoError(t, err)
	var scheme models.CumulScheme
	require.NoError(t, db.Take(&scheme).Error)
	assert.Equal(t, [4]string{"47", "4.4", "2020-04-01", "2021-12-31"},
		[4]string{scheme.Departement, scheme.ActionCode, scheme.StartsOn.Format("2006-01-02"), scheme.EndsOn.Format("2006-01-02")})
	var envelope string
	require.NoError(t, db.Raw(`SELECT bl.amount FROM budget_lines bl JOIN actions a ON a.id = bl.action_id
		WHERE a.code = '4.4' AND a.year = 2020 AND bl.label = ?`, scheme.BudgetLineLabel).Scan(&envelope).Error)
	assert.Equal(t, "200000.00", envelope)
	var amounts []string
	require.NoError(t, db.Model(&models.RSAParameters{}).Order("valid_from").Pluck("one_person_amount", &amounts).Error)
	assert.Equal(t, []string{"559.74", "564.78", "565.34"}, amounts)
}
