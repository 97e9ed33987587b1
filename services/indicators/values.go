package indicators

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
)

// Lengths of the text fields of a declaration, in characters.
const (
	maxSource  = 200
	maxComment = 1000
)

var periodPattern = regexp.MustCompile(`^([0-9]{4})(-(0[1-9]|1[0-2]))?$`)

// maxValue bounds declared values, which may be negative (a decrease, such as 4.2's change in
// rSa expenditure): numeric(18,4) holds less than 10^14 in absolute value.
var maxValue = decimal.New(1, 14)

// ValueInput declares the value of a declared indicator for a period: a year ("2020") or a
// month ("2020-06"), for the whole département or, with Territory, for one territory.
type ValueInput struct {
	Period    *string
	Territory *string // a territory code; nil or "" for the whole département
	Value     *decimal.Decimal
	Source    *string
	Comment   *string
}

// DeclaredValue is a recorded declaration.
type DeclaredValue struct {
	ID         int64
	Indicator  string
	Period     string
	Territory  string // "" for the whole département
	Value      decimal.Decimal
	Source     string
	Comment    string
	DeclaredAt time.Time
}

// Validate checks the input's own rules, without the database.
func (in ValueInput) Validate(bool) error {
	in.Source, in.Comment = trimSpace(in.Source), trimSpace(in.Comment)
	var v services.Validator
	in.check(&v, time.Now())
	return v.Err()
}

func (in ValueInput) check(v *services.Validator, now time.Time) {
	switch {
	case in.Period == nil:
		v.Check(false, "period", "is required")
	case !periodPattern.MatchString(*in.Period):
		v.Check(false, "period", `must be a year such as "2020" or a month such as "2020-06"`)
	default:
		year, _ := strconv.Atoi((*in.Period)[:4])
		v.Check(year >= minYear && year <= maxYear, "period", fmt.Sprintf("must be in the years %d to %d", minYear, maxYear))
		v.Check(*in.Period <= now.UTC().Format("2006-01"), "period", "must not start after today")
	}
	switch {
	case in.Value == nil:
		v.Check(false, "value", "is required")
	default:
		v.Check(in.Value.Abs().LessThan(maxValue), "value", "must be less than 10^14 in absolute value")
		v.Check(in.Value.Equal(in.Value.Truncate(4)), "value", "must have at most four decimals")
	}
	services.CheckText(v, "source", in.Source, maxSource)
	if in.Comment != nil && *in.Comment != "" {
		services.CheckText(v, "comment", in.Comment, maxComment)
	}
}

// DeclareValue records in as the value of declared indicator code (an administrator, or an
// agent for one of its territories: an agent must name one of them in in.Territory). Earlier
// declarations of the period are kept; the latest counts. An unknown indicator is
// services.ErrNotFound; a computed one, an unknown territory or another agent's territory a
// *services.ValidationError.
func (s *Service) DeclareValue(ctx context.Context, code string, in ValueInput) (DeclaredValue, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return DeclaredValue{}, err
	}
	if !p.HasRole(auth.RoleAdmin, auth.RoleAgent) {
		return DeclaredValue{}, fmt.Errorf("declare a value of %s: %w", code, services.ErrForbidden)
	}
	in.Source, in.Comment = trimSpace(in.Source), trimSpace(in.Comment)
	var v services.Validator
	in.check(&v, time.Now())
	territory := ""
	services.Set(&territory, in.Territory)
	if p.Role == auth.RoleAgent {
		v.Check(territory != "", "territory", "is required: an agent declares the figures of one of its territories")
		v.Check(territory == "" || slices.Contains(p.Territories, territory), "territory", "must be one of your territories: "+strings.Join(p.Territories, ", "))
	}
	if err := v.Err(); err != nil {
		return DeclaredValue{}, err
	}
	row := models.IndicatorValue{Departement: p.Departement, Period: *in.Period, Value: *in.Value, Source: *in.Source}
	services.Set(&row.Comment, in.Comment)
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if row.IndicatorID, err = declaredIndicator(tx, p.Departement, code); err != nil {
			return err
		}
		if row.TerritoryID, err = territoryID(tx, p.Departement, territory); err != nil {
			return err
		}
		return services.Insert(ctx, tx, &row, &row.ID, "indicator_value", "declared value")
	})
	if err != nil {
		return DeclaredValue{}, err
	}
	return DeclaredValue{ID: row.ID, Indicator: code, Period: row.Period, Territory: territory, Value: row.Value,
		Source: row.Source, Comment: row.Comment, DeclaredAt: row.DeclaredAt}, nil
}

