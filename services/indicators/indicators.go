// Package indicators holds the indicator definitions of the fiches actions (national
// stratégie pauvreté indicators and departmental ones), their yearly targets, the registry
// of indicators computed from case data, and the indicator report.
package indicators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
)

// The closed vocabularies of a definition.
var (
	Scopes      = []string{"national", "departmental"}
	Units       = []string{"count", "days", "rate", "amount"}
	Methods     = []string{"computed", "declared"}
	Comparators = []string{"eq", "lt", "lte", "gt", "gte"}
)

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	minYear      = 2000
	maxYear      = 2100
	maxLabel     = 500
	maxNoteRunes = 500
)

// Target is what an indicator should reach in a year: value compared with Comparator.
type Target struct {
	Year       int
	Value      decimal.Decimal
	Comparator string
	Note       string
}

// Indicator is an indicator definition with its targets.
type Indicator struct {
	Code       string
	ActionCode string
	Scope      string
	Label      string
	Unit       string
	Method     string
	Params     map[string]float64
	Targets    []Target
	Version    int
}

// Input creates or changes a definition; nil fields are left as they are, and Targets, when
// given, replaces every target.
type Input struct {
	ActionCode *string
	Scope      *string
	Label      *string
	Unit       *string
	Method     *string
	Params     *map[string]float64
	Targets    *[]Target
}

// Service reads and writes the indicators of the caller's département.
type Service struct {
	db       *gorm.DB
	registry *Registry
}

// New returns an indicator service; registry holds the computed indicators.
func New(db *gorm.DB, registry *Registry) *Service { return &Service{db: db, registry: registry} }

// Get returns indicator code.
func (s *Service) Get(ctx context.Context, code string) (Indicator, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Indicator{}, err
	}
	inds, err := s.load(services.Conn(ctx, s.db).Where("departement = ? AND code = ?", p.Departement, code))
	if err != nil {
		return Indicator{}, err
	}
	if len(inds) == 0 {
		return Indicator{}, fmt.Errorf("indicator %s: %w", code, services.ErrNotFound)
	}
	return inds[0], nil
}

// ForAction returns the indicators of fiche actionCode, in the fiche's order.
func (s *Service) ForAction(ctx context.Context, actionCode string) ([]Indicator, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.load(services.Conn(ctx, s.db).Where("departement = ? AND action_code = ?", p.Departement, actionCode))
}

// load reads the definitions q selects and their targets (two queries, whatever their number).
func (s *Service) load(q *gorm.DB) ([]Indicator, error) {
	var rows []models.Indicator
	if err := q.Order("position, code").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read indicators: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var targets []models.IndicatorTarget
	if err := q.Session(&gorm.Session{NewDB: true}).Where("indicator_id IN ?", ids).Order("year").Find(&targets).Error; err != nil {
		return nil, fmt.Errorf("read indicator targets: %w", err)
	}
	byIndicator := map[int64][]Target{}
	for _, t := range targets {
		byIndicator[t.IndicatorID] = append(byIndicator[t.IndicatorID], toTarget(t))
	}
	out := make([]Indicator, len(rows))
	for i, r := range rows {
		ind, err := toIndicator(r)
		if err != nil {
			return nil, err
		}
		ind.Targets = byIndicator[r.ID]
		out[i] = ind
	}
	return out, nil
}

