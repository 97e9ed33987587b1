package beneficiaries

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
)

// Visible restricts q, a query over beneficiaries aliased b, to the records p may see: its
// département; for an agent, the territories of the token; for a partner, the people convoked
// to a session at its organisation, oriented to it or enrolled with it. Managers see no
// nominative record.
func Visible(q *gorm.DB, p auth.Principal) (*gorm.DB, error) {
	q = q.Where("b.departement = ?", p.Departement)
	switch p.Role {
	case auth.RoleAdmin:
		return q, nil
	case auth.RoleAgent:
		return q.Where("b.territory_code IN ?", p.Territories), nil
	case auth.RolePartner:
		org, err := strconv.ParseInt(p.Organisation, 10, 64)
		if err != nil {
			return q.Where("false"), nil
		}
		// One parenthesised condition: gorm joins the next Where with AND, which must bind to
		// the whole of it.
		return q.Where(partnerScope, sql.Named("organisation", org)), nil
	default:
		return nil, noNominativeAccess(p)
	}
}

// VisibleSQL is Visible as SQL text for statements sent without gorm: the condition over
// beneficiaries b, whose parameters are numbered from $next, and their values.
func VisibleSQL(p auth.Principal, next int) (string, []any, error) {
	departement := "b.departement = $" + strconv.Itoa(next)
	args := []any{p.Departement}
	param := "$" + strconv.Itoa(next+1)
	switch p.Role {
	case auth.RoleAdmin:
		return departement, args, nil
	case auth.RoleAgent:
		return departement + " AND b.territory_code = ANY(" + param + "::text[])", append(args, p.Territories), nil
	case auth.RolePartner:
		org, err := strconv.ParseInt(p.Organisation, 10, 64)
		if err != nil {
			return departement + " AND false", args, nil
		}
		return departement + " AND " + strings.ReplaceAll(partnerScope, "@organisation", param), append(args, org), nil
	default:
		return "", nil, noNominativeAccess(p)
	}
}

// partnerScope is what a partner may see, with its organisation as @organisation.
const partnerScope = `(b.id IN (SELECT c.beneficiary_id FROM convocations c
		JOIN orientation_sessions s ON s.id = c.session_id
		WHERE s.site_organisation_id = @organisation AND c.departement = b.departement)
	OR b.id IN (SELECT o.beneficiary_id FROM orientations o
		WHERE o.organisation_id = @organisation AND o.departement = b.departement)
	OR b.id IN (SELECT e.beneficiary_id FROM enrolments e
		WHERE e.organisation_id = @organisation AND e.departement = b.departement))`

func noNominativeAccess(p auth.Principal) error {
	return fmt.Errorf("role %s has no access to nominative records: %w", p.Role, services.ErrForbidden)
}

// OrganisationOf is the organisation id of a partner token, false for other roles or a
// malformed claim.
func OrganisationOf(p auth.Principal) (int64, bool) {
	if p.Role != auth.RolePartner {
		return 0, false
	}
	id, err := strconv.ParseInt(p.Organisation, 10, 64)
	return id, err == nil
}

// CanSeeNIR reports whether p may read NIRs: administrators and agents only.
func CanSeeNIR(p auth.Principal) bool { return p.HasRole(auth.RoleAdmin, auth.RoleAgent) }
