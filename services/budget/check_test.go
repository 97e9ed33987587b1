package budget_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/budget"
	"parcours/services/servicetest"
)

// pinned is a Finding without its message: what the tests pin exactly.
type pinned struct {
	Severity, Action, Rule, Subject, Expected, Found, Difference string
}

func pin(findings []budget.Finding) []pinned {
	out := make([]pinned, len(findings))
	for i, f := range findings {
		out[i] = pinned{f.Severity, f.Action, f.Rule, f.Subject, f.Expected, f.Found, f.Difference}
	}
	return out
}

// withRules keeps the findings whose rule is (keep true) or is not (keep false) in rules.
func withRules(findings []pinned, keep bool, rules ...string) []pinned {
	out := []pinned{}
	for _, f := range findings {
		if slices.Contains(rules, f.Rule) == keep {
			out = append(out, f)
		}
	}
	return out
}

// seeded2020Findings is every discrepancy of the 2020 document (docs/seed-2020-notes.md (a)–(i)),
// in the order Check gives them: by fiche, rule and subject, the year last.
var seeded2020Findings = []pinned{
	// (i) the same poste under 1.1 (l.2318) and 6.3 (l.3963).
	{"warning", "1.1", "duplicate_label", "Diagnostic et accompagnements", "", "", ""},
	// (d) 4.1's table (l.2929) 113 478 / 113 478 against Annexe 3 (l.4256) 88 478 / 98 478;
	// with the 40 000 carry-over the CD column would be 138 478, not 113 478 either.
	{"error", "4.1", "departement_split", "Participation CD (Annexe 3)", "98478.00", "113478.00", "15000.00"},
	{"error", "4.1", "state_split", "Participation État (Annexe 3)", "88478.00", "113478.00", "25000.00"},
	// (c) 4.2's printed total 207 746 (l.3073) against Annexe 3's 192 746 (l.4259).
	{"error", "4.2", "annexe3_budget", "Budget global (Annexe 3)", "192746.00", "207746.00", "15000.00"},
	// (d) 4.2's département column 112 356 (l.3073) against CD 97 356, no carry-over.
	{"error", "4.2", "departement_split", "Participation CD (Annexe 3)", "97356.00", "112356.00", "15000.00"},
	// (a) l.3059: 23 000 € but 1 326 + 8 674 = 10 000.
	{"error", "4.2", "line_shares", "Soutien aux projets", "10000.00", "23000.00", "13000.00"},
	// (b) 4.2's lines add up to 220 746 against the printed 207 746 (State and département agree).
	{"error", "4.2", "lines_total", "Total du tableau (montants)", "207746.00", "220746.00", "13000.00"},
	{"warning", "6.3", "duplicate_label", "Diagnostic et accompagnements", "", "", ""},
	// (h) the fiche tables' State columns add up to 675 732, the amendment says 650 732 (4.1's 25 000).
	{"warning", "", "year_state_total_fiches", "Soutien de l'État 2020", "650732.00", "675732.00", "25000.00"},
}

func check(t *testing.T, db *gorm.DB, ctx context.Context) budget.CheckResult {
	t.Helper()
	res, err := budget.New(db).Check(ctx, 2020)
	require.NoError(t, err)
	require.Equal(t, 2020, res.Year)
	return res
}

func TestCheckFindsEveryDiscrepancyOfThe2020Document(t *testing.T) {
	db, ctx := seeded(t)
	res := check(t, db, ctx)

	assert.Equal(t, seeded2020Findings, pin(res.Findings))
	// (d) not errors: the département column is CD + the 2019 carry-over.
	var notes []string
	for _, n := range res.Notes {
		assert.Equal(t, "departement_includes_carryover", n.Rule)
		notes = append(notes, n.Action)
	}
	assert.Equal(t, []string{"1.1", "3.1", "4.3", "4.4", "6.2"}, notes)
}

