package budget

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/money"
)

// Severities of a Finding.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Rules of Check, as Finding.Rule and Note.Rule name them.
const (
	RuleLineShares                   = "line_shares"                    // a line's amount ≠ its shares
	RuleLinesTotal                   = "lines_total"                    // a fiche's lines ≠ its printed totals row
	RuleAnnexe3Budget                = "annexe3_budget"                 // a fiche table's total ≠ the Annexe 3 budget
	RuleStateSplit                   = "state_split"                    // a fiche table's State column ≠ the Annexe 3 State share
	RuleDepartementSplit             = "departement_split"              // a fiche table's département column ≠ the Annexe 3 CD share
	RuleBudgetBalance                = "budget_balance"                 // Annexe 3 budget ≠ State + CD + carry-over + other funders
	RuleFundingLineCarryover         = "funding_line_carryover"         // a funding line's actions' carry-overs ≠ its carry-over
	RulePrenotifiedExceeded          = "prenotified_exceeded"           // a funding line's actions' State shares > its pre-notified credits
	RuleYearStateTotal               = "year_state_total"               // the actions' State shares ≠ the year's State support
	RuleYearStateTotalFiches         = "year_state_total_fiches"        // the fiche tables' State columns ≠ the year's State support
	RuleDuplicateLabel               = "duplicate_label"                // one budget line label under several fiches
	RuleDepartementIncludesCarryover = "departement_includes_carryover" // a Note: the département column is CD + carry-over
)

// Finding is one contradiction of a year's contracted budget.
type Finding struct {
	Severity   string // SeverityError or SeverityWarning
	Action     string // the fiche code; "" when the finding is about a funding line or the year
	Rule       string
	Subject    string // what is checked: a budget line label, a column, a Chorus code…
	Expected   string // the figure the rule expects, "1234.50"; "" when the rule compares no amounts
	Found      string // the figure found, "1234.50"; "" when the rule compares no amounts
	Difference string // Found − Expected, "1234.50"; "" when the rule compares no amounts
	Message    string // French, for people
}

// Note is something worth saying about the budget that is not a contradiction.
type Note struct {
	Action  string
	Rule    string
	Message string
}

// CheckResult is the outcome of Check: findings ordered by fiche (position, then code), then
// rule, then subject, those about funding lines and the year last; notes in fiche order.
type CheckResult struct {
	Year     int
	Findings []Finding
	Notes    []Note
}

// Check looks for the contradictions of year's contracted budget: budget lines whose amount is
// not the sum of their shares, fiche tables that disagree with their printed totals or with
// Annexe 3, Annexe 3 rows whose funding does not add up, funding lines whose actions exceed or
// miss their credits, a year whose State shares miss the amendment's support, and budget line
// labels repeated under several fiches. Sums are made in SQL, in one snapshot of the data. It
// answers services.ErrNotFound (wrapped) when the caller's département has no such year.
func (s *Service) Check(ctx context.Context, year int) (CheckResult, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return CheckResult{}, err
	}
	out := CheckResult{Year: year, Findings: []Finding{}, Notes: []Note{}}
	args := map[string]any{"dep": p.Departement, "year": year}
	// A read-only repeatable-read transaction (a savepoint when ctx already carries one), so
	// that every query sees the same data.
	err = services.Conn(ctx, s.db).Transaction(func(tx *gorm.DB) error {
		return checkYear(tx, args, year, &out)
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return CheckResult{}, err
	}
	return out, nil
}

// checkYear runs every rule of Check against the year in args and fills out.
func checkYear(tx *gorm.DB, args map[string]any, year int, out *CheckResult) error {
	var years []yearTotals
	if err := tx.Raw(yearTotalsSQL, args).Scan(&years).Error; err != nil {
		return fmt.Errorf("sum the year %d: %w", year, err)
	}
	if len(years) == 0 {
		return fmt.Errorf("no convention year %d: %w", year, services.ErrNotFound)
	}
	var actions []actionTotals
	if err := tx.Raw(actionTotalsSQL+` ORDER BY a.position, a.code`, args).Scan(&actions).Error; err != nil {
		return fmt.Errorf("sum the budget lines of each action: %w", err)
	}
	for _, a := range actions {
		findings, notes := a.check()
		out.Findings = append(out.Findings, findings...)
		out.Notes = append(out.Notes, notes...)
	}
	for _, query := range []findingQuery{lineShareFindings, fundingLineFindings, duplicateLabelFindings} {
		findings, err := query(tx, args)
		if err != nil {
			return err
		}
		out.Findings = append(out.Findings, findings...)
	}
	out.Findings = append(out.Findings, years[0].check(year)...)
	sortFindings(out.Findings, actions)
	return nil
}

// findingQuery applies a rule whose findings come straight from one query.
type findingQuery func(tx *gorm.DB, args map[string]any) ([]Finding, error)

