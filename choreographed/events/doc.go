// Package events defines the events of the choreographed variant: their
// types, payloads, envelope, topics and Kafka headers. This file is the one
// place that documents them.
//
// # Topics
//
// Each service publishes to one topic of its own, named
// <prefix>.<service> (prefix "ordersaga" by default); the key of every
// message is the order id, so one order's events keep their order on each
// topic. Consumers dead-letter what they cannot handle to
// <prefix>.deadletter.
//
//	topic                  producer    consumer groups (<group prefix>.<service>)
//	ordersaga.orders       orders      inventory, shipping
//	ordersaga.inventory    inventory   payment, orders
//	ordersaga.payment      payment     inventory, shipping, orders
//	ordersaga.shipping     shipping    payment, orders
//	ordersaga.deadletter   consumers   (read by `ordersaga dlq list|replay`)
//
// # Events
//
// The order service's five events are fixed. Every other event is a step
// event, and which is which follows from the saga (shared/saga) alone (see
// Table): each step has a done, a refused and an undone event, and a
// completed event when it has a completion. A step's action is triggered
// by the previous step's done event (the first step's by OrderPlaced); its
// compensation by the next step's refused or undone event (the last step's
// by OrderCancelRequested). The default saga's step events keep the names
// below; a step added later gets names derived from its own (loyalty:
// LoyaltyDone, LoyaltyRefused, LoyaltyUndone).
//
//	type                  producer   emitted when                                   reacted to by
//	OrderPlaced           orders     POST /v1/orders stored a new order            inventory: reserve
//	OrderCancelRequested  orders     POST /v1/orders/{id}/cancel was accepted      shipping: cancel shipment
//	OrderCompleted        orders     ShipmentCreated, cancel not requested         inventory: commit
//	OrderFailed           orders     a step refused, earlier steps compensated     (observers)
//	OrderCancelled        orders     the cancel chain reached every step           (observers)
//	InventoryReserved     inventory  every item held and priced                    payment: charge
//	InventoryRejected     inventory  out of stock (nothing held)                   orders: fail
//	InventoryReleased     inventory  held units returned (compensation)            orders
//	InventoryCommitted    inventory  the completed order's units left for good     (observers)
//	PaymentCompleted      payment    the total was charged                         shipping: ship
//	PaymentDeclined       payment    unknown customer or too little credit         inventory: release
//	PaymentRefunded       payment    the charge was given back (compensation)      inventory: release
//	ShipmentCreated       shipping   shipped, with a tracking number               orders: complete
//	ShipmentFailed        shipping   the country is not served                     payment: refund
//	ShipmentCancelled     shipping   the shipment was cancelled (compensation)     payment: refund
//
// The order service also follows every inventory, payment and shipping
// event to keep the order's steps (see package orders).
//
// Compensation runs in reverse by chains of events: ShipmentFailed →
// PaymentRefunded → InventoryReleased; PaymentDeclined → InventoryReleased;
// and for a cancel, OrderCancelRequested → ShipmentCancelled →
// PaymentRefunded → InventoryReleased. Each compensation is safe before its
// action: it leaves a tombstone that turns the late action into a no-op
// that emits nothing, so the order ends right at whatever step it was
// cancelled.
//
// # Envelope
//
// The value of every message is a JSON envelope:
//
//	{
//	  "event_id": "0190d6c4-...",        UUIDv7, unique per event; redeliveries keep it
//	  "type": "InventoryReserved",
//	  "schema_version": 1,               version of the payload's shape for the type
//	  "min_reader_version": 1,           oldest reader version that can read it (absent: schema_version)
//	  "order_id": "o-1",                 also the Kafka key
//	  "producer": "inventory",
//	  "occurred_at": "2026-01-01T00:00:00.123Z",
//	  "causation_id": "0190d6c3-...",    the event whose handling emitted this one
//	  "correlation_id": "0190d6c2-...",  the event that started the chain (OrderPlaced or OrderCancelRequested)
//	  "data": { ... }                    the payload, below
//	}
//
// Payloads (money in integer cents; reasons and causes are the API's
// failure reasons: out_of_stock, payment_declined, shipping_unavailable,
// cancelled, or any reason a step declares):
//
//	OrderPlaced           {customer_id, items: [{sku, quantity}], ship_to: {name, line1, line2?, city, postal_code, country}}
//	OrderCancelRequested  {}
//	OrderCompleted v2     {tracking_number, total_cents, customer_id, completed_at}   (v1: {tracking_number, total_cents})
//	OrderFailed           {reason}
//	OrderCancelled        {}
//	every step event      {customer_id?, items?, ship_to?, pricing?: {items: [{sku, quantity, price_cents}], total_cents},
//	                       tracking_number?, reason?, outcome?, cause?}
//
// A done or refused event carries the order forward (customer, items,
// address and, once the inventory step priced it, the pricing), so the
// next step's service needs no other service's database; a refused event
// adds the reason the service gave; an undone event says what the
// compensation found (outcome) and why it ran (cause); the shipping step's
// done event, and every done event after it, carries the tracking number.
// The outcome of a compensation is "undone" (the action had taken effect
// and is undone), "tombstone" (the action had not run and now never will)
// or "refused" (the action had refused: nothing to undo).
//
// # Versions
//
// Every type has versions 1, 2, …; this software knows each type up to
// its newest (Type.SchemaVersion: OrderCompleted 2, every other type 1):
//
//	type            version  min reader  change
//	OrderCompleted  1        1           {tracking_number, total_cents}
//	OrderCompleted  2        1           adds customer_id and completed_at
//
// The rule:
//
//   - A version says what a reader can count on. A field every event of
//     the type carries from now on, which readers may rely on, makes a new
//     version; a field that may or may not be there (optional: readers
//     must cope with its absence anyway) does not, and keeps the version.
//     OrderCompleted v2 is a version because a v2 reader counts on
//     customer_id and completed_at (a consumer of finished orders need not
//     have seen OrderPlaced); a v1 event never has them.
//   - Every envelope says the oldest reader version that can read it
//     (min_reader_version, header schema-min-reader; Type.MinReader). A
//     version that only adds fields is readable by the readers of the
//     version before (min reader lower than the version): they ignore what
//     they do not know. A change old readers cannot ignore (a renamed,
//     removed or re-typed field, a new meaning) has min reader = version.
//     An envelope without min_reader_version is readable from its own
//     version only.
//   - A producer writes each type at a configured version (Versions, the
//     stack's WriteVersions, the -event-versions flag), its newest by
//     default; it keeps the code to write each older version
//     (NewVersion).
//   - A consumer reads every version from 1 up to its newest (the stack's
//     ReadVersions, the newest by default; see Reader), and a newer one
//     whose min reader is at most its newest, read as its newest. One
//     place per payload type upcasts what was read as an older version to
//     the newest (OrderCompletedData: completed_at from the envelope's
//     occurred_at, customer_id marked missing), so handlers see one shape.
//   - An event a consumer cannot read fails with ErrUnsupportedVersion and
//     is dead-lettered, never retried; replay it (`ordersaga dlq replay`)
//     once the consumer is upgraded.
//
// So an additive version rolls out in either order, with orders in
// flight: upgrade the consumers first (they read old and new), or the
// producers first (old consumers read the new events as the old
// version). A change with min reader = version must reach its consumers
// first, or hold its producers at the old version (-event-versions
// Type=old) until they have; whatever an old consumer got meanwhile is in
// the dead-letter topic. Software built before this rule reads no
// min_reader_version and refuses any version above 1: when such a
// consumer still runs, hold the producers at OrderCompleted=1 until it is
// upgraded.
//
// Readers ignore payload fields they do not know. Unknown event types are
// skipped by consumers that do not react to them.
//
// # Headers
//
//	content-type       application/json
//	event-type         the envelope's type
//	event-id           the envelope's event_id
//	schema-version     the envelope's schema_version
//	schema-min-reader  the envelope's min_reader_version
//	traceparent        W3C trace context: every event of a chain shares the
//	tracestate         trace of the request that started it
//
// A dead letter keeps the original key, value and headers and adds
// dlq-reason, dlq-original-topic, dlq-original-partition,
// dlq-original-offset, dlq-consumer-group, dlq-failed-at (RFC 3339) and
// dlq-attempts; a replayed message carries dlq-replayed-from
// (<partition>/<offset> in the dead-letter topic).
package events
