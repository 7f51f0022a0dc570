package httpapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// Who may call what (Deps.Auth set; see also openapi.yaml):
//   - anyone: GET /healthz, /readyz, /metrics, /openapi.yaml, and the
//     catalog reads GET /v1/products and GET /v1/products/{sku};
//   - an operator only: PUT /v1/products/{sku}, PUT /v1/customers/{id} and
//     everything under /v1/admin/ (a customer gets 403);
//   - a customer or an operator: the orders and GET /v1/customers/{id}. A
//     customer places orders only for itself (another customer_id: 403),
//     sees and cancels only its own (another's: 404, as for an unknown id),
//     reads only its own account (another's: 404) and lists only its own
//     orders.
//
// A request to a route that needs a credential without a valid bearer
// token gets 401 with a WWW-Authenticate challenge. Every check runs before
// the handler touches anything, so a refused request changes nothing.

// authRealm is the realm of the WWW-Authenticate challenges.
const authRealm = "ordersaga"

// anonymousSubject is the subject of the operator every request acts as
// when authentication is off (Deps.Auth nil).
const anonymousSubject = "anonymous"

// principalKey is the request-context key of the principal.
type principalKey struct{}

// PrincipalFrom returns the principal the API authenticated a request as,
// from the request's context; false when the request went through no
// route that needs a credential. With authentication off (Deps.Auth nil)
// every such request acts as an operator.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// principal returns who the request acts as: the authenticated principal,
// else (a route without authentication) an operator, as with
// authentication off.
func principal(c *gin.Context) auth.Principal {
	if p, ok := PrincipalFrom(c.Request.Context()); ok {
		return p
	}
	return auth.Principal{Role: auth.RoleOperator, Subject: anonymousSubject}
}

// authenticate is the first handler of every route that needs a
// credential: it verifies the request's bearer token and puts its
// principal in the request's context, or answers 401. With authentication
// off every request acts as an operator.
func (a *api) authenticate(c *gin.Context) {
	p := auth.Principal{Role: auth.RoleOperator, Subject: anonymousSubject}
	if a.Auth != nil {
		header := c.GetHeader("Authorization")
		var err error
		if p, err = a.Auth.Verify(auth.BearerToken(header), a.Now()); err != nil {
			a.unauthorized(c, header != "", err)
			return
		}
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, p))
}

// operatorOnly returns the handler, after authenticate, that answers 403
// to a customer; what completes "a customer may not …".
func (a *api) operatorOnly(what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principal(c).Operator() {
			a.forbidden(c, fmt.Sprintf("a customer may not %s: this needs an operator token", what))
		}
	}
}

// unauthorized answers 401 with the challenge of RFC 6750: the realm alone
// when no bearer token came (sentHeader tells an Authorization header of
// another scheme), else error="invalid_token" and why.
func (a *api) unauthorized(c *gin.Context, sentHeader bool, err error) {
	var detail, why string
	switch {
	case errors.Is(err, auth.ErrNoToken) && sentHeader:
		detail = `this request needs a bearer token, and the Authorization header holds none: send "Authorization: Bearer <token>"`
	case errors.Is(err, auth.ErrNoToken):
		detail = `this request needs a bearer token: send "Authorization: Bearer <token>"`
	case errors.Is(err, auth.ErrExpired):
		detail, why = "the bearer token has expired: get a new one", "the token has expired"
	default:
		detail = "the bearer token is not valid: it is malformed, or not signed with this deployment's secret, or not for this API"
		why = "the token is malformed or does not verify"
	}
	challenge := fmt.Sprintf("Bearer realm=%q", authRealm)
	if why != "" {
		challenge += fmt.Sprintf(", error=\"invalid_token\", error_description=%q", why)
	}
	_ = c.Error(err) // the access log tells why
	c.Header("WWW-Authenticate", challenge)
	a.writeProblem(c, newProblem(typeUnauthorized, detail))
}

// forbidden answers 403: the principal may not do what the request asks.
func (a *api) forbidden(c *gin.Context, detail string) {
	a.writeProblem(c, newProblem(typeForbidden, detail))
}

// ownCustomer, on GET /v1/customers/{id}, answers a customer asking for
// another customer's account as if that account did not exist.
func (a *api) ownCustomer(c *gin.Context) {
	id := c.Param("id")
	if principal(c).Owns(id) {
		return
	}
	if err := pathID("id", id); err != nil {
		a.fail(c, err)
		return
	}
	a.fail(c, customerNotFound(id))
}

// ownOrder reports whether the request's principal may see order id: an
// operator always (the order is not read), a customer only when the
// order is its own. When it may not, ownOrder has answered: 404 exactly as
// for an unknown order, or the failure to read the order.
func (a *api) ownOrder(c *gin.Context, id string) bool {
	p := principal(c)
	if p.Operator() {
		return true
	}
	if a.Orders == nil {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no orders"))
		return false
	}
	o, err := a.Orders.Get(c.Request.Context(), id)
	if errs.Is(err, errs.NotFound) || (err == nil && !p.Owns(o.State().CustomerID)) {
		err = orderNotFound(id)
	}
	if err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

// orderNotFound is the error of an unknown order, and of another
// customer's, worded as the order store words it.
func orderNotFound(id string) error { return errs.E(errs.NotFound, "order %s not found", id) }

// customerNotFound is the error of an unknown customer, and of another
// customer's account, worded as the payment service words it.
func customerNotFound(id string) error {
	return errs.E(errs.NotFound, "customer %s does not exist", id)
}
