"""Developer kit: synthetic invoices, the embedded AWS stand-ins and the local demo."""