// actionTotalsSQL is one row per action of the year: its Annexe 3 figures, the printed totals
// row of its fiche table, the sums of its budget lines, and its fiche table's totals (the
// printed totals row, else the summed lines; NULL when the fiche has neither).
const actionTotalsSQL = `
	SELECT a.code, a.position, a.budget, a.state_share, a.departement_share, a.carryover, a.other_funders,
	       a.sheet_amount, a.sheet_state, a.sheet_departement, a.sheet_other,
	       coalesce(sum(l.amount), 0) AS lines_amount, coalesce(sum(l.state_share), 0) AS lines_state,
	       coalesce(sum(l.departement_share), 0) AS lines_departement, coalesce(sum(l.other_share), 0) AS lines_other,
	       coalesce(a.sheet_amount, sum(l.amount)) AS table_amount,
	       coalesce(a.sheet_state, sum(l.state_share)) AS table_state,
	       coalesce(a.sheet_departement, sum(l.departement_share)) AS table_departement
	FROM actions a LEFT JOIN budget_lines l ON l.action_id = a.id
	WHERE a.departement = @dep AND a.year = @year
	GROUP BY a.id`

// actionTotals is a row of actionTotalsSQL.
type actionTotals struct {
	Code                                                          string
	Position                                                      int
	Budget, StateShare, DepartementShare, Carryover, OtherFunders decimal.Decimal
	SheetAmount, SheetState, SheetDepartement, SheetOther         decimal.NullDecimal
	LinesAmount, LinesState, LinesDepartement, LinesOther         decimal.Decimal
	TableAmount, TableState, TableDepartement                     decimal.NullDecimal
}

// check applies the per-action rules: lines_total, annexe3_budget, state_split,
// departement_split (or its carry-over note) and budget_balance.
func (a actionTotals) check() ([]Finding, []Note) {
	comparisons := a.linesTotals()
	if a.TableAmount.Valid {
		comparisons = append(comparisons, comparison{severity: SeverityError, rule: RuleAnnexe3Budget,
			subject: "Budget global (Annexe 3)", expected: a.Budget, found: a.TableAmount.Decimal,
			message: "Le tableau de la fiche totalise {found}, mais l'Annexe 3 prévoit un budget global de {expected} (écart {difference})."})
	}
	if a.TableState.Valid {
		comparisons = append(comparisons, comparison{severity: SeverityError, rule: RuleStateSplit,
			subject: "Participation État (Annexe 3)", expected: a.StateShare, found: a.TableState.Decimal,
			message: "La part État du tableau de la fiche ({found}) diffère de la participation de l'État inscrite à l'Annexe 3 ({expected}), écart {difference}."})
	}
	funding := a.StateShare.Add(a.DepartementShare).Add(a.Carryover).Add(a.OtherFunders) // valuation is part of the CD share
	comparisons = append(comparisons, comparison{severity: SeverityError, rule: RuleBudgetBalance,
		subject: "Plan de financement (Annexe 3)", expected: funding, found: a.Budget,
		message: "Le budget global de l'Annexe 3 ({found}) n'est pas égal à la somme participation État + participation CD + report 2019 + autres financeurs ({expected}), écart {difference}."})

	findings, notes := a.departementSplit()
	return append(findingsOf(a.Code, comparisons), findings...), notes
}

// linesTotals compares the summed lines with the printed totals row, column by column.
func (a actionTotals) linesTotals() []comparison {
	columns := []struct {
		name    string
		printed decimal.NullDecimal
		summed  decimal.Decimal
	}{
		{"montants", a.SheetAmount, a.LinesAmount},
		{"part État", a.SheetState, a.LinesState},
		{"part Département", a.SheetDepartement, a.LinesDepartement},
		{"autres financeurs", a.SheetOther, a.LinesOther},
	}
	var out []comparison
	for _, c := range columns {
		if !c.printed.Valid {
			continue
		}
		out = append(out, comparison{severity: SeverityError, rule: RuleLinesTotal,
			subject: "Total du tableau (" + c.name + ")", expected: c.printed.Decimal, found: c.summed,
			message: "Les postes du tableau de la fiche totalisent {found} (" + c.name + "), mais sa ligne Total imprime {expected} (écart {difference})."})
	}
	return out
}

