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
//	OrderCompleted        {tracking_number, total_cents}
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
// Readers ignore payload fields they do not know, so adding an optional
// field keeps schema_version. A change old readers cannot ignore bumps the
// type's version; a consumer dead-letters an event newer than it reads
// (replay it once the consumer is upgraded). Unknown event types are
// skipped by consumers that do not react to them.
//
// # Headers
//
//	content-type     application/json
//	event-type       the envelope's type
//	event-id         the envelope's event_id
//	schema-version   the envelope's schema_version
//	traceparent      W3C trace context: every event of a chain shares the
//	tracestate       trace of the request that started it
//
// A dead letter keeps the original key, value and headers and adds
// dlq-reason, dlq-original-topic, dlq-original-partition,
// dlq-original-offset, dlq-consumer-group, dlq-failed-at (RFC 3339) and
// dlq-attempts; a replayed message carries dlq-replayed-from
// (<partition>/<offset> in the dead-letter topic).
package events
