"""FastAGI routes, one module per subject. `routes(...)` maps each path to its handler."""