// departementSplit compares the fiche table's département column with the Annexe 3 CD share.
// A column equal to CD + the 2019 carry-over is a Note, not a Finding.
func (a actionTotals) departementSplit() ([]Finding, []Note) {
	if !a.TableDepartement.Valid {
		return nil, nil
	}
	column := a.TableDepartement.Decimal
	withCarryover := a.DepartementShare.Add(a.Carryover)
	if a.Carryover.IsPositive() && column.Equal(withCarryover) {
		return nil, []Note{{Action: a.Code, Rule: RuleDepartementIncludesCarryover,
			Message: fmt.Sprintf("La part Département du tableau de la fiche (%s) comprend le report 2019 : participation CD %s + report 2019 %s.",
				money.French(column), money.French(a.DepartementShare), money.French(a.Carryover))}}
	}
	message := "La part Département du tableau de la fiche ({found}) diffère de la participation CD inscrite à l'Annexe 3 ({expected}), écart {difference}."
	if a.Carryover.IsPositive() {
		message += " Elle n'est pas non plus égale à la participation CD augmentée du report 2019 (" + money.French(withCarryover) + ")."
	}
	return findingsOf(a.Code, []comparison{{severity: SeverityError, rule: RuleDepartementSplit,
		subject: "Participation CD (Annexe 3)", expected: a.DepartementShare, found: column, message: message}}), nil
}

// yearTotalsSQL is the year's State support with the sums of its actions' State shares and of
// their fiche tables' State columns; no row when the département has no such year.
const yearTotalsSQL = `
	SELECT cy.state_support, coalesce(sum(t.state_share), 0) AS actions_state,
	       coalesce(sum(t.table_state), 0) AS tables_state, count(t.table_state) AS tables
	FROM convention_years cy LEFT JOIN (` + actionTotalsSQL + `) t ON true
	WHERE cy.departement = @dep AND cy.year = @year
	GROUP BY cy.id`

// yearTotals is the row of yearTotalsSQL.
type yearTotals struct {
	StateSupport decimal.Decimal
	ActionsState decimal.Decimal
	TablesState  decimal.Decimal
	Tables       int
}

// check applies year_state_total and, when some fiche has a table, year_state_total_fiches.
func (y yearTotals) check(year int) []Finding {
	subject := fmt.Sprintf("Soutien de l'État %d", year)
	support := fmt.Sprintf("la convention fixe le soutien de l'État pour %d à {expected} (écart {difference}).", year)
	comparisons := []comparison{{severity: SeverityError, rule: RuleYearStateTotal, subject: subject,
		expected: y.StateSupport, found: y.ActionsState,
		message: "Les participations de l'État des fiches à l'Annexe 3 totalisent {found}, mais " + support}}
	if y.Tables > 0 {
		comparisons = append(comparisons, comparison{severity: SeverityWarning, rule: RuleYearStateTotalFiches,
			subject: subject, expected: y.StateSupport, found: y.TablesState,
			message: "Les parts État des tableaux des fiches totalisent {found}, mais " + support})
	}
	return findingsOf("", comparisons)
}

// lineShareFindings applies line_shares to every budget line of the year.
func lineShareFindings(tx *gorm.DB, args map[string]any) ([]Finding, error) {
	var rows []struct {
		Code   string
		Label  string
		Amount decimal.Decimal
		Shares decimal.Decimal
	}
	err := tx.Raw(`
		SELECT a.code, l.label, l.amount, l.state_share + l.departement_share + l.other_share AS shares
		FROM budget_lines l JOIN actions a ON a.id = l.action_id
		WHERE a.departement = @dep AND a.year = @year
		  AND l.amount <> l.state_share + l.departement_share + l.other_share
		ORDER BY a.position, a.code, l.position, l.id`, args).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("check the shares of the budget lines: %w", err)
	}
	out := make([]Finding, 0, len(rows))
	for _, r := range rows {
		f, _ := comparison{severity: SeverityError, rule: RuleLineShares, subject: r.Label, expected: r.Shares, found: r.Amount,
			message: "Le poste « {subject} » est de {found}, mais ses parts État, Département et autres financeurs totalisent {expected} (écart {difference})."}.finding(r.Code)
		out = append(out, f)
	}
	return out, nil
}

// fundingLineFindings applies funding_line_carryover and prenotified_exceeded to every funding
// line of the year, with its actions' sums.
func fundingLineFindings(tx *gorm.DB, args map[string]any) ([]Finding, error) {
	var rows []struct {
		Chorus           string
		Prenotified      decimal.Decimal
		Carryover        decimal.Decimal
		ActionsCarryover decimal.Decimal
		ActionsState     decimal.Decimal
	}
	err := tx.Raw(`
		SELECT f.chorus, f.prenotified, f.carryover,
		       coalesce(sum(a.carryover), 0) AS actions_carryover, coalesce(sum(a.state_share), 0) AS actions_state
		FROM funding_lines f LEFT JOIN actions a ON a.funding_line_id = f.id
		WHERE f.departement = @dep AND f.year = @year
		GROUP BY f.id
		ORDER BY f.position, f.chorus`, args).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sum the actions of each funding line: %w", err)
	}
	var comparisons []comparison
	for _, r := range rows {
		comparisons = append(comparisons,
			comparison{severity: SeverityError, rule: RuleFundingLineCarryover, subject: r.Chorus,
				expected: r.Carryover, found: r.ActionsCarryover,
				message: "Imputation {subject} : les reports 2019 de ses fiches totalisent {found}, mais le report 2019 de l'imputation est de {expected} (écart {difference})."},
			comparison{severity: SeverityError, rule: RulePrenotifiedExceeded, subject: r.Chorus,
				expected: r.Prenotified, found: r.ActionsState, exceedsOnly: true,
				message: "Imputation {subject} : les participations de l'État de ses fiches ({found}) dépassent ses crédits pré-notifiés ({expected}), écart {difference}."})
	}
	return findingsOf("", comparisons), nil
}

