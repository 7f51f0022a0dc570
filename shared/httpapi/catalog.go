package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// productRequest is the body of PUT /v1/products/{sku}. Every field is
// required.
type productRequest struct {
	Name       *string `json:"name"`
	PriceCents *int64  `json:"price_cents"`
	Stock      *int64  `json:"stock"`
}

// productJSON is a product as the API shows it.
type productJSON struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
}

// productsJSON is the body of GET /v1/products: a page of products.
type productsJSON struct {
	Products   []productJSON `json:"products"`
	NextCursor string        `json:"next_cursor,omitempty"` // absent on the last page
}

// customerRequest is the body of PUT /v1/customers/{id}. Every field is
// required.
type customerRequest struct {
	Name        *string `json:"name"`
	CreditCents *int64  `json:"credit_cents"`
}

// customerJSON is a customer as the API shows it.
type customerJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CreditCents int64  `json:"credit_cents"`
}

func toProductJSON(p inventory.Product) productJSON {
	return productJSON{SKU: p.SKU, Name: p.Name, PriceCents: int64(p.PriceCents), Available: p.Available, Reserved: p.Reserved}
}

func toCustomerJSON(cu payment.Customer) customerJSON {
	return customerJSON{ID: cu.ID, Name: cu.Name, CreditCents: int64(cu.CreditCents)}
}

// needCatalog forwards the request to the inventory service's process when
// this one does not host the catalog and knows that process (Upstreams);
// without either it answers 503.
func (a *api) needCatalog(c *gin.Context) {
	if a.Catalog == nil && !a.forwardToOwner(c) {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no product catalog"))
	}
}

// needAccounts forwards the request to the payment service's process when
// this one does not host the customer accounts and knows that process
// (Upstreams); without either it answers 503.
func (a *api) needAccounts(c *gin.Context) {
	if a.Accounts == nil && !a.forwardToOwner(c) {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no customer accounts"))
	}
}

// putProduct serves PUT /v1/products/{sku}.
func (a *api) putProduct(c *gin.Context) {
	var f fieldErrors
	f.id("sku", c.Param("sku"))
	var req productRequest
	if err := decodeBody(c, &req); err != nil {
		if err := f.merge(err); err != nil {
			a.fail(c, err)
			return
		}
	} else {
		f.name("name", req.Name)
		f.upTo("price_cents", req.PriceCents, int64(domain.MaxPriceCents))
		f.upTo("stock", req.Stock, domain.MaxStock)
	}
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	in := inventory.ProductInput{SKU: c.Param("sku"), Name: *req.Name, PriceCents: domain.Cents(*req.PriceCents), Stock: *req.Stock}
	p, err := a.Catalog.SetProduct(c.Request.Context(), in)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.ok(c, toProductJSON(p))
}

// getProduct serves GET /v1/products/{sku}.
func (a *api) getProduct(c *gin.Context) {
	sku := c.Param("sku")
	if err := pathID("sku", sku); err != nil {
		a.fail(c, err)
		return
	}
	p, err := a.Catalog.Product(c.Request.Context(), sku)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.ok(c, toProductJSON(p))
}

// listProducts serves GET /v1/products?limit=&cursor=: a page of products
// by sku. Empty parameters count as absent.
func (a *api) listProducts(c *gin.Context) {
	var f fieldErrors
	var filter inventory.ProductFilter
	filter.Limit, filter.Cursor = pageQuery(c, inventory.MaxProductsLimit, &f)
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	page, err := a.Catalog.Products(c.Request.Context(), filter)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := productsJSON{Products: make([]productJSON, 0, len(page.Products)), NextCursor: page.NextCursor}
	for _, p := range page.Products {
		out.Products = append(out.Products, toProductJSON(p))
	}
	a.ok(c, out)
}

// putCustomer serves PUT /v1/customers/{id}.
func (a *api) putCustomer(c *gin.Context) {
	var f fieldErrors
	f.id("id", c.Param("id"))
	var req customerRequest
	if err := decodeBody(c, &req); err != nil {
		if err := f.merge(err); err != nil {
			a.fail(c, err)
			return
		}
	} else {
		f.name("name", req.Name)
		f.upTo("credit_cents", req.CreditCents, int64(domain.MaxCreditCents))
	}
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	in := payment.CustomerInput{ID: c.Param("id"), Name: *req.Name, CreditCents: domain.Cents(*req.CreditCents)}
	cu, err := a.Accounts.SetCustomer(c.Request.Context(), in)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.ok(c, toCustomerJSON(cu))
}

// getCustomer serves GET /v1/customers/{id}. A customer reaches it only
// for its own account (ownCustomer, before any forwarding).
func (a *api) getCustomer(c *gin.Context) {
	id := c.Param("id")
	if err := pathID("id", id); err != nil {
		a.fail(c, err)
		return
	}
	cu, err := a.Accounts.Customer(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.ok(c, toCustomerJSON(cu))
}
