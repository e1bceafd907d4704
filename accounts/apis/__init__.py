"""The accounts API, one module per concern (thin views over accounts.services)."""
