"""The sandbox payment provider (the ``mock-payments`` function): a YooKassa API v3
look-alike for demos and tests, with its own confirmation page, notifications and test
controls. A development tool, kept out of the core package so production images need
not carry it; the client side of the ``mock`` provider (``YooKassaClient`` pointed at the
sandbox) stays in the core.
"""