func TestCheckMessagesAreFrench(t *testing.T) {
	db, ctx := seeded(t)
	res := check(t, db, ctx)
	messages := map[[2]string]string{}
	for _, f := range res.Findings {
		assert.NotEmpty(t, f.Message)
		messages[[2]string{f.Action, f.Rule}] = f.Message
	}
	for _, n := range res.Notes {
		messages[[2]string{n.Action, n.Rule}] = n.Message
	}
	for key, want := range map[[2]string]string{
		{"4.2", "line_shares"}: "Le poste « Soutien aux projets » est de 23 000,00 €, mais ses parts État, Département " +
			"et autres financeurs totalisent 10 000,00 € (écart +13 000,00 €).",
		{"4.2", "annexe3_budget"}: "Le tableau de la fiche totalise 207 746,00 €, mais l'Annexe 3 prévoit un budget global " +
			"de 192 746,00 € (écart +15 000,00 €).",
		{"4.1", "departement_split"}: "La part Département du tableau de la fiche (113 478,00 €) diffère de la participation CD " +
			"inscrite à l'Annexe 3 (98 478,00 €), écart +15 000,00 €. Elle n'est pas non plus égale à la participation CD " +
			"augmentée du report 2019 (138 478,00 €).",
		{"1.1", "duplicate_label"}: "Le poste « Diagnostic et accompagnements » figure aussi dans la fiche 6.3.",
		{"", "year_state_total_fiches"}: "Les parts État des tableaux des fiches totalisent 675 732,00 €, mais la convention " +
			"fixe le soutien de l'État pour 2020 à 650 732,00 € (écart +25 000,00 €).",
		{"6.2", "departement_includes_carryover"}: "La part Département du tableau de la fiche (362 661,00 €) comprend le " +
			"report 2019 : participation CD 139 718,00 € + report 2019 222 943,00 €.",
	} {
		assert.Equal(t, want, messages[key], "%v", key)
	}
}

// TestCheckRulesTheSeedKeeps breaks, in SQL, what the 2020 document gets right, and expects the
// rule to say so with the right figures while every other finding stays as seeded.
func TestCheckRulesTheSeedKeeps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change string
		args   []any
		rules  []string // the rules whose findings change
		want   []pinned // their findings after the change
	}{
		{
			name:   "6.4 budgeted without funding",
			change: `UPDATE actions SET budget = 5000 WHERE departement = '47' AND year = 2020 AND code = '6.4'`,
			rules:  []string{"budget_balance"},
			want:   []pinned{{"error", "6.4", "budget_balance", "Plan de financement (Annexe 3)", "0.00", "5000.00", "5000.00"}},
		},
		{
			name:   "1.1 funding above its budget",
			change: `UPDATE actions SET other_funders = 1000.50 WHERE departement = '47' AND year = 2020 AND code = '1.1'`,
			rules:  []string{"budget_balance"},
			want:   []pinned{{"error", "1.1", "budget_balance", "Plan de financement (Annexe 3)", "171000.50", "170000.00", "-1000.50"}},
		},
		{
			name:   "line 07 carries over more than its actions",
			change: `UPDATE funding_lines SET carryover = 300000 WHERE departement = '47' AND year = 2020 AND chorus = '0304 50 19 19 07'`,
			rules:  []string{"funding_line_carryover"},
			want:   []pinned{{"error", "", "funding_line_carryover", "0304 50 19 19 07", "300000.00", "295000.00", "-5000.00"}},
		},
		{
			name:   "line 10 pre-notified below its actions' State shares",
			change: `UPDATE funding_lines SET prenotified = 249000 WHERE departement = '47' AND year = 2020 AND chorus = '0304 50 19 19 10'`,
			rules:  []string{"prenotified_exceeded"},
			want:   []pinned{{"error", "", "prenotified_exceeded", "0304 50 19 19 10", "249000.00", "249339.00", "339.00"}},
		},
		{
			name:   "line 02 pre-notified exactly its actions' State shares is fine",
			change: `UPDATE funding_lines SET prenotified = 21000 WHERE departement = '47' AND year = 2020 AND chorus = '0304 50 19 19 02'`,
			rules:  []string{"prenotified_exceeded"},
			want:   []pinned{},
		},
		{
			name:   "State support of the fiche tables instead of Annexe 3",
			change: `UPDATE convention_years SET state_support = 675732 WHERE departement = '47' AND year = 2020`,
			rules:  []string{"year_state_total", "year_state_total_fiches"},
			want:   []pinned{{"error", "", "year_state_total", "Soutien de l'État 2020", "675732.00", "650732.00", "-25000.00"}},
		},
		{
			name: "labels compared trimmed, spaces collapsed, case folded and ’ read as '",
			change: `UPDATE budget_lines SET label = CASE label
					WHEN 'Ingénierie du projet' THEN ' DIAGNOSTIC  et' || chr(160) || 'ACCOMPAGNEMENTS '
					WHEN 'Référent de parcours dernier trimestre 2020' THEN 'RÉFÉRENT DE PARCOURS'
					WHEN 'Aide à la mobilité' THEN 'actions d''accompagnement'
					ELSE label END`,
			rules: []string{"duplicate_label"},
			want: []pinned{
				{"warning", "1.1", "duplicate_label", "Diagnostic et accompagnements", "", "", ""},
				{"warning", "2.2", "duplicate_label", " DIAGNOSTIC  et\u00a0ACCOMPAGNEMENTS ", "", "", ""},
				{"warning", "4.2", "duplicate_label", "Référent de parcours", "", "", ""},
				{"warning", "4.3", "duplicate_label", "Actions d’accompagnement", "", "", ""},
				{"warning", "4.4", "duplicate_label", "RÉFÉRENT DE PARCOURS", "", "", ""},
				{"warning", "6.2", "duplicate_label", "actions d'accompagnement", "", "", ""},
				{"warning", "6.3", "duplicate_label", "Diagnostic et accompagnements", "", "", ""},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, ctx := seeded(t)
			res := db.Exec(tc.change, tc.args...)
			require.NoError(t, res.Error)
			require.Positive(t, res.RowsAffected)

			got := pin(check(t, db, ctx).Findings)
			assert.Equal(t, tc.want, withRules(got, true, tc.rules...))
			assert.Equal(t, withRules(seeded2020Findings, false, tc.rules...), withRules(got, false, tc.rules...),
				"the other findings stay as seeded")
		})
	}
}

