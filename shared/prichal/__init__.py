"""Prichal core package: domain (pure), services (use cases), adapters, HTTP runtime."""
