package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auditlog"
	"parcours/services/auth"
)

// auditEventDTO is one row of the audit trail.
type auditEventDTO struct {
	ID         int64     `json:"id"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	Action     string    `json:"action"`
	Resource   string    `json:"resource"`
	ResourceID string    `json:"resource_id"`
	RequestID  string    `json:"request_id"`
}

func toAuditEventDTO(e auditlog.Event) auditEventDTO {
	return auditEventDTO{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, Role: e.Role, Action: e.Action,
		Resource: e.Resource, ResourceID: e.ResourceID, RequestID: e.RequestID}
}

type auditHandlers struct {
	svc *auditlog.Service
}

// registerAuditEvents adds the audit trail, newest first, for administrators.
func registerAuditEvents(v1 *gin.RouterGroup, d Deps) {
	h := auditHandlers{svc: auditlog.New(d.DB)}
	v1.GET("/audit-events", requireRoles(auth.RoleAdmin), handle(h.list))
}

func (h auditHandlers) list(c *gin.Context) error {
	page, err := pageRequest(c)
	if err != nil {
		return err
	}
	from, err := queryInstant(c, "from")
	if err != nil {
		return err
	}
	to, err := queryInstant(c, "to")
	if err != nil {
		return err
	}
	if from != nil && to != nil && !from.Before(*to) {
		return badRequest("invalid to", services.FieldError{Field: "to", Message: "must be after from"})
	}
	res, err := h.svc.List(c.Request.Context(), auditlog.Filter{Actor: c.Query("actor"), Resource: c.Query("resource"),
		ResourceID: c.Query("resource_id"), From: from, To: to, Page: page})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, newListResponse(res, toAuditEventDTO))
	return nil
}

// queryInstant reads an optional RFC 3339 instant query parameter ("2020-09-25T00:00:00Z").
func queryInstant(c *gin.Context, name string) (*time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return nil, badRequest("invalid "+name, services.FieldError{Field: name, Message: `must be an RFC 3339 instant such as "2020-09-25T00:00:00Z"`})
	}
	return &t, nil
}