func TestCheckNamesEveryOtherFicheOfARepeatedLabel(t *testing.T) {
	db, ctx := seeded(t)
	require.NoError(t, db.Exec(`UPDATE budget_lines SET label = 'Diagnostic et accompagnements' WHERE label = 'Ingénierie du projet'`).Error)
	for _, f := range check(t, db, ctx).Findings {
		if f.Action == "1.1" && f.Rule == "duplicate_label" {
			assert.Equal(t, "Le poste « Diagnostic et accompagnements » figure aussi dans les fiches 2.2 et 6.3.", f.Message)
			return
		}
	}
	t.Fatal("no duplicate_label finding on 1.1")
}

func TestCheckWithinATransaction(t *testing.T) {
	db, ctx := seeded(t)
	err := services.WithTx(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
		require.NoError(t, tx.Exec(`UPDATE funding_lines SET prenotified = 0 WHERE chorus = '0304 50 19 19 03'`).Error)
		res, err := budget.New(db).Check(ctx, 2020)
		require.NoError(t, err)
		assert.Contains(t, pin(res.Findings),
			pinned{"error", "", "prenotified_exceeded", "0304 50 19 19 03", "0.00", "35000.00", "35000.00"},
			"Check reads through the caller's transaction")
		return nil
	})
	require.NoError(t, err)
}

func TestCheckOfNoConvention(t *testing.T) {
	db, ctx := seeded(t)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		year int
	}{
		{"a year without convention", ctx, 2031},
		{"another département", servicetest.As(auth.Principal{Subject: "x", Role: auth.RoleAdmin, Departement: "33"}), 2020},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := budget.New(db).Check(tc.ctx, tc.year)
			assert.ErrorIs(t, err, services.ErrNotFound)
		})
	}
	_, err := budget.New(db).Check(context.Background(), 2020)
	assert.ErrorIs(t, err, services.ErrForbidden, "no caller, no check")
}
