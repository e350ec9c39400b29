"""Per-role systemd units shipped by tvoxcc."""
