"""Payment providers behind one interface: YooKassa (API v3) and the sandbox that speaks it."""
