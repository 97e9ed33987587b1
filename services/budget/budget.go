// Package budget is the contracted budget of the stratégie pauvreté convention: its years, the
// Chorus funding lines, the fiches actions with their Annexe 3 figures and their budget lines.
// It reads them (with subtotals summed in SQL), lets an administrator change them, and checks
// the signed document for contradictions.
package budget

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
)

// Service reads and writes the budget of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns a budget service over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// Amounts are the Annexe 3 columns of an action, or their sum over several actions.
type Amounts struct {
	Budget           decimal.Decimal
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	Valuation        decimal.Decimal
	Carryover        decimal.Decimal
	OtherFunders     decimal.Decimal
}

// Convention is the contract a year belongs to.
type Convention struct {
	Name        string
	PeriodStart int
	PeriodEnd   int
	SignedOn    time.Time
}

// Amendment is an avenant that changed the convention.
type Amendment struct {
	Number   int
	Year     int
	SignedOn time.Time
	Amount   decimal.NullDecimal
}

// ActionSummary is an action's row of the Annexe 3 table.
type ActionSummary struct {
	Code        string
	Title       string
	Category    string
	FundingLine string
	Amounts
	Version int
}

// FundingLine is a Chorus imputation with the sums of its actions.
type FundingLine struct {
	ID          int64
	Year        int
	Chorus      string
	Label       string
	Theme       string
	Prenotified decimal.Decimal
	Carryover   decimal.Decimal
	Version     int
	Actions     Amounts // the sums over its actions
	ActionCodes []string
}

// Year is the whole contracted budget of one year: the Annexe 3 table.
type Year struct {
	Year         int
	Departement  string
	Convention   Convention
	StateSupport decimal.Decimal
	Amendments   []Amendment
	Actions      []ActionSummary
	FundingLines []FundingLine
	Totals       Amounts
	Prenotified  decimal.Decimal
}

// Year returns the budget of year, subtotals and totals summed in SQL.
func (s *Service) Year(ctx context.Context, year int) (Year, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Year{}, err
	}
	db := services.Conn(ctx, s.db)
	out := Year{Year: year, Departement: p.Departement}

	var cy models.ConventionYear
	err = models.Translate(db.Where("departement = ? AND year = ?", p.Departement, year).Take(&cy).Error)
	if errors.Is(err, models.ErrNotFound) {
		return Year{}, fmt.Errorf("no convention year %d: %w", year, services.ErrNotFound)
	}
	if err != nil {
		return Year{}, fmt.Errorf("read convention year %d: %w", year, err)
	}
	out.StateSupport = cy.StateSupport

	var conv models.Convention
	if err := db.Take(&conv, cy.ConventionID).Error; err != nil {
		return Year{}, fmt.Errorf("read convention: %w", err)
	}
	out.Convention = Convention{Name: conv.Name, PeriodStart: conv.PeriodStart, PeriodEnd: conv.PeriodEnd, SignedOn: conv.SignedOn}

	var amendments []models.Amendment
	if err := db.Where("convention_id = ? AND year <= ?", conv.ID, year).Order("number").Find(&amendments).Error; err != nil {
		return Year{}, fmt.Errorf("read amendments: %w", err)
	}
	for _, a := range amendments {
		out.Amendments = append(out.Amendments, Amendment{Number: a.Number, Year: a.Year, SignedOn: a.SignedOn, Amount: a.Amount})
	}

	if out.Actions, err = s.actionSummaries(db, p.Departement, year); err != nil {
		return Year{}, err
	}
	if out.FundingLines, err = s.fundingLines(db, p.Departement, year, allLines); err != nil {
		return Year{}, err
	}
	if err := db.Raw(`SELECT `+amountSums+` FROM actions a WHERE a.departement = ? AND a.year = ?`, p.Departement, year).
		Row().Scan(amountDests(&out.Totals)...); err != nil {
		return Year{}, fmt.Errorf("sum actions: %w", err)
	}
	if err := db.Raw(`SELECT coalesce(sum(prenotified), 0) FROM funding_lines WHERE departement = ? AND year = ?`, p.Departement, year).
		Row().Scan(&out.Prenotified); err != nil {
		return Year{}, fmt.Errorf("sum pre-notified credits: %w", err)
	}
	return out, nil
}

// amountSums sums the Annexe 3 columns of the actions aliased a.
const amountSums = `coalesce(sum(a.budget), 0), coalesce(sum(a.state_share), 0), coalesce(sum(a.departement_share), 0),
	coalesce(sum(a.valuation), 0), coalesce(sum(a.carryover), 0), coalesce(sum(a.other_funders), 0)`

func amountDests(a *Amounts) []any {
	return []any{&a.Budget, &a.StateShare, &a.DepartementShare, &a.Valuation, &a.Carryover, &a.OtherFunders}
}

func (s *Service) actionSummaries(db *gorm.DB, departement string, year int) ([]ActionSummary, error) {
	var rows []struct {
		models.Action
		Chorus string
	}
	err := db.Table("actions a").Select("a.*, f.chorus").
		Joins("JOIN funding_lines f ON f.id = a.funding_line_id").
		Where("a.departement = ? AND a.year = ?", departement, year).
		Order("a.position, a.code").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	out := make([]ActionSummary, len(rows))
	for i, r := range rows {
		out[i] = ActionSummary{Code: r.Code, Title: r.Title, Category: r.Category, FundingLine: r.Chorus,
			Amounts: amountsOf(r.Action), Version: r.Version}
	}
	return out, nil
}

