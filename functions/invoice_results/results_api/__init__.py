"""`GET /invoices/{id}` and `GET /invoices?status=...`: what the inbox pipeline recorded."""