// Create adds the definition code. Its code is "<fiche>.<name>" and its fiche must exist.
func (s *Service) Create(ctx context.Context, code string, in Input) (Indicator, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Indicator{}, err
	}
	var v services.Validator
	validate(&v, in, true)
	if in.ActionCode != nil {
		name, ok := strings.CutPrefix(code, *in.ActionCode+".")
		v.Check(ok && namePattern.MatchString(name), "code", `must be the fiche code, a dot and a snake_case name, e.g. "3.1.new_entrants"`)
	}
	if err := v.Err(); err != nil {
		return Indicator{}, err
	}
	row := models.Indicator{Departement: p.Departement, Code: code, Version: 1}
	if err := apply(&row, in); err != nil {
		return Indicator{}, err
	}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if err := requireAction(tx, p.Departement, row.ActionCode); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT coalesce(max(position), 0) + 1 FROM indicators WHERE departement = ?`, p.Departement).Row().Scan(&row.Position); err != nil {
			return fmt.Errorf("next position: %w", err)
		}
		err := models.Translate(tx.Omit("CreatedAt", "UpdatedAt").Create(&row).Error)
		if errors.Is(err, models.ErrDuplicate) {
			return fmt.Errorf("indicator %s already exists: %w", code, services.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create indicator %s: %w", code, err)
		}
		if err := replaceTargets(tx, row, in.Targets); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionCreate, "indicator", code)
	})
	if err != nil {
		return Indicator{}, err
	}
	return s.Get(ctx, code)
}

// Update changes definition code if it is still at expectedVersion.
func (s *Service) Update(ctx context.Context, code string, expectedVersion int, in Input) (Indicator, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Indicator{}, err
	}
	var v services.Validator
	validate(&v, in, false)
	v.Check(in.ActionCode == nil, "action_code", "cannot change: the code names the fiche; create another indicator")
	if err := v.Err(); err != nil {
		return Indicator{}, err
	}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		var row models.Indicator
		err := models.Translate(tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("departement = ? AND code = ?", p.Departement, code).Take(&row).Error)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("indicator %s: %w", code, services.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read indicator %s: %w", code, err)
		}
		if err := services.CheckVersion("indicator "+code, row.Version, expectedVersion); err != nil {
			return err
		}
		if err := apply(&row, in); err != nil {
			return err
		}
		if err := services.SaveVersion(tx, &row, &row.Version, "indicator "+code, map[string]any{
			"scope": row.Scope, "label": row.Label, "unit": row.Unit, "method": row.Method, "params": row.Params,
		}); err != nil {
			return err
		}
		if err := replaceTargets(tx, row, in.Targets); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.ActionUpdate, "indicator", code)
	})
	if err != nil {
		return Indicator{}, err
	}
	return s.Get(ctx, code)
}

// Validate checks the input's own rules (a create needs every field but params and targets).
func (in Input) Validate(creating bool) error {
	var v services.Validator
	validate(&v, in, creating)
	return v.Err()
}

func validate(v *services.Validator, in Input, create bool) {
	required := func(field string, s *string) bool {
		v.Check(s != nil || !create, field, "is required")
		return s != nil
	}
	if required("action_code", in.ActionCode) {
		v.Check(*in.ActionCode != "", "action_code", "must not be blank")
	}
	if required("label", in.Label) {
		*in.Label = strings.TrimSpace(*in.Label)
		v.Check(*in.Label != "" && utf8.RuneCountInString(*in.Label) <= maxLabel, "label", fmt.Sprintf("must be 1 to %d characters", maxLabel))
	}
	for _, e := range []struct {
		field string
		value *string
		among []string
	}{{"scope", in.Scope, Scopes}, {"unit", in.Unit, Units}, {"method", in.Method, Methods}} {
		if required(e.field, e.value) {
			v.Check(slices.Contains(e.among, *e.value), e.field, "must be one of "+strings.Join(e.among, ", "))
		}
	}
	if in.Params != nil {
		for name, value := range *in.Params {
			v.Check(namePattern.MatchString(name), "params."+name, "must be a snake_case name")
			v.Check(value >= 0, "params."+name, "must not be negative")
		}
	}
	if in.Targets != nil {
		seen := map[int]bool{}
		for i, t := range *in.Targets {
			field := fmt.Sprintf("targets[%d]", i)
			v.Check(t.Year >= minYear && t.Year <= maxYear, field+".year", fmt.Sprintf("must be from %d to %d", minYear, maxYear))
			v.Check(!seen[t.Year], field+".year", "appears twice")
			seen[t.Year] = true
			v.Check(slices.Contains(Comparators, t.Comparator), field+".comparator", "must be one of "+strings.Join(Comparators, ", "))
			v.Check(utf8.RuneCountInString(t.Note) <= maxNoteRunes, field+".note", fmt.Sprintf("must be at most %d characters", maxNoteRunes))
		}
	}
}

func apply(row *models.Indicator, in Input) error {
	for dst, src := range map[*string]*string{&row.ActionCode: in.ActionCode, &row.Scope: in.Scope, &row.Label: in.Label, &row.Unit: in.Unit, &row.Method: in.Method} {
		if src != nil {
			*dst = *src
		}
	}
	if in.Params != nil || row.Params == "" {
		params := map[string]float64{}
		if in.Params != nil {
			params = *in.Params
		}
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("encode params: %w", err)
		}
		row.Params = string(b)
	}
	return nil
}

func replaceTargets(tx *gorm.DB, row models.Indicator, targets *[]Target) error {
	if targets == nil {
		return nil
	}
	if err := tx.Where("indicator_id = ?", row.ID).Delete(&models.IndicatorTarget{}).Error; err != nil {
		return fmt.Errorf("replace targets of %s: %w", row.Code, err)
	}
	for _, t := range *targets {
		target := models.IndicatorTarget{Departement: row.Departement, IndicatorID: row.ID, Year: t.Year, Value: t.Value, Comparator: t.Comparator, Note: t.Note}
		if err := tx.Create(&target).Error; err != nil {
			return fmt.Errorf("write target %d of %s: %w", t.Year, row.Code, err)
		}
	}
	return nil
}

func requireAction(tx *gorm.DB, departement, actionCode string) error {
	var n int64
	if err := tx.Model(&models.Action{}).Where("departement = ? AND code = ?", departement, actionCode).Count(&n).Error; err != nil {
		return fmt.Errorf("look for fiche %s: %w", actionCode, err)
	}
	if n == 0 {
		return &services.ValidationError{Fields: []services.FieldError{{Field: "action_code", Message: "no fiche action " + actionCode}}}
	}
	return nil
}

func toIndicator(r models.Indicator) (Indicator, error) {
	ind := Indicator{Code: r.Code, ActionCode: r.ActionCode, Scope: r.Scope, Label: r.Label, Unit: r.Unit, Method: r.Method, Version: r.Version}
	if err := json.Unmarshal([]byte(r.Params), &ind.Params); err != nil {
		return ind, fmt.Errorf("indicator %s params: %w", r.Code, err)
	}
	return ind, nil
}

func toTarget(t models.IndicatorTarget) Target {
	return Target{Year: t.Year, Value: t.Value, Comparator: t.Comparator, Note: t.Note}
}
