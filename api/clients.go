package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/clients"
)

// apiClientDTO is an API client as the API shows it: never its secret.
type apiClientDTO struct {
	ID              int64      `json:"id"`
	ClientID        string     `json:"client_id"`
	Name            string     `json:"name"`
	OrganisationID  int64      `json:"organisation_id"`
	Scopes          []string   `json:"scopes"`
	Active          bool       `json:"active"`
	CreatedBy       string     `json:"created_by"`
	SecretRotatedAt time.Time  `json:"secret_rotated_at"`
	LockedUntil     *time.Time `json:"locked_until"`
	RevokedAt       *time.Time `json:"revoked_at"`
	Version         int        `json:"version"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// apiClientCredentialsDTO is a client with its secret, shown once after a create or a rotation.
type apiClientCredentialsDTO struct {
	apiClientDTO
	ClientSecret string `json:"client_secret"`
}

func toAPIClientDTO(c clients.Client) apiClientDTO {
	return apiClientDTO{ID: c.ID, ClientID: c.ClientID, Name: c.Name, OrganisationID: c.OrganisationID, Scopes: c.Scopes,
		Active: c.Active, CreatedBy: c.CreatedBy, SecretRotatedAt: c.SecretRotatedAt.UTC(), LockedUntil: utcPtr(c.LockedUntil),
		RevokedAt: utcPtr(c.RevokedAt), Version: c.Version, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func toCredentialsDTO(c clients.Credentials) apiClientCredentialsDTO {
	return apiClientCredentialsDTO{apiClientDTO: toAPIClientDTO(c.Client), ClientSecret: c.Secret}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type apiClientRequest struct {
	Name           Optional[string]   `json:"name"`
	OrganisationID Optional[int64]    `json:"organisation_id"`
	Scopes         Optional[[]string] `json:"scopes"`
}

func (r apiClientRequest) input(v *services.Validator) clients.Input {
	in := clients.Input{Name: optText(v, "name", r.Name), OrganisationID: notNull(v, "organisation_id", r.OrganisationID)}
	if scopes := notNull(v, "scopes", r.Scopes); scopes != nil {
		in.Scopes = *scopes
	}
	return in
}

var (
	apiClientView = view[clients.Client, apiClientDTO]{dto: toAPIClientDTO,
		version: func(c clients.Client) int { return c.Version }}
	credentialsView = view[clients.Credentials, apiClientCredentialsDTO]{dto: toCredentialsDTO,
		version:  func(c clients.Credentials) int { return c.Version },
		location: func(c clients.Credentials) string { return location("/api/v1/api-clients/")(c.ID) }}
)

type clientHandlers struct {
	svc    *clients.Service
	logger *slog.Logger
}

// registerClients adds the partner API clients: the administrators' routes under /api/v1, and
// the OAuth2 token endpoint, which authenticates clients by their own credentials and so sits
// on the engine, outside the bearer-authenticated group.
func registerClients(r *gin.Engine, v1 *gin.RouterGroup, d Deps) {
	h := clientHandlers{svc: clients.New(d.DB, d.Tokens).WithClock(d.Now).WithHashCost(d.SecretHashCost), logger: d.Logger}
	r.POST("/api/v1/oauth/token", h.token)

	adminOnly := requireRoles(auth.RoleAdmin)
	v1.GET("/api-clients", adminOnly, listPage(toAPIClientDTO, h.svc.List))
	v1.POST("/api-clients", adminOnly, createFrom[apiClientRequest](credentialsView, h.svc.Create))
	v1.GET("/api-clients/:id", adminOnly, getByID(apiClientView, h.svc.Get))
	// Rotation and revocation take no body: the path names the client, as a GET would.
	v1.POST("/api-clients/:id/rotate", adminOnly, getByID(credentialsView, h.svc.Rotate))
	v1.POST("/api-clients/:id/revoke", adminOnly, getByID(apiClientView, h.svc.Revoke))
}

// listPage serves GET on a collection: one keyset page of list, each item rendered by dto
// (listByID's twin for a collection at the root).
func listPage[T, D any](dto func(T) D, list func(context.Context, services.PageRequest) (services.Page[T], error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		page, err := pageRequest(c)
		if err != nil {
			return err
		}
		res, err := list(c.Request.Context(), page)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, newListResponse(res, dto))
		return nil
	})
}

// tokenResponse is the successful answer of the token endpoint (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// oauthError is the error answer of the token endpoint (RFC 6749 §5.2), not a problem.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token serves POST /api/v1/oauth/token: the client credentials grant (RFC 6749 §4.4).
// Refusals answer in the RFC's own format; a body too large or a server failure is a problem.
func (h clientHandlers) token(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	req, err := tokenRequest(c)
	if err == nil {
		var grant clients.Grant
		if grant, err = h.svc.Issue(c.Request.Context(), req); err == nil {
			c.JSON(http.StatusOK, tokenResponse{AccessToken: grant.AccessToken, TokenType: "Bearer",
				ExpiresIn: int(grant.ExpiresIn.Seconds()), Scope: strings.Join(grant.Scopes, " ")})
			return
		}
	}
	var refusal *clients.GrantError
	if !errors.As(err, &refusal) {
		renderError(c, err)
		return
	}
	h.logger.WarnContext(c.Request.Context(), "token refused", "error", refusal.Code, "request_id", audit.RequestID(c.Request.Context()))
	status := http.StatusBadRequest
	if refusal.Code == clients.ErrorInvalidClient {
		status = http.StatusUnauthorized
		c.Header("WWW-Authenticate", `Basic realm="parcours"`)
	}
	c.AbortWithStatusJSON(status, oauthError{Error: refusal.Code, Description: refusal.Description})
}

// tokenRequest reads a client credentials grant: a form body with grant_type, the client's
// credentials in the body or in HTTP Basic (never both), and an optional scope.
func tokenRequest(c *gin.Context) (clients.TokenRequest, error) {
	invalid := func(description string) (clients.TokenRequest, error) {
		return clients.TokenRequest{}, clients.Refuse(clients.ErrorInvalidRequest, description)
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return invalid("the body must be application/x-www-form-urlencoded")
	}
	if c.Request.URL.Query().Has("client_secret") {
		return invalid("credentials do not go in the URL")
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return clients.TokenRequest{}, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return invalid("the body is not a valid form")
	}
	for name, values := range form {
		if len(values) > 1 {
			return invalid("the parameter " + name + " is repeated")
		}
	}
	switch form.Get("grant_type") {
	case "client_credentials":
	case "":
		return invalid("grant_type is required")
	default:
		return clients.TokenRequest{}, clients.Refuse(clients.ErrorUnsupportedGrantType, "only the client_credentials grant is supported")
	}
	req, err := clientCredentials(c.GetHeader("Authorization"), form)
	if err != nil {
		return req, err
	}
	if scope := form.Get("scope"); strings.TrimSpace(scope) != "" {
		req.Scopes = strings.Fields(scope)
	}
	return req, nil
}

// clientCredentials reads the client's id and secret from the Authorization header (HTTP
// Basic, each part form-encoded as RFC 6749 §2.3.1 says) or from the form.
func clientCredentials(authorization string, form url.Values) (clients.TokenRequest, error) {
	failed := clients.Refuse(clients.ErrorInvalidClient, "client authentication is required: HTTP Basic, or client_id and client_secret in the body")
	if authorization == "" {
		req := clients.TokenRequest{ClientID: form.Get("client_id"), Secret: form.Get("client_secret")}
		if req.ClientID == "" || req.Secret == "" {
			return req, failed
		}
		return req, nil
	}
	scheme, encoded, _ := strings.Cut(authorization, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if !strings.EqualFold(scheme, "Basic") || err != nil {
		return clients.TokenRequest{}, failed
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	id, errID := url.QueryUnescape(user)
	secret, errSecret := url.QueryUnescape(pass)
	if !ok || errID != nil || errSecret != nil || id == "" || secret == "" {
		return clients.TokenRequest{}, failed
	}
	if form.Has("client_secret") || (form.Has("client_id") && form.Get("client_id") != id) {
		return clients.TokenRequest{}, clients.Refuse(clients.ErrorInvalidRequest, "use one client authentication method: HTTP Basic or the body, not both")
	}
	return clients.TokenRequest{ClientID: id, Secret: secret}, nil
}
