package budget

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/money"
)

var (
	actionCodePattern = regexp.MustCompile(`^[1-9][0-9]?(\.[1-9][0-9]?)?$`)
	chorusPattern     = regexp.MustCompile(`^[0-9]{4} [0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}$`)
)

// Categories of actions: the socle commitments and the crédits d'initiative locale.
var Categories = []string{"socle", "cil"}

const maxTextLength = 300

// FundingLineInput creates or changes a funding line; nil fields are left as they are.
type FundingLineInput struct {
	Chorus      *string
	Label       *string
	Theme       *string
	Prenotified *decimal.Decimal
	Carryover   *decimal.Decimal
}

// ActionInput creates or changes an action's Annexe 3 row; nil fields are left as they are.
type ActionInput struct {
	Title            *string
	Category         *string
	FundingLine      *string // Chorus code of a funding line of the same year
	Budget           *decimal.Decimal
	StateShare       *decimal.Decimal
	DepartementShare *decimal.Decimal
	Valuation        *decimal.Decimal
	Carryover        *decimal.Decimal
	OtherFunders     *decimal.Decimal
}

// BudgetLineInput creates or changes a budget line; nil fields are left as they are.
type BudgetLineInput struct {
	Label            *string
	Amount           *decimal.Decimal
	StateShare       *decimal.Decimal
	DepartementShare *decimal.Decimal
	OtherShare       *decimal.Decimal
}

// Validate checks the input's own rules (a create needs chorus, label and theme).
func (in FundingLineInput) Validate(creating bool) error {
	var v services.Validator
	checkText(&v, "chorus", in.Chorus, creating)
	checkText(&v, "label", in.Label, creating)
	checkText(&v, "theme", in.Theme, creating)
	checkChorus(&v, "chorus", in.Chorus)
	money.Validate(&v, "prenotified", in.Prenotified)
	money.Validate(&v, "carryover", in.Carryover)
	return v.Err()
}

// Validate checks the input's own rules (a create needs title, category and funding line).
func (in ActionInput) Validate(creating bool) error {
	var v services.Validator
	validateAction(&v, in, creating)
	return v.Err()
}

// Validate checks the input's own rules (a create needs a label).
func (in BudgetLineInput) Validate(creating bool) error {
	var v services.Validator
	checkText(&v, "label", in.Label, creating)
	validateLineAmounts(&v, in)
	return v.Err()
}

// FundingLine returns one funding line with the sums of its actions.
func (s *Service) FundingLine(ctx context.Context, id int64) (FundingLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return FundingLine{}, err
	}
	db := services.Conn(ctx, s.db)
	row, err := findFundingLine(db, p.Departement, id)
	if err != nil {
		return FundingLine{}, err
	}
	lines, err := s.fundingLines(db, p.Departement, row.Year, id)
	if err != nil {
		return FundingLine{}, err
	}
	if len(lines) != 1 {
		return FundingLine{}, fmt.Errorf("funding line %d: %w", id, services.ErrNotFound)
	}
	return lines[0], nil
}

