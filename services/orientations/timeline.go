package orientations

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/audit"
)

// Event types of the pathway timeline.
const (
	EventRightsOpened          = "rights_opened"
	EventConvocationSent       = "convocation_sent"
	EventSession               = "session"
	EventCatchUp               = "catch_up"
	EventFormalNoticeIssued    = "formal_notice_issued"
	EventFormalNoticeDeadline  = "formal_notice_deadline"
	EventOrientationDecided    = "orientation_decided"
	EventOrientationNotified   = "orientation_notified"
	EventOrientationSuperseded = "orientation_superseded"
)

// SessionTimeZone is the zone in which a session's start gives its calendar date.
const SessionTimeZone = "Europe/Paris"

// EventSource is one type of timeline event: a SQL select of the columns event_date (a date;
// rows where it is NULL are left out), ref (a bigint that orders events of one type on one
// day) and detail (a jsonb object), for the beneficiary @beneficiary of the département
// @departement (@tz is SessionTimeZone). Events of one day come in the order of their
// sources.
type EventSource struct {
	Type string
	SQL  string
}

// utcInstant writes a timestamptz column as RFC 3339 UTC inside a JSON detail.
const utcInstant = `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`

// EventSources are the events of the orientation pathway, in their order within a day.
// Later capabilities add theirs with Service.WithEventSources.
var EventSources = []EventSource{
	{EventRightsOpened, `SELECT b.rights_opened_on AS event_date, b.id AS ref,
		jsonb_build_object('payer', b.payer, 'subject_to_rights_and_duties', b.subject_to_rights_and_duties,
			'territory_code', b.territory_code) AS detail
		FROM beneficiaries b WHERE b.id = @beneficiary AND b.departement = @departement`},
	{EventConvocationSent, `SELECT c.sent_on AS event_date, c.id AS ref,
		jsonb_build_object('convocation_id', c.id, 'session_id', s.id,
			'session_date', (s.starts_at AT TIME ZONE @tz)::date, 'site_organisation', org.name) AS detail
		FROM convocations c JOIN orientation_sessions s ON s.id = c.session_id
		JOIN organisations org ON org.id = s.site_organisation_id
		WHERE c.beneficiary_id = @beneficiary AND c.departement = @departement`},
	{EventSession, `SELECT (s.starts_at AT TIME ZONE @tz)::date AS event_date, c.id AS ref,
		jsonb_build_object('convocation_id', c.id, 'session_id', s.id,
			'starts_at', ` + fmt.Sprintf(utcInstant, "s.starts_at") + `, 'attendance', c.attendance,
			'territory_code', s.territory_code, 'site_organisation', org.name) AS detail
		FROM convocations c JOIN orientation_sessions s ON s.id = c.session_id
		JOIN organisations org ON org.id = s.site_organisation_id
		WHERE c.beneficiary_id = @beneficiary AND c.departement = @departement`},
	{EventCatchUp, `SELECT c.catch_up_on AS event_date, c.id AS ref,
		jsonb_build_object('convocation_id', c.id, 'attended', c.catch_up_attended) AS detail
		FROM convocations c WHERE c.beneficiary_id = @beneficiary AND c.departement = @departement`},
	{EventFormalNoticeIssued, `SELECT f.issued_on AS event_date, f.id AS ref,
		jsonb_build_object('formal_notice_id', f.id, 'convocation_id', f.convocation_id,
			'response_deadline', f.response_deadline) AS detail
		FROM formal_notices f WHERE f.beneficiary_id = @beneficiary AND f.departement = @departement`},
	{EventFormalNoticeDeadline, `SELECT f.response_deadline AS event_date, f.id AS ref,
		jsonb_build_object('formal_notice_id', f.id, 'outcome', f.outcome) AS detail
		FROM formal_notices f WHERE f.beneficiary_id = @beneficiary AND f.departement = @departement`},
	{EventOrientationDecided, `SELECT o.decided_on AS event_date, o.id AS ref,
		jsonb_build_object('orientation_id', o.id, 'route', o.route, 'origin', o.origin,
			'organisation_id', o.organisation_id, 'organisation', org.name, 'referent_id', o.referent_id,
			'referent', CASE WHEN r.id IS NULL THEN NULL ELSE r.first_name || ' ' || r.last_name END,
			'convocation_id', o.convocation_id, 'current', o.current) AS detail
		FROM orientations o JOIN organisations org ON org.id = o.organisation_id
		LEFT JOIN referents r ON r.id = o.referent_id
		WHERE o.beneficiary_id = @beneficiary AND o.departement = @departement`},
	{EventOrientationNotified, `SELECT o.notified_on AS event_date, o.id AS ref,
		jsonb_build_object('orientation_id', o.id, 'route', o.route) AS detail
		FROM orientations o WHERE o.beneficiary_id = @beneficiary AND o.departement = @departement`},
	{EventOrientationSuperseded, `SELECT o.superseded_on AS event_date, o.id AS ref,
		jsonb_build_object('orientation_id', o.id, 'route', o.route, 'organisation', org.name) AS detail
		FROM orientations o JOIN organisations org ON org.id = o.organisation_id
		WHERE o.beneficiary_id = @beneficiary AND o.departement = @departement`},
}

// Event is one dated step of a pathway; Detail is a JSON object whose keys depend on Type.
type Event struct {
	Date   time.Time
	Type   string
	Detail json.RawMessage
}

// Timeline is every dated event of a beneficiary's pathway, oldest first.
type Timeline struct {
	BeneficiaryID int64
	Events        []Event
}

var eventTypePattern = regexp.MustCompile(`^[a-z][a-z_]*$`)

// timelineSQL joins the sources into one UNION ALL ordered by date, then source, then ref.
func timelineSQL(sources []EventSource) string {
	parts := make([]string, len(sources))
	for i, src := range sources {
		parts[i] = fmt.Sprintf("SELECT s.event_date, '%s'::text AS type, %d AS rank, s.ref, s.detail FROM (%s) AS s",
			src.Type, i, src.SQL)
	}
	return `SELECT e.event_date, e.type, e.detail::text AS detail FROM (` + strings.Join(parts, "\nUNION ALL\n") +
		`) AS e WHERE e.event_date IS NOT NULL ORDER BY e.event_date, e.rank, e.ref`
}

// Timeline returns the pathway of beneficiary id if the caller may see it (else
// services.ErrNotFound), and audits it as a read of the beneficiary's record.
func (s *Service) Timeline(ctx context.Context, id int64) (Timeline, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Timeline{}, err
	}
	out := Timeline{BeneficiaryID: id, Events: []Event{}}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		if _, err := visibleSubject(tx, p, id); err != nil {
			return err
		}
		var rows []struct {
			EventDate time.Time
			Type      string
			Detail    string
		}
		err := tx.Raw(timelineSQL(s.sources), map[string]any{
			"beneficiary": id, "departement": p.Departement, "tz": SessionTimeZone,
		}).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("read the timeline of beneficiary %d: %w", id, err)
		}
		for _, r := range rows {
			out.Events = append(out.Events, Event{Date: r.EventDate, Type: r.Type, Detail: json.RawMessage(r.Detail)})
		}
		return audit.Record(ctx, tx, audit.ActionRead, beneficiaryResource, strconv.FormatInt(id, 10))
	})
	return out, err
}