// duplicateLabelFindings applies duplicate_label: one finding per fiche holding a label that
// another fiche of the year holds too. Labels are compared with whitespace runs (non-breaking
// spaces included) collapsed and trimmed, ’ read as ', and case folded; lower() folds only
// ASCII under a C locale, so translate folds the French capitals first.
func duplicateLabelFindings(tx *gorm.DB, args map[string]any) ([]Finding, error) {
	var rows []struct {
		Code   string
		Label  string
		Others string
	}
	err := tx.Raw(`
		WITH labelled AS (
			SELECT a.id, a.code, a.position, l.label, l.position AS line_position, l.id AS line_id,
			       lower(translate(btrim(regexp_replace(replace(l.label, '’', ''''), '[\s\u00a0\u202f]+', ' ', 'g')),
			                       'ÀÂÄÆÇÉÈÊËÎÏÔÖŒÙÛÜŸ', 'àâäæçéèêëîïôöœùûüÿ')) AS key
			FROM budget_lines l JOIN actions a ON a.id = l.action_id
			WHERE a.departement = @dep AND a.year = @year),
		keyed AS (
			SELECT DISTINCT ON (id, key) id, code, position, label, key
			FROM labelled ORDER BY id, key, line_position, line_id)
		SELECT k.code, k.label, string_agg(o.code, ',' ORDER BY o.position, o.code) AS others
		FROM keyed k JOIN keyed o ON o.key = k.key AND o.id <> k.id
		GROUP BY k.id, k.code, k.position, k.label
		ORDER BY k.position, k.code, k.label`, args).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("look for repeated budget line labels: %w", err)
	}
	out := make([]Finding, 0, len(rows))
	for _, r := range rows {
		others := splitCodes(r.Others)
		where := "la fiche " + others[0]
		if len(others) > 1 {
			where = "les fiches " + strings.Join(others[:len(others)-1], ", ") + " et " + others[len(others)-1]
		}
		out = append(out, Finding{Severity: SeverityWarning, Action: r.Code, Rule: RuleDuplicateLabel, Subject: r.Label,
			Message: fmt.Sprintf("Le poste « %s » figure aussi dans %s.", r.Label, where)})
	}
	return out, nil
}

// comparison is one figure checked against the figure a rule expects.
type comparison struct {
	severity, rule, subject string
	expected, found         decimal.Decimal
	exceedsOnly             bool   // only a found figure above the expected one is a finding
	message                 string // French; {subject}, {expected}, {found} and {difference} are filled in
}

// finding returns the Finding of c for action, and false when the figures agree.
func (c comparison) finding(action string) (Finding, bool) {
	diff := c.found.Sub(c.expected)
	if diff.IsZero() || (c.exceedsOnly && diff.IsNegative()) {
		return Finding{}, false
	}
	signed := money.French(diff)
	if diff.IsPositive() {
		signed = "+" + signed
	}
	message := strings.NewReplacer("{subject}", c.subject, "{expected}", money.French(c.expected),
		"{found}", money.French(c.found), "{difference}", signed).Replace(c.message)
	return Finding{Severity: c.severity, Action: action, Rule: c.rule, Subject: c.subject,
		Expected: money.String(c.expected), Found: money.String(c.found), Difference: money.String(diff),
		Message: message}, true
}

// findingsOf returns the findings of the comparisons that fail, for action.
func findingsOf(action string, comparisons []comparison) []Finding {
	var out []Finding
	for _, c := range comparisons {
		if f, ok := c.finding(action); ok {
			out = append(out, f)
		}
	}
	return out
}

// sortFindings orders findings by fiche (in the order of actions), then rule, then subject;
// findings about funding lines and the year (Action "") come last. The sort is stable, so
// equal keys keep the order the queries gave them.
func sortFindings(findings []Finding, actions []actionTotals) {
	rank := make(map[string]int, len(actions))
	for i, a := range actions {
		rank[a.Code] = i
	}
	key := func(f Finding) int {
		if r, ok := rank[f.Action]; ok {
			return r
		}
		return len(actions) // funding lines and the year
	}
	slices.SortStableFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.Action, b.Action),
			cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject))
	})
}