// CreateFundingLine adds a funding line to year.
func (s *Service) CreateFundingLine(ctx context.Context, year int, in FundingLineInput) (FundingLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return FundingLine{}, err
	}
	if err := in.Validate(true); err != nil {
		return FundingLine{}, err
	}
	row := models.FundingLine{Departement: p.Departement, Year: year, Chorus: *in.Chorus, Label: *in.Label, Theme: *in.Theme,
		Prenotified: valueOr(in.Prenotified), Carryover: valueOr(in.Carryover), Version: 1}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := requireYear(tx, p.Departement, year); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT coalesce(max(position), 0) + 1 FROM funding_lines WHERE departement = ? AND year = ?`, p.Departement, year).
			Row().Scan(&row.Position); err != nil {
			return fmt.Errorf("next position: %w", err)
		}
		if err := insert(tx, &row, fmt.Sprintf("funding line %s of %d", row.Chorus, year)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionCreate, "funding_line", strconv.FormatInt(row.ID, 10))
	})
	if err != nil {
		return FundingLine{}, err
	}
	return s.FundingLine(ctx, row.ID)
}

// UpdateFundingLine changes funding line id if it is still at expectedVersion.
func (s *Service) UpdateFundingLine(ctx context.Context, id int64, expectedVersion int, in FundingLineInput) (FundingLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return FundingLine{}, err
	}
	if err := in.Validate(false); err != nil {
		return FundingLine{}, err
	}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		row, err := findFundingLine(tx.Clauses(clause.Locking{Strength: "UPDATE"}), p.Departement, id)
		if err != nil {
			return err
		}
		subject := fmt.Sprintf("funding line %d", id)
		if err := services.CheckVersion(subject, row.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&row.Chorus, in.Chorus)
		services.Set(&row.Label, in.Label)
		services.Set(&row.Theme, in.Theme)
		services.Set(&row.Prenotified, in.Prenotified)
		services.Set(&row.Carryover, in.Carryover)
		if err := save(tx, &row, &row.Version, subject, map[string]any{
			"chorus": row.Chorus, "label": row.Label, "theme": row.Theme, "prenotified": row.Prenotified, "carryover": row.Carryover,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, "funding_line", strconv.FormatInt(id, 10))
	})
	if err != nil {
		return FundingLine{}, err
	}
	return s.FundingLine(ctx, id)
}

// CreateAction adds fiche code to year.
func (s *Service) CreateAction(ctx context.Context, year int, code string, in ActionInput) (Action, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Action{}, err
	}
	var v services.Validator
	v.Check(actionCodePattern.MatchString(code), "code", `must be a fiche number such as "4" or "4.2"`)
	validateAction(&v, in, true)
	if err := v.Err(); err != nil {
		return Action{}, err
	}
	row := models.Action{Departement: p.Departement, Year: year, Code: code, Title: *in.Title, Category: *in.Category, Version: 1}
	applyAction(&row, in)
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := requireYear(tx, p.Departement, year); err != nil {
			return err
		}
		if row.FundingLineID, err = fundingLineID(tx, p.Departement, year, *in.FundingLine); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT coalesce(max(position), 0) + 1 FROM actions WHERE departement = ? AND year = ?`, p.Departement, year).
			Row().Scan(&row.Position); err != nil {
			return fmt.Errorf("next position: %w", err)
		}
		if err := insert(tx, &row, fmt.Sprintf("action %s of %d", code, year)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionCreate, "action", actionID(year, code))
	})
	if err != nil {
		return Action{}, err
	}
	return s.Action(ctx, year, code)
}

// UpdateAction changes fiche code of year if it is still at expectedVersion.
func (s *Service) UpdateAction(ctx context.Context, year int, code string, expectedVersion int, in ActionInput) (Action, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Action{}, err
	}
	if err := in.Validate(false); err != nil {
		return Action{}, err
	}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		row, _, err := findAction(tx.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "a"}}), p.Departement, year, code)
		if err != nil {
			return err
		}
		subject := fmt.Sprintf("action %s of %d", code, year)
		if err := services.CheckVersion(subject, row.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&row.Title, in.Title)
		services.Set(&row.Category, in.Category)
		applyAction(&row, in)
		if in.FundingLine != nil {
			if row.FundingLineID, err = fundingLineID(tx, p.Departement, year, *in.FundingLine); err != nil {
				return err
			}
		}
		if row.Valuation.GreaterThan(row.DepartementShare) {
			return &services.ValidationError{Fields: []services.FieldError{{Field: "valuation", Message: "must not exceed departement_share, of which it is a part"}}}
		}
		if err := save(tx, &row, &row.Version, subject, map[string]any{
			"title": row.Title, "category": row.Category, "funding_line_id": row.FundingLineID, "budget": row.Budget,
			"state_share": row.StateShare, "departement_share": row.DepartementShare, "valuation": row.Valuation,
			"carryover": row.Carryover, "other_funders": row.OtherFunders,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, "action", actionID(year, code))
	})
	if err != nil {
		return Action{}, err
	}
	return s.Action(ctx, year, code)
}

// BudgetLine returns one budget line.
func (s *Service) BudgetLine(ctx context.Context, id int64) (BudgetLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return BudgetLine{}, err
	}
	line, action, err := findBudgetLine(services.Conn(ctx, s.db), p.Departement, id)
	if err != nil {
		return BudgetLine{}, err
	}
	return toBudgetLine(line, action), nil
}

