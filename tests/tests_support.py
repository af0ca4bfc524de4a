"""Constants the tests share (conftest fixtures cannot be imported by test modules)."""

ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN_HEADER = f"Authorization: Bearer {ADMIN_TOKEN}"
