package httpapi

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// openAPIDoc is the part of openapi.yaml the tests compare with the code.
type openAPIDoc struct {
	OpenAPI string `yaml:"openapi"`
	Info    struct {
		Description string `yaml:"description"`
	} `yaml:"info"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Required   []string             `yaml:"required"`
			Properties map[string]yaml.Node `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func loadOpenAPI(tb testing.TB) openAPIDoc {
	tb.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		tb.Fatalf("parsing openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		tb.Fatalf("openapi version %q", doc.OpenAPI)
	}
	return doc
}

// operation is the part of an operation the tests read.
type operation struct {
	Responses map[string]struct {
		Ref     string `yaml:"$ref"`
		Content map[string]struct {
			Schema struct {
				Ref string `yaml:"$ref"`
			} `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"responses"`
}

func TestOpenAPI_DocumentsExactlyTheServedRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var op operation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s %s documents no response", method, path)
			}
			for status, r := range op.Responses {
				if status >= "400" && r.Ref == "" && r.Content["application/problem+json"].Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s %s: response %s is not a problem document", method, path, status)
				}
			}
		}
	}
	var served []string
	for _, r := range newRouter(Deps{}).Routes() {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if name, ok := strings.CutPrefix(s, ":"); ok {
				segs[i] = "{" + name + "}"
			}
		}
		served = append(served, r.Method+" "+strings.Join(segs, "/"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("documented routes\n%s\nserved routes\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

func TestOpenAPI_SchemasMatchTheJSONShapes(t *testing.T) {
	doc := loadOpenAPI(t)
	responses := map[string]any{
		"Problem": problem{}, "FieldError": fieldErrorJSON{}, "Status": statusJSON{}, "Check": checkJSON{},
		"Product": productJSON{}, "ProductList": productsJSON{}, "Customer": customerJSON{},
		"Order": orderJSON{}, "OrderItem": orderItemJSON{}, "Step": stepJSON{}, "OrderList": ordersJSON{},
		"Address": addressJSON{}, "FaultSetting": faultJSON{},
		"Timeline": timelineJSON{}, "TimelineEntry": timelineEntryJSON{},
	}
	requests := map[string]any{
		"PlaceOrderRequest": placeOrderRequest{}, "OrderItemRequest": itemRequest{},
		"ProductInput": productRequest{}, "CustomerInput": customerRequest{},
	}
	for name, v := range mergeMaps(responses, requests) {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		fields, always := jsonMembers(reflect.TypeOf(v))
		if got := slices.Sorted(maps.Keys(s.Properties)); !slices.Equal(got, fields) {
			t.Errorf("schema %s has properties %q; the JSON has %q", name, got, fields)
		}
		if _, isResponse := responses[name]; isResponse && name != "Address" && name != "FaultSetting" {
			if got := slices.Sorted(slices.Values(s.Required)); !slices.Equal(got, always) {
				t.Errorf("schema %s requires %q; the JSON always has %q", name, got, always)
			}
		}
	}
}

func TestOpenAPI_ListsEveryProblemType(t *testing.T) {
	doc := loadOpenAPI(t)
	node := doc.Components.Schemas["Problem"].Properties["type"]
	var typ struct {
		Enum []string `yaml:"enum"`
	}
	if err := node.Decode(&typ); err != nil {
		t.Fatal(err)
	}
	enum := typ.Enum
	all := []problemType{typeValidation, typeUnauthorized, typeForbidden, typeNotFound, typeMethodNotAllowed, typeConflict,
		typeTooLarge, typeUnsupportedMedia, typeInternal, typeBadGateway, typeUnavailable, typeNotReady}
	var want []string
	for _, p := range all {
		want = append(want, string(p))
		if !strings.Contains(doc.Info.Description, string(p)) {
			t.Errorf("the description does not explain %s", p)
		}
	}
	slices.Sort(enum)
	slices.Sort(want)
	if !slices.Equal(enum, want) {
		t.Fatalf("Problem.type enum %q, want %q", enum, want)
	}
}

// jsonMembers returns a struct's JSON member names, and those never omitted.
func jsonMembers(t reflect.Type) (all, always []string) {
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func TestOpenAPI_ListsEveryTimelineKind(t *testing.T) {
	doc := loadOpenAPI(t)
	var kind struct {
		Enum []string `yaml:"enum"`
	}
	node := doc.Components.Schemas["TimelineEntry"].Properties["kind"]
	if err := node.Decode(&kind); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range timeline.Kinds() {
		want = append(want, string(k))
	}
	if !slices.Equal(kind.Enum, want) {
		t.Fatalf("TimelineEntry.kind enum %q, want %q", kind.Enum, want)
	}
}

// enumOf returns the enum of a property of a schema of the document.
func enumOf(tb testing.TB, doc openAPIDoc, schema, property string) []string {
	tb.Helper()
	var p struct {
		Enum []string `yaml:"enum"`
	}
	node := doc.Components.Schemas[schema].Properties[property]
	if err := node.Decode(&p); err != nil {
		tb.Fatalf("%s.%s: %v", schema, property, err)
	}
	return p.Enum
}

func TestOpenAPI_EnumsFollowTheSaga(t *testing.T) {
	doc := loadOpenAPI(t)
	g := saga.Default()
	var steps, services, reasons []string
	services = append(services, "orders")
	for _, name := range g.Names() {
		steps = append(steps, string(name))
		services = append(services, string(name))
	}
	for _, r := range g.Reasons() {
		reasons = append(reasons, string(r))
	}
	for _, c := range []struct {
		schema, property string
		want             []string
	}{
		{"Step", "step", steps},
		{"TimelineEntry", "step", steps},
		{"TimelineEntry", "service", services},
		{"Order", "failure_reason", reasons},
	} {
		if got := enumOf(t, doc, c.schema, c.property); !slices.Equal(got, c.want) {
			t.Errorf("%s.%s enum %q, want %q (from the saga)", c.schema, c.property, got, c.want)
		}
	}
}

// TestOpenAPI_SecurityMatchesTheRoutes: the document declares the bearer
// scheme for the whole API; exactly the operations served without a
// credential say `security: []` and document no 401, every other one
// documents 401, and every one a customer is refused documents 403.
func TestOpenAPI_SecurityMatchesTheRoutes(t *testing.T) {
	var doc struct {
		Security   []map[string][]string `yaml:"security"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type         string `yaml:"type"`
				Scheme       string `yaml:"scheme"`
				BearerFormat string `yaml:"bearerFormat"`
			} `yaml:"securitySchemes"`
		} `yaml:"components"`
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || s.Scheme != "bearer" || s.BearerFormat != "JWT" {
		t.Errorf("securitySchemes.bearerAuth = %+v", s)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil || len(doc.Security[0]) != 1 {
		t.Errorf("security = %v, want bearerAuth for the whole API", doc.Security)
	}

	keys := authtest.Keys(t)
	customer := authtest.Customer(t, keys, "c-1")
	router := newRouter(Deps{Auth: keys})
	for _, r := range router.Routes() {
		path := strings.NewReplacer(":sku", "x", ":id", "x", ":order_id", "x").Replace(r.Path)
		status := func(header string) int {
			req := httptest.NewRequest(r.Method, path, nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			return rec.Code
		}
		needsCredential := status("") == http.StatusUnauthorized
		refusesCustomers := status("Bearer "+customer) == http.StatusForbidden

		docPath := strings.NewReplacer(":sku", "{sku}", ":id", "{id}", ":order_id", "{order_id}").Replace(r.Path)
		var op struct {
			Security  *[]map[string][]string `yaml:"security"`
			Responses map[string]yaml.Node   `yaml:"responses"`
		}
		node, ok := doc.Paths[docPath][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not documented", r.Method, docPath)
			continue
		}
		if err := node.Decode(&op); err != nil {
			t.Fatal(err)
		}
		public := op.Security != nil && len(*op.Security) == 0
		_, has401 := op.Responses["401"]
		_, has403 := op.Responses["403"]
		if public == needsCredential || has401 != needsCredential {
			t.Errorf("%s %s: needs a credential %v, but documents security: [] %v, 401 %v", r.Method, docPath, needsCredential, public, has401)
		}
		if refusesCustomers && !has403 {
			t.Errorf("%s %s refuses customers with 403 but does not document it", r.Method, docPath)
		}
	}
}