// CreateBudgetLine adds a line to fiche actionCode of year. Its amount must equal its shares.
func (s *Service) CreateBudgetLine(ctx context.Context, year int, actionCode string, in BudgetLineInput) (BudgetLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return BudgetLine{}, err
	}
	if err := in.Validate(true); err != nil {
		return BudgetLine{}, err
	}
	line := models.BudgetLine{Departement: p.Departement, Label: *in.Label, Version: 1}
	applyLine(&line, in)
	if err := checkLineBalance(line); err != nil {
		return BudgetLine{}, err
	}
	var action models.Action
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if action, _, err = findAction(tx, p.Departement, year, actionCode); err != nil {
			return err
		}
		line.ActionID = action.ID
		if err := tx.Raw(`SELECT coalesce(max(position), 0) + 1 FROM budget_lines WHERE action_id = ?`, action.ID).Row().Scan(&line.Position); err != nil {
			return fmt.Errorf("next position: %w", err)
		}
		if err := insert(tx, &line, "budget line"); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionCreate, "budget_line", strconv.FormatInt(line.ID, 10))
	})
	if err != nil {
		return BudgetLine{}, err
	}
	return toBudgetLine(line, action), nil
}

// UpdateBudgetLine changes budget line id if it is still at expectedVersion. When an amount
// changes, the line's amount must equal its shares afterwards.
func (s *Service) UpdateBudgetLine(ctx context.Context, id int64, expectedVersion int, in BudgetLineInput) (BudgetLine, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return BudgetLine{}, err
	}
	if err := in.Validate(false); err != nil {
		return BudgetLine{}, err
	}
	var line models.BudgetLine
	var action models.Action
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		line, action, err = findBudgetLine(tx.Clauses(clause.Locking{Strength: "UPDATE", Table: clause.Table{Name: "l"}}), p.Departement, id)
		if err != nil {
			return err
		}
		subject := fmt.Sprintf("budget line %d", id)
		if err := services.CheckVersion(subject, line.Version, expectedVersion); err != nil {
			return err
		}
		services.Set(&line.Label, in.Label)
		applyLine(&line, in)
		amountsChanged := in.Amount != nil || in.StateShare != nil || in.DepartementShare != nil || in.OtherShare != nil
		if amountsChanged {
			if err := checkLineBalance(line); err != nil {
				return err
			}
		}
		if err := save(tx, &line, &line.Version, subject, map[string]any{
			"label": line.Label, "amount": line.Amount, "state_share": line.StateShare,
			"departement_share": line.DepartementShare, "other_share": line.OtherShare,
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, "budget_line", strconv.FormatInt(id, 10))
	})
	if err != nil {
		return BudgetLine{}, err
	}
	return toBudgetLine(line, action), nil
}

func validateAction(v *services.Validator, in ActionInput, create bool) {
	checkText(v, "title", in.Title, create)
	checkText(v, "funding_line", in.FundingLine, create)
	checkChorus(v, "funding_line", in.FundingLine)
	if in.Category != nil || create {
		v.Check(in.Category != nil && (*in.Category == "socle" || *in.Category == "cil"), "category", `must be "socle" or "cil"`)
	}
	for field, d := range map[string]*decimal.Decimal{
		"budget": in.Budget, "state_share": in.StateShare, "departement_share": in.DepartementShare,
		"valuation": in.Valuation, "carryover": in.Carryover, "other_funders": in.OtherFunders,
	} {
		money.Validate(v, field, d)
	}
	if create {
		v.Check(valueOr(in.Valuation).LessThanOrEqual(valueOr(in.DepartementShare)), "valuation", "must not exceed departement_share, of which it is a part")
	}
}

func applyAction(row *models.Action, in ActionInput) {
	services.Set(&row.Budget, in.Budget)
	services.Set(&row.StateShare, in.StateShare)
	services.Set(&row.DepartementShare, in.DepartementShare)
	services.Set(&row.Valuation, in.Valuation)
	services.Set(&row.Carryover, in.Carryover)
	services.Set(&row.OtherFunders, in.OtherFunders)
}

func validateLineAmounts(v *services.Validator, in BudgetLineInput) {
	money.Validate(v, "amount", in.Amount)
	money.Validate(v, "state_share", in.StateShare)
	money.Validate(v, "departement_share", in.DepartementShare)
	money.Validate(v, "other_share", in.OtherShare)
}

func applyLine(line *models.BudgetLine, in BudgetLineInput) {
	services.Set(&line.Amount, in.Amount)
	services.Set(&line.StateShare, in.StateShare)
	services.Set(&line.DepartementShare, in.DepartementShare)
	services.Set(&line.OtherShare, in.OtherShare)
}