// trimSpace trims the spaces around a text field, when given.
func trimSpace(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// declaredIndicator returns the id of indicator code of departement, which must be declared.
func declaredIndicator(tx *gorm.DB, departement, code string) (int64, error) {
	var ind models.Indicator
	err := models.Translate(tx.Where("departement = ? AND code = ?", departement, code).Take(&ind).Error)
	if errors.Is(err, models.ErrNotFound) {
		return 0, fmt.Errorf("indicator %s: %w", code, services.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read indicator %s: %w", code, err)
	}
	if ind.Method != "declared" {
		return 0, &services.ValidationError{Fields: []services.FieldError{{Field: "code",
			Message: fmt.Sprintf("indicator %s is %s, not declared: only declared indicators take declared values", code, ind.Method)}}}
	}
	return ind.ID, nil
}

// territoryID returns the id of territory code of departement; nil for "" (the whole
// département).
func territoryID(tx *gorm.DB, departement, code string) (*int64, error) {
	if code == "" {
		return nil, nil
	}
	var ids []int64
	if err := tx.Model(&models.Territory{}).Where("departement = ? AND code = ?", departement, code).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("read territory %s: %w", code, err)
	}
	if len(ids) == 0 {
		return nil, &services.ValidationError{Fields: []services.FieldError{{Field: "territory", Message: "no territory " + code}}}
	}
	return &ids[0], nil
}

// latestValuesSQL is, for the declared indicators of @departement, the latest declaration
// (highest id) of each period of @year — the year itself and its months — for territory
// @territory ("" for the whole département: declarations without a territory).
const latestValuesSQL = `WITH latest AS (
	SELECT DISTINCT ON (v.indicator_id, v.period) v.indicator_id, v.id, v.period, v.value, v.source, v.comment, v.declared_at
	FROM indicator_values v
	LEFT JOIN territories t ON t.id = v.territory_id
	WHERE v.departement = @departement AND (v.period = @year OR v.period LIKE @year || '-%')
	  AND coalesce(t.code, '') = @territory
	ORDER BY v.indicator_id, v.period, v.id DESC
)`

// yearValuesSQL is the value of @year of each declared indicator that has declarations: the
// latest declaration for the year itself when there is one; otherwise, from the latest
// declaration of each month, their sum for counts and amounts, the last month's for days
// and rates.
const yearValuesSQL = latestValuesSQL + `
SELECT i.code,
       coalesce(max(l.value) FILTER (WHERE l.period = @year),
                CASE WHEN i.unit IN ('count', 'amount') THEN sum(l.value) FILTER (WHERE l.period <> @year)
                     ELSE (array_agg(l.value ORDER BY l.period DESC) FILTER (WHERE l.period <> @year))[1] END) AS value
FROM latest l JOIN indicators i ON i.id = l.indicator_id
GROUP BY i.code, i.unit`

// periodValuesSQL lists the latest declaration of each period, by indicator and period.
const periodValuesSQL = latestValuesSQL + `
SELECT i.code AS indicator, l.id, l.period, @territory AS territory, l.value, l.source, l.comment, l.declared_at
FROM latest l JOIN indicators i ON i.id = l.indicator_id
ORDER BY i.code, l.period`

// declared is what the declarations of a year say, by indicator code.
type declared struct {
	values  map[string]decimal.Decimal // the year's value
	periods map[string][]DeclaredValue // the latest declaration of each period, oldest period first
}

// declaredValues reads the declarations of year for territory ("" for the whole département).
func declaredValues(db *gorm.DB, departement string, year int, territory string) (declared, error) {
	args := map[string]any{"departement": departement, "year": strconv.Itoa(year), "territory": territory}
	var values []struct {
		Code  string
		Value decimal.Decimal
	}
	if err := db.Raw(yearValuesSQL, args).Scan(&values).Error; err != nil {
		return declared{}, fmt.Errorf("read the declared values of %d: %w", year, err)
	}
	var periods []DeclaredValue
	if err := db.Raw(periodValuesSQL, args).Scan(&periods).Error; err != nil {
		return declared{}, fmt.Errorf("read the declarations of %d: %w", year, err)
	}
	out := declared{values: map[string]decimal.Decimal{}, periods: map[string][]DeclaredValue{}}
	for _, v := range values {
		out.values[v.Code] = v.Value
	}
	for _, d := range periods {
		out.periods[d.Indicator] = append(out.periods[d.Indicator], d)
	}
	return out, nil
}
