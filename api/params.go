package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"parcours/services"
	"parcours/services/money"
)

// Years the API accepts in paths and queries.
const (
	minYear = 2000
	maxYear = 2100
)

func parseYear(raw, field string) (int, error) {
	y, err := strconv.Atoi(raw)
	if err != nil || y < minYear || y > maxYear {
		return 0, badRequest("invalid "+field, services.FieldError{Field: field, Message: fmt.Sprintf("must be a year from %d to %d", minYear, maxYear)})
	}
	return y, nil
}

// pathYear reads the :year path parameter.
func pathYear(c *gin.Context) (int, error) { return parseYear(c.Param("year"), "year") }

// queryYear reads the required ?year= parameter.
func queryYear(c *gin.Context) (int, error) {
	raw, ok := c.GetQuery("year")
	if !ok {
		return 0, badRequest("the year query parameter is required", services.FieldError{Field: "year", Message: "is required, e.g. ?year=2020"})
	}
	return parseYear(raw, "year")
}

// pathID reads a numeric :id path parameter; a malformed one cannot name anything: 404.
func pathID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: %w", c.Param("id"), services.ErrNotFound)
	}
	return id, nil
}

// optText returns the given string, nil when absent, and records null as an error.
func optText(v *services.Validator, field string, o Optional[string]) *string {
	return notNull(v, field, o)
}

// optMoney parses a money field ("1234.50"): nil when absent, a field error when null or
// malformed.
func optMoney(v *services.Validator, field string, o Optional[string]) *decimal.Decimal {
	s := notNull(v, field, o)
	if s == nil {
		return nil
	}
	d, err := money.Parse(*s)
	if err != nil {
		v.Check(false, field, err.Error())
		return nil
	}
	return &d
}

// moneyString writes an amount as JSON carries money: a string with two decimals.
func moneyString(d decimal.Decimal) string { return money.String(d) }

// number writes a decimal as a JSON number.
func number(d decimal.Decimal) json.Number { return json.Number(d.String()) }

// nullableNumber writes a NullDecimal as a JSON number or null.
func nullableNumber(d decimal.NullDecimal) *json.Number {
	if !d.Valid {
		return nil
	}
	n := number(d.Decimal)
	return &n
}

// nullable turns "" into null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optDate parses a calendar date field ("2020-09-25"): nil when absent, a field error when
// null or malformed.
func optDate(v *services.Validator, field string, o Optional[string]) *time.Time {
	s := notNull(v, field, o)
	if s == nil {
		return nil
	}
	d, err := time.Parse(time.DateOnly, *s)
	v.Check(err == nil, field, `must be a date such as "2020-09-25"`)
	if err != nil {
		return nil
	}
	return &d
}

// dateString writes a calendar date as JSON carries it.
func dateString(t time.Time) string { return t.Format(time.DateOnly) }

// nullableDate writes an optional calendar date, or null.
func nullableDate(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := dateString(*t)
	return &s
}

// queryInt reads an optional whole-number query parameter.
func queryInt(c *gin.Context, name string) (*int, error) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return nil, badRequest("invalid "+name, services.FieldError{Field: name, Message: "must be a whole number"})
	}
	return &n, nil
}