func checkLineBalance(l models.BudgetLine) error {
	shares := l.StateShare.Add(l.DepartementShare).Add(l.OtherShare)
	if l.Amount.Equal(shares) {
		return nil
	}
	return &services.ValidationError{Fields: []services.FieldError{{Field: "amount",
		Message: fmt.Sprintf("must equal state_share + departement_share + other_share (%s)", money.String(shares))}}}
}

func checkText(v *services.Validator, field string, s *string, required bool) {
	if s == nil {
		v.Check(!required, field, "is required")
		return
	}
	*s = strings.TrimSpace(*s)
	v.Check(*s != "", field, "must not be blank")
	v.Check(utf8.RuneCountInString(*s) <= maxTextLength, field, fmt.Sprintf("must be at most %d characters", maxTextLength))
}

func checkChorus(v *services.Validator, field string, chorus *string) {
	if chorus != nil && *chorus != "" {
		v.Check(chorusPattern.MatchString(*chorus), field, `must be a Chorus imputation such as "0304 50 19 19 07"`)
	}
}

func requireYear(tx *gorm.DB, departement string, year int) error {
	var n int64
	if err := tx.Model(&models.ConventionYear{}).Where("departement = ? AND year = ?", departement, year).Count(&n).Error; err != nil {
		return fmt.Errorf("read convention year: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("no convention year %d: %w", year, services.ErrNotFound)
	}
	return nil
}

func fundingLineID(tx *gorm.DB, departement string, year int, chorus string) (int64, error) {
	var ids []int64
	if err := tx.Model(&models.FundingLine{}).Where("departement = ? AND year = ? AND chorus = ?", departement, year, chorus).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("find funding line %s: %w", chorus, err)
	}
	if len(ids) == 0 {
		return 0, &services.ValidationError{Fields: []services.FieldError{{Field: "funding_line", Message: fmt.Sprintf("no funding line %s in %d", chorus, year)}}}
	}
	return ids[0], nil
}

func findFundingLine(db *gorm.DB, departement string, id int64) (models.FundingLine, error) {
	var row models.FundingLine
	err := models.Translate(db.Where("departement = ? AND id = ?", departement, id).Take(&row).Error)
	if errors.Is(err, models.ErrNotFound) {
		return row, fmt.Errorf("funding line %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("read funding line %d: %w", id, err)
	}
	return row, nil
}

func findBudgetLine(db *gorm.DB, departement string, id int64) (models.BudgetLine, models.Action, error) {
	var line models.BudgetLine
	err := models.Translate(db.Table("budget_lines l").Select("l.*").Where("l.departement = ? AND l.id = ?", departement, id).Take(&line).Error)
	if errors.Is(err, models.ErrNotFound) {
		return line, models.Action{}, fmt.Errorf("budget line %d: %w", id, services.ErrNotFound)
	}
	if err != nil {
		return line, models.Action{}, fmt.Errorf("read budget line %d: %w", id, err)
	}
	var action models.Action
	if err := db.Session(&gorm.Session{NewDB: true}).Take(&action, line.ActionID).Error; err != nil {
		return line, action, fmt.Errorf("read the action of budget line %d: %w", id, err)
	}
	return line, action, nil
}

// insert creates row, mapping a unique violation to a conflict about subject.
func insert(tx *gorm.DB, row any, subject string) error {
	err := models.Translate(tx.Omit("CreatedAt", "UpdatedAt").Clauses(clause.Returning{}).Create(row).Error)
	if errors.Is(err, models.ErrDuplicate) {
		return fmt.Errorf("%s already exists: %w", subject, services.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", subject, err)
	}
	return nil
}

// save writes columns of row, bumps its version and updated_at.
func save(tx *gorm.DB, row any, version *int, subject string, columns map[string]any) error {
	*version++
	columns["version"] = *version
	columns["updated_at"] = gorm.Expr("now()")
	err := models.Translate(tx.Model(row).Clauses(clause.Returning{}).Updates(columns).Error)
	if errors.Is(err, models.ErrDuplicate) {
		return fmt.Errorf("%s: another row already has that key: %w", subject, services.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", subject, err)
	}
	return nil
}

func valueOr(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

func actionID(year int, code string) string { return strconv.Itoa(year) + "/" + code }
