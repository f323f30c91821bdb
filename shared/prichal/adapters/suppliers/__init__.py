"""Clients of the boat operators' APIs behind one port (services/supplier_port.py)."""