// allLines asks fundingLines for every line of the year.
const allLines = 0

// fundingLines returns the funding lines of year (or only line onlyID) with their actions'
// sums.
func (s *Service) fundingLines(db *gorm.DB, departement string, year int, onlyID int64) ([]FundingLine, error) {
	rows, err := db.Raw(`
		SELECT f.id, f.chorus, f.label, f.theme, f.prenotified, f.carryover, f.version,
		       coalesce(string_agg(a.code, ',' ORDER BY a.position, a.code), ''), `+amountSums+`
		FROM funding_lines f LEFT JOIN actions a ON a.funding_line_id = f.id
		WHERE f.departement = ? AND f.year = ? AND (? = 0 OR f.id = ?)
		GROUP BY f.id
		ORDER BY f.position, f.chorus`, departement, year, onlyID, onlyID).Rows()
	if err != nil {
		return nil, fmt.Errorf("sum funding lines: %w", err)
	}
	defer rows.Close()
	var out []FundingLine
	for rows.Next() {
		f := FundingLine{Year: year}
		var codes string
		dest := append([]any{&f.ID, &f.Chorus, &f.Label, &f.Theme, &f.Prenotified, &f.Carryover, &f.Version, &codes}, amountDests(&f.Actions)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sum funding lines: %w", err)
		}
		f.ActionCodes = splitCodes(codes)
		out = append(out, f)
	}
	return out, rows.Err()
}

func amountsOf(a models.Action) Amounts {
	return Amounts{Budget: a.Budget, StateShare: a.StateShare, DepartementShare: a.DepartementShare,
		Valuation: a.Valuation, Carryover: a.Carryover, OtherFunders: a.OtherFunders}
}

func splitCodes(joined string) []string {
	if joined == "" {
		return nil
	}
	return strings.Split(joined, ",")
}

// SheetTotals is the totals row of a fiche's own budget table, as printed.
type SheetTotals struct {
	Amount      decimal.Decimal
	State       decimal.Decimal
	Departement decimal.Decimal
	Other       decimal.Decimal
}

// BudgetLine is a poste of a fiche's budget.
type BudgetLine struct {
	ID               int64
	ActionCode       string
	Year             int
	Label            string
	Amount           decimal.Decimal
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	OtherShare       decimal.Decimal
	Position         int
	Version          int
}

// Action is a fiche action with its budget lines.
type Action struct {
	ActionSummary
	Year      int
	Sheet     *SheetTotals
	Lines     []BudgetLine
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Action returns the fiche code of year with its budget lines.
func (s *Service) Action(ctx context.Context, year int, code string) (Action, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Action{}, err
	}
	db := services.Conn(ctx, s.db)
	row, chorus, err := findAction(db, p.Departement, year, code)
	if err != nil {
		return Action{}, err
	}
	var lines []models.BudgetLine
	if err := db.Where("action_id = ?", row.ID).Order("position, id").Find(&lines).Error; err != nil {
		return Action{}, fmt.Errorf("read budget lines of %s: %w", code, err)
	}
	out := toAction(row, chorus)
	for _, l := range lines {
		out.Lines = append(out.Lines, toBudgetLine(l, row))
	}
	return out, nil
}

func findAction(db *gorm.DB, departement string, year int, code string) (models.Action, string, error) {
	var row struct {
		models.Action
		Chorus string
	}
	err := db.Table("actions a").Select("a.*, f.chorus").
		Joins("JOIN funding_lines f ON f.id = a.funding_line_id").
		Where("a.departement = ? AND a.year = ? AND a.code = ?", departement, year, code).
		Take(&row).Error
	err = models.Translate(err)
	if errors.Is(err, models.ErrNotFound) {
		return row.Action, "", fmt.Errorf("action %s of %d: %w", code, year, services.ErrNotFound)
	}
	if err != nil {
		return row.Action, "", fmt.Errorf("read action %s: %w", code, err)
	}
	return row.Action, row.Chorus, nil
}

func toAction(r models.Action, chorus string) Action {
	a := Action{
		ActionSummary: ActionSummary{Code: r.Code, Title: r.Title, Category: r.Category, FundingLine: chorus,
			Amounts: amountsOf(r), Version: r.Version},
		Year: r.Year, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.SheetAmount.Valid {
		a.Sheet = &SheetTotals{Amount: r.SheetAmount.Decimal, State: r.SheetState.Decimal,
			Departement: r.SheetDepartement.Decimal, Other: r.SheetOther.Decimal}
	}
	return a
}

func toBudgetLine(l models.BudgetLine, a models.Action) BudgetLine {
	return BudgetLine{ID: l.ID, ActionCode: a.Code, Year: a.Year, Label: l.Label, Amount: l.Amount,
		StateShare: l.StateShare, DepartementShare: l.DepartementShare, OtherShare: l.OtherShare,
		Position: l.Position, Version: l.Version}
}

// LatestYear is the latest convention year of the caller's département (services.ErrNotFound
// when it has none): what a report shows when no year is asked for.
func (s *Service) LatestYear(ctx context.Context) (int, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return 0, err
	}
	var year *int
	if err := services.Conn(ctx, s.db).Model(&models.ConventionYear{}).Where("departement = ?", p.Departement).
		Select("max(year)").Scan(&year).Error; err != nil {
		return 0, fmt.Errorf("read the latest convention year: %w", err)
	}
	if year == nil {
		return 0, fmt.Errorf("no convention year: %w", services.ErrNotFound)
	}
	return *year, nil
}
