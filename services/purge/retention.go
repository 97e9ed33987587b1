package purge

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Retention is how long data is kept: calendar years, months and days, written as an
// ISO 8601 duration ("P2Y", "P18M", "P1Y6M", "P400D").
type Retention struct {
	Years, Months, Days int
}

var retentionPattern = regexp.MustCompile(`^P(?:([0-9]{1,4})Y)?(?:([0-9]{1,5})M)?(?:([0-9]{1,6})D)?$`)

// ParseRetention reads an ISO 8601 duration of years, months and days; it must not be zero.
func ParseRetention(s string) (Retention, error) {
	m := retentionPattern.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return Retention{}, fmt.Errorf("%q is not a duration such as P2Y, P18M or P400D", s)
	}
	var parts [3]int
	for i, raw := range m[1:] {
		if raw != "" {
			parts[i], _ = strconv.Atoi(raw) // the pattern allows digits only
		}
	}
	r := Retention{Years: parts[0], Months: parts[1], Days: parts[2]}
	if r.days() == 0 {
		return Retention{}, fmt.Errorf("%q is zero: nothing would be kept", s)
	}
	return r, nil
}

// String writes r as an ISO 8601 duration.
func (r Retention) String() string {
	s := "P"
	for _, part := range []struct {
		n    int
		unit string
	}{{r.Years, "Y"}, {r.Months, "M"}, {r.Days, "D"}} {
		if part.n != 0 {
			s += strconv.Itoa(part.n) + part.unit
		}
	}
	if s == "P" {
		return "P0D"
	}
	return s
}

// interval writes r as a PostgreSQL interval.
func (r Retention) interval() string {
	return fmt.Sprintf("%d years %d months %d days", r.Years, r.Months, r.Days)
}

// days is r as PostgreSQL compares intervals: a month is 30 days, a year 12 months.
func (r Retention) days() int { return (r.Years*12+r.Months)*30 + r.Days }

// AuditFloor is the shortest audit retention the database lets a purge apply: the trigger on
// audit_events refuses to delete an event younger than a year, whatever retention is claimed.
var AuditFloor = Retention{Years: 1}

// Default retentions: case data two years after the last pathway event (CNIL référentiel for
// social accompaniment), access logs one year.
var (
	DefaultCaseRetention  = Retention{Years: 2}
	DefaultAuditRetention = Retention{Years: 1}
)
