# The same flow as stripe-client.e2e.test.ts, with Debian's python3-stripe (5.0.0) against a running
# gateway: GATEWAY_URL names it. Exits non-zero (with the failing step) if anything differs.
import http.server
import os
import sys
import threading
import time
import urllib.request

import stripe

stripe.api_key = "sk_test_merchant_a"
stripe.api_base = os.environ["GATEWAY_URL"]
stripe.max_network_retries = 0
# A pinned version, as integrations do: validated and echoed by the gateway.
stripe.api_version = "2020-08-27"


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


# Stripe's quickstart: automatic_payment_methods, confirm=True (sent as True by this client).
pi = stripe.PaymentIntent.create(amount=2599, currency="eur", automatic_payment_methods={"enabled": True}, payment_method="pm_card_visa", confirm=True, metadata={"order": "777"})
check(pi.status == "succeeded", f"create+confirm succeeded, got {pi.status}")
check(pi.amount_received == 2599, "amount_received")
check(pi.metadata["order"] == "777", "metadata")
charge = stripe.Charge.retrieve(pi.latest_charge)
check(charge.captured is True and charge.payment_intent == pi.id, "the charge")

# Create, update, confirm separately, retrieve.
created = stripe.PaymentIntent.create(amount=1000, currency="usd")
check(created.status == "requires_payment_method", "created")
updated = stripe.PaymentIntent.modify(created.id, description="e2e", metadata={"step": "2"})
check(updated.description == "e2e", "updated")
confirmed = stripe.PaymentIntent.confirm(created.id, payment_method="pm_card_mastercard")
check(confirmed.status == "succeeded", "confirmed")
check(stripe.PaymentIntent.retrieve(created.id).status == "succeeded", "retrieved")

# Capture part of a manual authorization.
manual = stripe.PaymentIntent.create(amount=5000, currency="usd", payment_method="pm_card_visa", confirm=True, capture_method="manual")
check(manual.status == "requires_capture", "authorized")
captured = stripe.PaymentIntent.capture(manual.id, amount_to_capture=3500)
check(captured.status == "succeeded" and captured.amount_received == 3500, "captured")

# Cancel an authorization.
auth = stripe.PaymentIntent.create(amount=1200, currency="usd", payment_method="pm_card_visa", confirm=True, capture_method="manual")
canceled = stripe.PaymentIntent.cancel(auth.id, cancellation_reason="requested_by_customer")
check(canceled.status == "canceled", "canceled")

# Two partial refunds.
paid = stripe.PaymentIntent.create(amount=3000, currency="usd", payment_method="pm_card_visa", confirm=True)
first = stripe.Refund.create(payment_intent=paid.id, amount=1000, reason="requested_by_customer")
second = stripe.Refund.create(charge=paid.latest_charge, amount=500)
check(first.status == "succeeded" and second.amount == 500, "refunds")
check(stripe.Charge.retrieve(paid.latest_charge).amount_refunded == 1500, "amount_refunded")
try:
    stripe.Refund.create(payment_intent=paid.id, amount=2000)
    check(False, "an over-refund is refused")
except stripe.error.InvalidRequestError as err:
    check(err.code == "amount_too_large", f"amount_too_large, got {err.code}")

# A decline is a CardError naming its failed charge; the intent stays open and a new card succeeds.
shopper = stripe.PaymentIntent.create(amount=1500, currency="usd")
for _ in range(4):
    try:
        stripe.PaymentIntent.confirm(shopper.id, payment_method="pm_card_chargeDeclined")
        check(False, "a decline raises")
    except stripe.error.CardError as err:
        check(err.code == "card_declined", f"card_declined, got {err.code}")
        check(bool(err.error.charge), "the decline names its charge")
check(stripe.PaymentIntent.retrieve(shopper.id).status == "requires_payment_method", "declines never end the intent")
check(stripe.PaymentIntent.confirm(shopper.id, payment_method="pm_card_visa").status == "succeeded", "a later card succeeds")

# An unknown Stripe-Version is refused, as at Stripe.
try:
    stripe.PaymentIntent.create(amount=100, currency="usd", stripe_version="1999-01-01.garbage")
    check(False, "an unknown version is refused")
except stripe.error.InvalidRequestError as err:
    check(err.http_status == 400, "400 for an unknown version")

# Customers and search with OR.
customer = stripe.Customer.create(email="py@example.com", name="Py", address={"line1": "1 Main St"}, preferred_locales=["en"])
found = stripe.PaymentIntent.search(query=f'status:"succeeded" OR status:"canceled"', limit=5)
check(len(found.data) > 0, "search with OR")
check(customer.id.startswith("cus_"), "customer")

# The subscription quickstart: default_incomplete, the first invoice's intent expanded, confirmed by
# the customer (stripe.confirmCardPayment in the browser; the same confirm here), then active.
product = stripe.Product.create(name="Py plan")
price = stripe.Price.create(product=product.id, unit_amount=900, currency="usd", recurring={"interval": "month"})
check(price.product == product.id, "the price points at its product")
subscriber = stripe.Customer.create(email="py-sub@example.com")
sub = stripe.Subscription.create(
    customer=subscriber.id,
    items=[{"price": price.id}],
    payment_behavior="default_incomplete",
    payment_settings={"save_default_payment_method": "on_subscription"},
    expand=["latest_invoice.payment_intent"],
)
check(sub.status == "incomplete", f"incomplete subscription, got {sub.status}")
first_intent = sub.latest_invoice.payment_intent
check(first_intent.client_secret.startswith(first_intent.id + "_secret_"), "the first invoice's client_secret")
check(stripe.PaymentIntent.confirm(first_intent.id, payment_method="pm_card_visa").status == "succeeded", "the customer pays")
deadline = time.time() + 20
while stripe.Subscription.retrieve(sub.id).status != "active" and time.time() < deadline:
    time.sleep(0.2)
check(stripe.Subscription.retrieve(sub.id).status == "active", "the subscription activates")

# The Checkout quickstart: a session with a price; its hosted page is served at session.url.
tee = stripe.Price.create(product=stripe.Product.create(name="Py T-shirt").id, unit_amount=2000, currency="usd")
session = stripe.checkout.Session.create(
    line_items=[{"price": tee.id, "quantity": 1}],
    mode="payment",
    success_url="https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
    cancel_url="https://shop.example/cancel",
)
check(session.status == "open" and session.amount_total == 2000, "the checkout session")
with urllib.request.urlopen(session.url) as page:
    check(page.status == 200 and "Py T-shirt" in page.read().decode(), "the hosted checkout page")

# Webhooks: an endpoint on a loopback server; the events verify with stripe.Webhook.construct_event.
received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        received.append((body.decode(), self.headers.get("stripe-signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
endpoint = stripe.WebhookEndpoint.create(url=f"http://127.0.0.1:{server.server_address[1]}/hook", enabled_events=["payment_intent.succeeded"])
hooked = stripe.PaymentIntent.create(amount=700, currency="usd", payment_method="pm_card_visa", confirm=True)


def verified():
    events = [stripe.Webhook.construct_event(body, signature, endpoint.secret) for body, signature in list(received)]
    return [e for e in events if e.data.object.id == hooked.id]


deadline = time.time() + 30
while not verified() and time.time() < deadline:
    time.sleep(0.2)
events = verified()
check(len(events) == 1 and events[0].type == "payment_intent.succeeded", "a signed payment_intent.succeeded, verified by the client")
stripe.WebhookEndpoint.delete(endpoint.id)
server.shutdown()

print("python3-stripe flow: ok")
